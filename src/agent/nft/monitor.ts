/**
 * Watches the agent's nft tables for changes made behind its back (a hand `nft flush` or `nft delete
 * table`, another program): one `tenet-nftd --monitor` per router namespace (native/tenet-nftd.c: the
 * nftables netlink group, deletions of tables, chains, rules and sets printed as `delete rule inet
 * tenet`; not `nft monitor destroy`, which caches every set element it hears of: 230 MB at 130,000
 * service slot elements), started with
 * `nsenter --net` and `setpriv --pdeathsig KILL`, so it dies with the agent even on kill -9 (an orphan
 * would keep its namespace alive). A destroy event of a rule, chain, set, map or the table itself
 * (not of elements: the agent's own detaches delete those all the time) calls `onChange(netns)` after
 * a short debounce; the agent then checks the table against its record (a terse read) and repairs
 * it at once when it differs. The agent's own transactions that delete rules or chains (a policy
 * change, a prune) also call it: the check then finds nothing to do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { NETNS_NAME_REGEX } from '../../core/dataplane/names';
import { TABLE_NAME } from '../../core/policy/program';
import { GUARD_TABLE } from '../../core/policy/guard';
import type { Log } from './programmer';
import { NFT_WORKER_PATH } from '../../kernel/nft-worker';

// The main table and the guard table (src/core/policy/guard.ts) that keeps it failing closed while it is deleted.
// `overflow`: the kernel dropped events (the watcher's receive buffer was full), so any of them may have been one of these.
export const RELEVANT = new RegExp(`^((delete|flush) (rule|chain|set|map|table) inet (${TABLE_NAME}|${GUARD_TABLE})\\b|overflow$)`);

export class TableMonitor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The inode of each watched namespace's file when its watcher started. */
  private readonly inodes = new Map<string, number | undefined>();
  private stopped = false;

  constructor(
    private readonly onChange: (netns: string) => void,
    private readonly log: Log,
    private readonly debounceMs = 10,
  ) {}

  /** Watches exactly these namespaces (starts the missing watchers, ends the others). */
  watchOnly(namespaces: Iterable<string>): void {
    const wanted = new Set(namespaces);
    for (const netns of wanted) {
      // Made again under the same name (by an attach, or deleted by hand and remade): see renewed().
      if (this.children.has(netns) && this.inodes.get(netns) !== inodeOf(netns)) this.unwatch(netns);
      this.watch(netns);
    }
    for (const netns of [...this.children.keys()]) if (!wanted.has(netns)) this.unwatch(netns);
  }

  /**
   * The namespace of this name was made again (or deleted): the watcher inside the old one ends. It would
   * watch a table nobody uses, and keep the old namespace alive — with the veths still in it, so the
   * containers' interfaces would hang off a namespace no longer reachable by name. watchOnly starts a new one.
   */
  renewed(netns: string): void {
    this.unwatch(netns);
  }

  watching(): string[] {
    return [...this.children.keys()];
  }

  private watch(netns: string): void {
    if (this.stopped || this.children.has(netns)) return;
    if (!NETNS_NAME_REGEX.test(netns)) throw new Error(`refusing to watch namespace "${netns}"`);
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, 'setpriv', '--pdeathsig', 'KILL', '--', NFT_WORKER_PATH, '--monitor'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(netns, child);
    this.inodes.set(netns, inodeOf(netns));
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((line) => RELEVANT.test(line))) this.schedule(netns);
    });
    child.stderr!.resume();
    child.on('error', (error) => this.log('warn', 'nft monitor failed to start', { netns, error: error.message }));
    child.on('exit', (code, signal) => {
      if (this.children.get(netns) === child) this.children.delete(netns);
      // Ended by itself (its namespace went away, say): the next pass starts another if still wanted.
      if (!this.stopped && signal !== 'SIGKILL') this.log('debug', 'nft monitor ended', { netns, code, signal });
    });
  }

  private unwatch(netns: string): void {
    const child = this.children.get(netns);
    this.children.delete(netns);
    this.inodes.delete(netns);
    clearTimeout(this.timers.get(netns));
    this.timers.delete(netns);
    if (child && child.exitCode === null) child.kill('SIGKILL');
  }

  private schedule(netns: string): void {
    if (this.timers.has(netns)) return;
    this.timers.set(
      netns,
      setTimeout(() => {
        this.timers.delete(netns);
        if (!this.stopped) this.onChange(netns);
      }, this.debounceMs),
    );
  }

  /** Ends every watcher (by the pid it started). */
  stop(): void {
    this.stopped = true;
    for (const netns of [...this.children.keys()]) this.unwatch(netns);
  }
}

function inodeOf(netns: string): number | undefined {
  try {
    return fs.statSync(`/run/netns/${netns}`).ino;
  } catch {
    return undefined;
  }
}
