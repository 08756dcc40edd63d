/**
 * The `ip -batch` lines of an attach (src/core/dataplane/attach-plan.ts) through native/tenet-ipd,
 * which applies them with rtnetlink in the target namespace: no `nsenter ip` processes on the path of
 * a container start. Without a built helper the lines go through `nsenter ip -batch` as before.
 */
import path from 'node:path';
import { KernelError, run } from './exec';
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

export interface IpStep {
  nsPath: string;
  lines: readonly string[];
}

/** A failed line: which step (namespace) and line it was, and the kernel's reason. */
export class IpStepError extends KernelError {
  constructor(
    message: string,
    readonly step: number,
    readonly line: string | undefined,
    stderr: string,
  ) {
    super(message, ['tenet-ipd'], stderr, null);
  }
}

export class IpWorker {
  private readonly worker: NetnsWorker;
  private readonly binary: string;

  constructor(options: IpWorkerOptions = {}) {
    this.binary = options.binary ?? IP_WORKER_PATH;
    this.worker = new NetnsWorker({
      binary: this.binary,
      tool: 'ip',
      timeoutMs: options.timeoutMs,
      fallback: options.fallback === false ? undefined : 'running ip through nsenter, one process per batch',
    });
  }

  get pid(): number | undefined {
    return this.worker.pid;
  }

  /** Runs the lines in order in the namespace at `nsPath`; the first failure stops the rest (as `ip -batch`). */
  run(nsPath: string, lines: readonly string[]): Promise<void> {
    return this.runSteps([{ nsPath, lines }]);
  }

  /**
   * Several namespaces' lines in one request, in order (both ends of a veth: one round trip, not two).
   * The first failure stops the rest; it rejects with an IpStepError saying which step and line.
   */
  async runSteps(steps: readonly IpStep[]): Promise<void> {
    for (const step of steps) {
      assertNetnsPath(step.nsPath);
      checkLines(step.lines);
    }
    if (steps.length === 0) return;
    if (this.worker.missing()) {
      for (const [index, step] of steps.entries()) {
        try {
          await refuseSecondDefault(step);
          await ipBatchAt(step.nsPath, step.lines);
        } catch (error) {
          const e = error as KernelError;
          // ipBatchAt names the failed command in quotes.
          const line = step.lines.find((l) => e.message.includes(`"${l}"`));
          throw new IpStepError(e.message, index, line, e.stderr);
        }
      }
      return;
    }
    // Every step after the first starts with a `netns PATH` line: a failure's line number is mapped back.
    const numbered: Array<{ step: number; line?: string }> = [];
    const text: string[] = [];
    for (const [index, step] of steps.entries()) {
      if (index > 0) {
        text.push(`netns ${step.nsPath}`);
        numbered.push({ step: index });
      }
      for (const line of step.lines) {
        text.push(line);
        numbered.push({ step: index, line });
      }
    }
    const reply = await this.worker.request(steps[0].nsPath, 0, checkLines(text));
    if (reply.status === 0) return;
    const failed = reply.status > 0 ? numbered[reply.status - 1] : { step: 0 };
    const where = failed?.line !== undefined ? `"${failed.line}": ` : '';
    const nsPath = steps[failed?.step ?? 0].nsPath;
    throw new IpStepError(
      `ip in ${nsPath}: ${where}${reply.error || `status ${reply.status}`}`,
      failed?.step ?? 0,
      failed?.line,
      reply.error,
    );
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}

/**
 * tenet-ipd's rule for `route add default` when ip runs instead: iproute2 refuses only a default route of
 * the same metric, so any default route of the family (main table) fails the step before it runs.
 */
async function refuseSecondDefault(step: IpStep): Promise<void> {
  for (const line of step.lines) {
    const match = /^route add default via (\S+) /.exec(line);
    if (!match) continue;
    const family = match[1].includes(':') ? '-6' : '-4';
    const { stdout } = await run('nsenter', [`--net=${step.nsPath}`, 'ip', '-json', family, 'route', 'show', 'default', 'table', 'main']);
    if ((JSON.parse(stdout || '[]') as unknown[]).length > 0) {
      const message = `the namespace has an IPv${family === '-6' ? 6 : 4} default route already; it is never replaced`;
      throw new KernelError(
        `ip in ${step.nsPath}: "${line}": File exists: ${message}`,
        ['nsenter', step.nsPath],
        `RTNETLINK answers: File exists: ${message}`,
        2,
      );
    }
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
