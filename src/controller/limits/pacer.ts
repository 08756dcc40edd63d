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

/**
 * JSON.stringify(record) of a record whose `changes` array is long (a 10,000-object apply's history
 * record holds every object: ~5 MB), one change per pace: the same text, without one 40+ ms block.
 */
export async function stringifyPaced(record: { changes: readonly unknown[] }, pacer = new Pacer()): Promise<string> {
  const head = JSON.stringify({ ...record, changes: [] });
  if (!head.endsWith('"changes":[]}')) return JSON.stringify(record); // `changes` not last: keep the plain form
  const parts: string[] = [];
  for (const change of record.changes) {
    await pacer.pace();
    parts.push(JSON.stringify(change));
  }
  return `${head.slice(0, -2)}${parts.join(',')}]}`;
}
