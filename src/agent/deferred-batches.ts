/**
 * ip batches that may run after an attach answered (see AttachPlan.tuningLines): lines queue per
 * namespace and run as one `ip -force -batch` per namespace at a time, so a burst of attaches costs
 * one batch, not one per interface. A line whose interface is gone meanwhile fails harmlessly; other
 * failures are logged, never thrown (nothing waits for these lines).
 */
import { ipBatch } from '../kernel/ip';
import type { Log } from './reconciler';

/** How long lines wait before their batch starts: off the attach's critical path, and more of a burst per batch. */
export const DEFER_MS = 50;

export class DeferredBatches {
  private readonly pending = new Map<string, string[]>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly log: Log) {}

  add(netns: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const queue = this.pending.get(netns) ?? [];
    queue.push(...lines);
    this.pending.set(netns, queue);
    if (!this.running.has(netns)) this.running.set(netns, new Promise((resolve) => setTimeout(resolve, DEFER_MS)).then(() => this.drain(netns)));
  }

  /** Resolves when everything queued so far has run (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private async drain(netns: string): Promise<void> {
    // running.get(netns) is this drain's own promise until the finally below: add() only queues meanwhile.
    try {
      for (let lines = this.take(netns); lines.length > 0; lines = this.take(netns)) {
        try {
          const { failures } = await ipBatch(lines, { netns, force: true });
          const real = failures.filter((f) => !/Cannot find device|does not exist/.test(f.message));
          if (real.length > 0) this.log('warn', 'deferred interface settings failed', { netns, failures: real.slice(0, 5) });
        } catch (error) {
          this.log('warn', 'deferred interface settings failed', { netns, error: (error as Error).message });
        }
      }
    } finally {
      this.running.delete(netns);
    }
  }

  private take(netns: string): string[] {
    const lines = this.pending.get(netns) ?? [];
    this.pending.delete(netns);
    return lines;
  }
}
