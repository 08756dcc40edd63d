/**
 * The flow reader of one tenant router namespace: native/tenet-flowd started inside it (`nsenter --net`,
 * `setpriv --pdeathsig KILL`, so it dies with the agent and never keeps a deleted namespace alive for
 * long), its lines parsed into events for the agent's recorder. RouterNamespace holds it: renew() ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { NETNS_NAME_REGEX } from '../../core/dataplane/names';
import { NFLOG_GROUP } from '../../core/policy/deny-log';
import { parseFlowdLine, type FlowdEvent } from '../../core/flows/records';
import { CONNTRACK_RATE } from './recorder';
import type { Log } from '../../core/log';

export const FLOWD_PATH = path.resolve(__dirname, '..', '..', '..', '..', 'native', 'tenet-flowd');

/**
 * The helper's arguments: the nflog group, then the conntrack events' rate and burst per second. A rate
 * of 0 means no limit (every event written; the burst is then not used); otherwise rate and burst are
 * whole numbers from 1 to 1,000,000 (tenet-flowd refuses anything else, and would not start): refused
 * here, with the reason, before anything is started.
 */
export function flowdArguments(rate: { perSecond: number; burst: number } = CONNTRACK_RATE): string[] {
  const whole = (n: number, min: number) => Number.isSafeInteger(n) && n >= min && n <= 1_000_000;
  const unlimited = rate.perSecond === 0;
  if (!(unlimited ? whole(rate.burst, 0) : whole(rate.perSecond, 1) && whole(rate.burst, 1)))
    throw new Error(
      `flow reader rate ${rate.perSecond}/s burst ${rate.burst}: the rate is 0 (no limit) or a whole number from 1 to 1000000, and then so is the burst`,
    );
  return [String(NFLOG_GROUP), String(rate.perSecond), String(unlimited ? 0 : rate.burst)];
}

/** A line longer than this is not one tenet-flowd writes: the reader drops it rather than buffer without bound. */
const MAX_LINE = 4096;

export class FlowReader {
  private readonly child: ChildProcess;
  exited = false;
  /** Resolves when the helper has bound its sockets (or ended). */
  readonly ready: Promise<boolean>;

  constructor(
    readonly netns: string,
    onEvent: (netns: string, event: FlowdEvent) => void,
    log: Log,
    rate: { perSecond: number; burst: number } = CONNTRACK_RATE,
  ) {
    if (!NETNS_NAME_REGEX.test(netns)) throw new Error(`refusing to read flows of namespace "${netns}"`);
    // Conntrack events over the rate are counted, not written, by the helper itself (cheaper than here).
    const args = flowdArguments(rate);
    this.child = spawn(
      'nsenter',
      [`--net=/run/netns/${netns}`, 'setpriv', '--pdeathsig', 'KILL', '--', FLOWD_PATH, ...args],
      // stdin stays open: the helper exits when it closes (the agent went away).
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let markReady: (ok: boolean) => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (pending.length > MAX_LINE) pending = '';
      for (const line of lines) {
        const event = parseFlowdLine(line);
        if (!event) continue;
        if (event.t === 'ready') markReady(true);
        else onEvent(netns, event);
      }
    });
    let errors = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors = (errors + chunk).slice(-2000)));
    this.child.on('error', (error) => log('warn', 'flow reader failed to start', { netns, error: error.message }));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      markReady(false);
      if (signal !== 'SIGKILL') log('debug', 'flow reader ended', { netns, code, signal, stderr: errors.trim() });
    });
  }

  /** Ends the helper (by the pid this reader started). */
  stop(): void {
    if (!this.exited && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Whether the helper is built (`make -C native`); without it the agent records nothing and says so once. */
export function flowdAvailable(): boolean {
  try {
    fs.accessSync(FLOWD_PATH, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
