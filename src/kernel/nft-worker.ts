/**
 * nft in a tenant namespace through one long-lived libnftables worker (native/tenet-nftd) instead
 * of an `nsenter … nft` process per call: on this 2-core machine starting those two processes costs
 * 6-9 ms, more than the transaction itself, and it was most of the time it takes to enforce a
 * container's policy.
 *
 * The process, queue, timeout and respawn are NetnsWorker's (src/kernel/netns-worker.ts), shared with
 * the ip helper. Without a built worker the old spawn path is used, so a machine that did not run
 * `make -C native` works.
 */
import path from 'node:path';
import { NETNS_NAME_REGEX } from '../core/dataplane/names';
import { KernelError, run } from './exec';
import { NetnsWorker } from './netns-worker';

/** The repository root is three levels up from dist/src/kernel/. */
export const NFT_WORKER_PATH = path.resolve(__dirname, '..', '..', '..', 'native', 'tenet-nftd');

const FLAG_JSON = 1;
const FLAG_TERSE = 2;
/** nft's own error text goes into the message; a long list of errors is cut (all of it stays in `stderr`). */
const MAX_MESSAGE_ERROR_CHARS = 4000;

export interface NftRequest {
  /** A tenant namespace name (NETNS_NAME_REGEX); the worker enters /run/netns/<netns>. */
  netns: string;
  /** An nft script (one atomic transaction, as with `nft -f`) or a single command such as `list table inet tenet`. */
  text: string;
  /** Output as `nft -j`. */
  json?: boolean;
  /** Output as `nft -t` (set elements omitted). */
  terse?: boolean;
}

export interface NftWorkerOptions {
  /** The worker executable; NFT_WORKER_PATH unless a test says otherwise. */
  binary?: string;
  /** A request taking longer than this kills the worker (default 60 s). */
  timeoutMs?: number;
  /** How long close() waits for the worker to exit on its own before SIGKILL (default 2 s). */
  closeGraceMs?: number;
  /** Use `nsenter nft` when the binary is missing (default true); false makes every request fail instead. */
  fallback?: boolean;
}

function netnsPath(netns: string): string {
  if (!NETNS_NAME_REGEX.test(netns)) throw new KernelError(`refusing to run nft in namespace "${netns}"`, [], '', null);
  return `/run/netns/${netns}`;
}

export class NftWorker {
  private readonly worker: NetnsWorker;
  private readonly binary: string;
  private readonly timeoutMs: number;

  constructor(options: NftWorkerOptions = {}) {
    this.binary = options.binary ?? NFT_WORKER_PATH;
    this.timeoutMs = options.timeoutMs ?? 60000;
    this.worker = new NetnsWorker({
      binary: this.binary,
      tool: 'nft',
      args: ['--stdio'],
      timeoutMs: this.timeoutMs,
      closeGraceMs: options.closeGraceMs,
      fallback: options.fallback === false ? undefined : 'running nft through nsenter, one process per call',
    });
  }

  /** The running worker's pid, if one is running. */
  get pid(): number | undefined {
    return this.worker.pid;
  }

  /** How many worker processes this instance has started (a respawn shows up here). */
  get started(): number {
    return this.worker.started;
  }

  /** Runs the request in its namespace and resolves with nft's output; rejects with nft's error text. */
  async run(request: NftRequest): Promise<string> {
    const nsPath = netnsPath(request.netns);
    if (this.worker.missing()) return this.spawnNft(nsPath, request);
    const reply = await this.worker.request(nsPath, (request.json ? FLAG_JSON : 0) | (request.terse ? FLAG_TERSE : 0), request.text);
    if (reply.status === 0) return reply.output;
    const text = reply.error.trim() || `status ${reply.status}`;
    const shown = text.length > MAX_MESSAGE_ERROR_CHARS ? `${text.slice(0, MAX_MESSAGE_ERROR_CHARS)}…` : text;
    throw new KernelError(`nft in ${request.netns}: ${shown}`, [this.binary, nsPath], reply.error, reply.status);
  }

  /**
   * Ends the worker: a request it is serving still completes, queued ones are rejected. Waits for
   * the process to exit (SIGKILL after the grace period). A later request starts a new worker.
   */
  close(): Promise<void> {
    return this.worker.close();
  }

  /** The old path, for a machine without the built worker. */
  private async spawnNft(nsPath: string, request: NftRequest): Promise<string> {
    const flags = [...(request.json ? ['-j'] : []), ...(request.terse ? ['-t'] : [])];
    // `nft -j -f -` reads stdin as JSON first and finds it empty when it retries as nft syntax, so a
    // JSON request goes as an argument (nft joins its arguments into one buffer, like the worker).
    const source = request.json ? [request.text] : ['-f', '-'];
    // nsenter joins only the network namespace: `ip netns exec` also builds a mount namespace (slower).
    const result = await run('nsenter', [`--net=${nsPath}`, 'nft', ...flags, ...source], {
      input: request.json ? '' : request.text,
      timeoutMs: this.timeoutMs,
    });
    return result.stdout;
  }
}

let shared: NftWorker | undefined;

/** The process's one worker, started on first use. */
export function sharedNftWorker(): NftWorker {
  shared ??= new NftWorker();
  return shared;
}
