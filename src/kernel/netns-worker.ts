/**
 * A long-lived native helper that does kernel work inside a network namespace per request
 * (native/tenet-nftd for nft, native/tenet-ipd for the links, addresses, routes and neighbours of an
 * attach), instead of an `nsenter … TOOL` process per call: starting those two processes costs 5-9 ms
 * on this 2-core machine, more than the kernel work itself.
 *
 * One request is in flight at a time (a helper is single-threaded and moves between namespaces), the
 * rest wait in a queue. A helper that dies or hangs is replaced on the next request; only the request
 * it was serving fails, since the others never reached it.
 *
 * Wire format, shared by both helpers (little-endian):
 *   request  u32 flags, u32 len + namespace path, u32 len + text
 *   reply    i32 status, u32 len + output, u32 len + error text
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { KernelError } from './exec';

/** Helpers refuse (and exit on) larger texts; checked here so one bad request cannot kill them. */
export const WORKER_MAX_TEXT_BYTES = 64 * 1024 * 1024;
/** A reply claiming more than this is taken as a corrupt stream rather than buffered. */
const MAX_REPLY_BYTES = 512 * 1024 * 1024;
const STDERR_TAIL_BYTES = 2048;

export interface WorkerReply {
  status: number;
  output: string;
  error: string;
}

export interface NetnsWorkerOptions {
  binary: string;
  /** What the helper stands in for, in messages ("nft", "ip"). */
  tool: string;
  args?: string[];
  /** A request taking longer than this kills the helper (default 60 s). */
  timeoutMs?: number;
  /** How long close() waits for the helper to exit on its own before SIGKILL (default 2 s). */
  closeGraceMs?: number;
  /**
   * When the binary is not built: false (default) lets requests fail; a text makes `missing()` true,
   * and the text (how the caller does the work instead) is said once on stderr.
   */
  fallback?: string;
}

/** Binaries whose absence was already reported. */
const reportedMissing = new Set<string>();

interface Job {
  path: string;
  frame: Buffer;
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

function encode(flags: number, nsPath: string, text: string): Buffer {
  const pathBytes = Buffer.from(nsPath, 'utf8');
  const textBytes = Buffer.from(text, 'utf8');
  if (textBytes.length > WORKER_MAX_TEXT_BYTES)
    throw new Error(`text for ${nsPath} is ${textBytes.length} bytes, more than ${WORKER_MAX_TEXT_BYTES}`);
  const frame = Buffer.allocUnsafe(12 + pathBytes.length + textBytes.length);
  let at = frame.writeUInt32LE(flags, 0);
  at = frame.writeUInt32LE(pathBytes.length, at);
  at += pathBytes.copy(frame, at);
  at = frame.writeUInt32LE(textBytes.length, at);
  textBytes.copy(frame, at);
  return frame;
}

/** Child stdio streams are sockets at runtime; unref'd, an idle helper does not keep Node alive. */
function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}

export class NetnsWorker {
  private readonly timeoutMs: number;
  private readonly closeGraceMs: number;
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

  constructor(private readonly options: NetnsWorkerOptions) {
    this.timeoutMs = options.timeoutMs ?? 60000;
    this.closeGraceMs = options.closeGraceMs ?? 2000;
  }

  /** The running helper's pid, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How many helper processes this instance has started (a respawn shows up here). */
  get started(): number {
    return this.spawns;
  }

  /**
   * True when the caller should do the work without the helper: a fallback was configured, no helper
   * runs and the binary is not built (a machine that did not run `make -C native`).
   */
  missing(): boolean {
    const { fallback, binary } = this.options;
    if (fallback === undefined || this.child || fs.existsSync(binary)) return false;
    if (!reportedMissing.has(binary)) {
      reportedMissing.add(binary);
      process.stderr.write(`tenet: ${binary} not found (run make -C native); ${fallback}\n`);
    }
    return true;
  }

