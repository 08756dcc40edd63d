/**
 * nft in a tenant namespace through one long-lived libnftables worker (native/tenet-nftd) instead
 * of an `nsenter … nft` process per call: on this 2-core machine starting those two processes costs
 * 6-9 ms, more than the transaction itself, and it was most of the time it takes to enforce a
 * container's policy.
 *
 * One request is in flight at a time (the worker is single-threaded and moves between
 * namespaces), the rest wait in a queue. A worker that dies or hangs is replaced on the next
 * request; only the request it was serving fails, since the others never reached it. Without a
 * built worker the old spawn path is used, so a machine that did not run `make -C native` works.
 *
 * Wire format (little-endian; see native/tenet-nftd.c):
 *   request  u32 flags, u32 len + netns path, u32 len + text
 *   reply    i32 status, u32 len + output, u32 len + error text
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NETNS_NAME_REGEX } from '../core/dataplane/names';
import { KernelError, run } from './exec';

/** The repository root is three levels up from dist/src/kernel/. */
export const NFT_WORKER_PATH = path.resolve(__dirname, '..', '..', '..', 'native', 'tenet-nftd');

const FLAG_JSON = 1;
const FLAG_TERSE = 2;
/** The worker refuses (and exits on) larger texts; checked here so one bad request cannot kill it. */
export const NFT_MAX_TEXT_BYTES = 64 * 1024 * 1024;
/** A reply claiming more than this is taken as a corrupt stream rather than buffered. */
const MAX_REPLY_BYTES = 512 * 1024 * 1024;
const STDERR_TAIL_BYTES = 2048;
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

interface Job {
  netns: string;
  path: string;
  frame: Buffer;
  resolve: (output: string) => void;
  reject: (error: Error) => void;
}

interface Reply {
  status: number;
  output: string;
  error: string;
}

let warnedMissing = false;

function netnsPath(netns: string): string {
  if (!NETNS_NAME_REGEX.test(netns)) throw new KernelError(`refusing to run nft in namespace "${netns}"`, [], '', null);
  return `/run/netns/${netns}`;
}

function encode(flags: number, nsPath: string, text: string): Buffer {
  const pathBytes = Buffer.from(nsPath, 'utf8');
  const textBytes = Buffer.from(text, 'utf8');
  if (textBytes.length > NFT_MAX_TEXT_BYTES) throw new KernelError(`nft text for ${nsPath} is ${textBytes.length} bytes, more than ${NFT_MAX_TEXT_BYTES}`, [], '', null);
  const frame = Buffer.allocUnsafe(12 + pathBytes.length + textBytes.length);
  let at = frame.writeUInt32LE(flags, 0);
  at = frame.writeUInt32LE(pathBytes.length, at);
  at += pathBytes.copy(frame, at);
  at = frame.writeUInt32LE(textBytes.length, at);
  textBytes.copy(frame, at);
  return frame;
}

/** Child stdio streams are sockets at runtime; unref'd, an idle worker does not keep Node alive. */
function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}

export class NftWorker {
  private readonly binary: string;
  private readonly timeoutMs: number;
  private readonly closeGraceMs: number;
  private readonly fallback: boolean;
  private child?: ChildProcess;
  /** The child close() is ending: it finishes its request but gets no new ones. */
  private closing?: ChildProcess;
  private readonly queue: Job[] = [];
  private current?: Job;
  private timer?: NodeJS.Timeout;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private stderrTail = '';
  private spawns = 0;

  constructor(options: NftWorkerOptions = {}) {
    this.binary = options.binary ?? NFT_WORKER_PATH;
    this.timeoutMs = options.timeoutMs ?? 60000;
    this.closeGraceMs = options.closeGraceMs ?? 2000;
    this.fallback = options.fallback ?? true;
  }

  /** The running worker's pid, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How many worker processes this instance has started (a respawn shows up here). */
  get started(): number {
    return this.spawns;
  }

