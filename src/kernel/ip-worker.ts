/**
 * The `ip -batch` lines of an attach (src/core/dataplane/attach-plan.ts) through native/tenet-ipd,
 * which applies them with rtnetlink in the target namespace: no `nsenter ip` processes on the path of
 * a container start. Without a built helper the lines go through `nsenter ip -batch` as before.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KernelError } from './exec';
import { assertNetnsPath, checkLines, ipBatchAt } from './ip';
import { NetnsWorker } from './netns-worker';

/** The repository root is three levels up from dist/src/kernel/. */
export const IP_WORKER_PATH = path.resolve(__dirname, '..', '..', '..', 'native', 'tenet-ipd');

export interface IpWorkerOptions {
  binary?: string;
  timeoutMs?: number;
  /** Use `nsenter ip -batch` when the helper is not built (default true); false makes every request fail instead. */
  fallback?: boolean;
}

let warnedMissing = false;

export class IpWorker {
  private readonly worker: NetnsWorker;
  private readonly binary: string;
  private readonly fallback: boolean;

  constructor(options: IpWorkerOptions = {}) {
    this.binary = options.binary ?? IP_WORKER_PATH;
    this.fallback = options.fallback ?? true;
    this.worker = new NetnsWorker({ binary: this.binary, tool: 'ip', timeoutMs: options.timeoutMs });
  }

  get pid(): number | undefined {
    return this.worker.pid;
  }

  /** Runs the lines in order in the namespace at `nsPath`; the first failure stops the rest (as `ip -batch`). */
  async run(nsPath: string, lines: readonly string[]): Promise<void> {
    assertNetnsPath(nsPath);
    const text = checkLines(lines);
    if (this.fallback && !this.worker.running && !fs.existsSync(this.binary)) {
      if (!warnedMissing) {
        warnedMissing = true;
        process.stderr.write(`tenet: ${this.binary} not found (run make -C native); running ip through nsenter, one process per batch\n`);
      }
      return ipBatchAt(nsPath, lines);
    }
    const reply = await this.worker.request(nsPath, 0, text);
    if (reply.status === 0) return;
    const line = reply.status > 0 ? lines[reply.status - 1] : undefined;
    const where = line !== undefined ? `line ${reply.status} "${line}": ` : '';
    throw new KernelError(`ip in ${nsPath}: ${where}${reply.error || `status ${reply.status}`}`, [this.binary, nsPath], reply.error, reply.status);
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}

let shared: IpWorker | undefined;
let deleter: IpWorker | undefined;

/** The process's ip helper for making things, started on first use. */
export function sharedIpWorker(): IpWorker {
  shared ??= new IpWorker();
  return shared;
}

/**
 * A second helper for deleting links: a veth's deletion waits 20-40 ms for RCU grace periods, and an
 * attach queued behind it in the same helper would wait too.
 */
export function sharedIpDeleter(): IpWorker {
  deleter ??= new IpWorker();
  return deleter;
}
