/**
 * Fairness inside one request: a big apply (10,000 objects) validates, plans and encodes in a loop
 * whose awaits resolve at once (the SQLite store answers synchronously), so without help it holds the
 * event loop for its whole length and every other tenant's request waits behind it. A Pacer is asked
 * once per item and, after SLICE_MS of continuous work, yields one macrotask turn (setImmediate) so
 * waiting I/O — other tenants' reads — is served in between. The work itself, and the single store
 * transaction that commits it, stay exactly as they were: atomicity is untouched.
 */
import { performance } from 'node:perf_hooks';

/** Longest stretch of synchronous work between two yields. */
export const SLICE_MS = 8;

export class Pacer {
  private since = performance.now();

  /** Resolves at once while the current slice lasts; otherwise after one turn of the event loop. */
  pace(): Promise<void> | undefined {
    if (performance.now() - this.since < SLICE_MS) return undefined;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.since = performance.now();
        resolve();
      }),
    );
  }
}