  /** Runs the request in its namespace and resolves with nft's output; rejects with nft's error text. */
  run(request: NftRequest): Promise<string> {
    let nsPath: string;
    let frame: Buffer;
    try {
      nsPath = netnsPath(request.netns);
      frame = encode((request.json ? FLAG_JSON : 0) | (request.terse ? FLAG_TERSE : 0), nsPath, request.text);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.fallback && !this.child && !fs.existsSync(this.binary)) return this.spawnNft(nsPath, request);
    return new Promise((resolve, reject) => {
      this.queue.push({ netns: request.netns, path: nsPath, frame, resolve, reject });
      this.pump();
    });
  }

  /**
   * Ends the worker: a request it is serving still completes, queued ones are rejected. Waits for
   * the process to exit (SIGKILL after the grace period). A later request starts a new worker.
   */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(new KernelError(`nft in ${job.netns}: nft worker closed`, [this.binary, job.path], '', null));
    const child = this.child;
    if (!child) return;
    this.closing = child;
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin?.end();
    const kill = setTimeout(() => child.kill('SIGKILL'), this.closeGraceMs);
    await gone;
    clearTimeout(kill);
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return;
    if (this.child && this.child === this.closing) return; // its close handler pumps again
    const child = this.child ?? this.start();
    if (!child) return;
    const job = this.queue.shift() as Job;
    this.current = job;
    // The timer is what keeps Node alive while a request is out: the worker's handles are unref'd.
    this.timer = setTimeout(() => {
      this.fail(new KernelError(`nft in ${job.netns}: no reply from the nft worker in ${this.timeoutMs / 1000} s (worker killed)`, [this.binary, job.path], this.stderrTail, null));
      this.detach(child);
      child.kill('SIGKILL');
      this.pump();
    }, this.timeoutMs);
    child.stdin?.write(job.frame);
  }

  private start(): ChildProcess | undefined {
    let child: ChildProcess;
    try {
      child = spawn(this.binary, ['--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      for (const job of this.queue.splice(0)) job.reject(new KernelError(`nft in ${job.netns}: cannot start ${this.binary}: ${(error as Error).message}`, [this.binary], '', null));
      return undefined;
    }
    this.spawns += 1;
    this.child = child;
    this.chunks = [];
    this.buffered = 0;
    this.stderrTail = '';
    child.unref();
    unref(child.stdin);
    unref(child.stdout);
    unref(child.stderr);
    child.stdin?.on('error', () => undefined); // a dead worker is reported by 'close'
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.child === child) this.onData(child, chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (this.child === child) this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.on('error', (error) => this.lost(child, `cannot run ${this.binary}: ${error.message}`));
    child.on('close', (code, signal) => {
      const tail = this.stderrTail.trim();
      this.lost(child, `nft worker exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`);
    });
    return child;
  }

  /** The worker is gone: the request it held fails, the queue moves to a new worker. */
  private lost(child: ChildProcess, reason: string): void {
    if (this.closing === child) this.closing = undefined;
    if (this.child !== child) return;
    this.detach(child);
    const job = this.current;
    if (job) this.fail(new KernelError(`nft in ${job.netns}: ${reason}`, [this.binary, job.path], this.stderrTail, null));
    this.pump();
  }

  private detach(child: ChildProcess): void {
    if (this.child === child) this.child = undefined;
    this.chunks = [];
    this.buffered = 0;
  }

  private fail(error: Error): void {
    const job = this.current;
    clearTimeout(this.timer);
    this.current = undefined;
    job?.reject(error);
  }

  private onData(child: ChildProcess, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      let reply: Reply | undefined;
      try {
        reply = this.takeReply();
      } catch (error) {
        this.fail(new KernelError(`nft worker: ${(error as Error).message}`, [this.binary], this.stderrTail, null));
        this.detach(child);
        child.kill('SIGKILL');
        this.pump();
        return;
      }
      if (!reply) return;
      const job = this.current;
      if (!job) {
        this.detach(child);
        child.kill('SIGKILL');
        return;
      }
      clearTimeout(this.timer);
      this.current = undefined;
      if (reply.status === 0) {
        job.resolve(reply.output);
      } else {
        const text = reply.error.trim() || `status ${reply.status}`;
        const shown = text.length > MAX_MESSAGE_ERROR_CHARS ? `${text.slice(0, MAX_MESSAGE_ERROR_CHARS)}…` : text;
        job.reject(new KernelError(`nft in ${job.netns}: ${shown}`, [this.binary, job.path], reply.error, reply.status));
      }
      this.pump();
    }
  }

  /** Joins the buffered chunks into one; done only once enough bytes are there, so a large reply is copied O(1) times. */
  private flat(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0];
  }

  private takeReply(): Reply | undefined {
    if (this.buffered < 8) return undefined;
    const outputLength = this.flatHead(8).readUInt32LE(4);
    if (outputLength > MAX_REPLY_BYTES) throw new Error(`reply output of ${outputLength} bytes`);
    const errorAt = 8 + outputLength;
    if (this.buffered < errorAt + 4) return undefined;
    const errorLength = this.flat().readUInt32LE(errorAt);
    if (errorLength > MAX_REPLY_BYTES) throw new Error(`reply error text of ${errorLength} bytes`);
    const end = errorAt + 4 + errorLength;
    if (this.buffered < end) return undefined;
    const all = this.flat();
    const reply: Reply = {
      status: all.readInt32LE(0),
      output: all.toString('utf8', 8, errorAt),
      error: all.toString('utf8', errorAt + 4, end),
    };
    const rest = all.subarray(end);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return reply;
  }

  /** The first `length` bytes, joining chunks only when the first one is shorter. */
  private flatHead(length: number): Buffer {
    return this.chunks[0].length >= length ? this.chunks[0] : this.flat();
  }

  /** The old path, for a machine without the built worker. */
  private async spawnNft(nsPath: string, request: NftRequest): Promise<string> {
    if (!warnedMissing) {
      warnedMissing = true;
      process.stderr.write(`tenet: ${this.binary} not found (run make -C native); running nft through nsenter, one process per call\n`);
    }
    const flags = [...(request.json ? ['-j'] : []), ...(request.terse ? ['-t'] : [])];
    // `nft -j -f -` reads stdin as JSON first and finds it empty when it retries as nft syntax, so a
    // JSON request goes as an argument (nft joins its arguments into one buffer, like the worker).
    const source = request.json ? [request.text] : ['-f', '-'];
    // nsenter joins only the network namespace: `ip netns exec` also builds a mount namespace (slower).
    const result = await run('nsenter', [`--net=${nsPath}`, 'nft', ...flags, ...source], { input: request.json ? '' : request.text, timeoutMs: this.timeoutMs });
    return result.stdout;
  }
}