  /** Sends one request; resolves with the helper's reply whatever its status, rejects when the helper fails. */
  request(nsPath: string, flags: number, text: string): Promise<WorkerReply> {
    let frame: Buffer;
    try {
      frame = encode(flags, nsPath, text);
    } catch (error) {
      return Promise.reject(
        new KernelError(`${this.options.tool} in ${nsPath}: ${(error as Error).message}`, [this.options.binary, nsPath], '', null),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ path: nsPath, frame, resolve, reject });
      this.pump();
    });
  }

  /**
   * Ends the helper: a request it is serving still completes, queued ones are rejected. Waits for the
   * process to exit (SIGKILL after the grace period). A later request starts a new helper.
   */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(this.error(job, `${this.options.tool} worker closed`));
    const child = this.child;
    if (!child) return;
    this.closing = child;
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin?.end();
    const kill = setTimeout(() => child.kill('SIGKILL'), this.closeGraceMs);
    await gone;
    clearTimeout(kill);
  }

  private error(job: Job, reason: string): KernelError {
    return new KernelError(`${this.options.tool} in ${job.path}: ${reason}`, [this.options.binary, job.path], this.stderrTail, null);
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return;
    if (this.child && this.child === this.closing) return; // its close handler pumps again
    const child = this.child ?? this.start();
    if (!child) return;
    const job = this.queue.shift() as Job;
    this.current = job;
    // The timer is what keeps Node alive while a request is out: the helper's handles are unref'd.
    this.timer = setTimeout(() => {
      this.fail(this.error(job, `no reply from the ${this.options.tool} worker in ${this.timeoutMs / 1000} s (worker killed)`));
      this.detach(child);
      child.kill('SIGKILL');
      this.pump();
    }, this.timeoutMs);
    child.stdin?.write(job.frame);
  }

  private start(): ChildProcess | undefined {
    let child: ChildProcess;
    try {
      child = spawn(this.options.binary, this.options.args ?? [], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      for (const job of this.queue.splice(0))
        job.reject(this.error(job, `cannot start ${this.options.binary}: ${(error as Error).message}`));
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
    child.stdin?.on('error', () => undefined); // a dead helper is reported by 'close'
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.child === child) this.onData(child, chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (this.child === child) this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.on('error', (error) => this.lost(child, `cannot run ${this.options.binary}: ${error.message}`));
    child.on('close', (code, signal) => {
      const tail = this.stderrTail.trim();
      this.lost(child, `${this.options.tool} worker exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`);
    });
    return child;
  }

  /** The helper is gone: the request it held fails, the queue moves to a new helper. */
  private lost(child: ChildProcess, reason: string): void {
    if (this.closing === child) this.closing = undefined;
    if (this.child !== child) return;
    this.detach(child);
    const job = this.current;
    if (job) this.fail(this.error(job, reason));
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
      let reply: WorkerReply | undefined;
      try {
        reply = this.takeReply();
      } catch (error) {
        if (this.current) this.fail(this.error(this.current, (error as Error).message));
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
      job.resolve(reply);
      this.pump();
    }
  }

  /** Joins the buffered chunks into one; done only once enough bytes are there, so a large reply is copied O(1) times. */
  private flat(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0];
  }

  private takeReply(): WorkerReply | undefined {
    if (this.buffered < 8) return undefined;
    const head = this.chunks[0].length >= 8 ? this.chunks[0] : this.flat();
    const outputLength = head.readUInt32LE(4);
    if (outputLength > MAX_REPLY_BYTES) throw new Error(`reply output of ${outputLength} bytes`);
    const errorAt = 8 + outputLength;
    if (this.buffered < errorAt + 4) return undefined;
    const errorLength = this.flat().readUInt32LE(errorAt);
    if (errorLength > MAX_REPLY_BYTES) throw new Error(`reply error text of ${errorLength} bytes`);
    const end = errorAt + 4 + errorLength;
    if (this.buffered < end) return undefined;
    const all = this.flat();
    const reply: WorkerReply = {
      status: all.readInt32LE(0),
      output: all.toString('utf8', 8, errorAt),
      error: all.toString('utf8', errorAt + 4, end),
    };
    const rest = all.subarray(end);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return reply;
  }
}