/**
 * The `nft` arguments the agent uses, as a worker request: `-j` and `-t` become flags, `-f -` means
 * the input is the script, anything else is one command (the remaining arguments joined by spaces).
 */
export function nftRequestFromArgs(netns: string, args: readonly string[], input?: string): NftRequest {
  let json = false;
  let terse = false;
  let i = 0;
  for (; i < args.length && args[i].startsWith('-'); i++) {
    const arg = args[i];
    if (arg === '-j' || arg === '--json') json = true;
    else if (arg === '-t' || arg === '--terse') terse = true;
    else if (arg === '-f' || arg === '--file') {
      if (args[i + 1] !== '-' || i + 2 !== args.length) throw new KernelError(`nft worker: only "-f -" is supported, not ${args.slice(i).join(' ')}`, ['nft', ...args], '', null);
      return { netns, text: input ?? '', json, terse };
    } else throw new KernelError(`nft worker: unsupported nft option ${arg}`, ['nft', ...args], '', null);
  }
  if (i === args.length) throw new KernelError('nft worker: no command given', ['nft', ...args], '', null);
  return { netns, text: args.slice(i).join(' '), json, terse };
}

let shared: NftWorker | undefined;

/** The process's one worker, started on first use. */
export function sharedNftWorker(): NftWorker {
  shared ??= new NftWorker();
  return shared;
}

/** `nft ARGS` in a namespace through the shared worker; the shape of the enforcer's NftRunner. */
export function runNftInWorker(netns: string, args: string[], input?: string): Promise<string> {
  let request: NftRequest;
  try {
    request = nftRequestFromArgs(netns, args, input);
  } catch (error) {
    return Promise.reject(error);
  }
  return sharedNftWorker().run(request);
}
