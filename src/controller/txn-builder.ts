/**
 * Collects the compares and writes of one attempt at a change, plus what to undo in memory
 * (address/VNI proposals) when the attempt does not commit. The object service retries a failed
 * attempt from scratch: every read is repeated, so a retry sees what the other writer did.
 */
import type { Compare, WriteOp } from '../store/store';
import type { TenetObject } from '../core/model/object';

/** Thrown inside an attempt when its own reads disagree with each other; the attempt is simply retried. */
export class RetryAttempt extends Error {}

interface Proposal {
  key: string;
  release: () => void;
  taken?: () => void;
}

export class TxnBuilder {
  private readonly compareMap = new Map<string, number>();
  private readonly opMap = new Map<string, WriteOp>();
  private readonly proposals: Proposal[] = [];
  private readonly stamps: TenetObject[] = [];
  private readonly commitHooks: ((revision: number) => void)[] = [];

  compare(key: string, modRevision: number): void {
    const previous = this.compareMap.get(key);
    if (previous !== undefined && previous !== modRevision) throw new RetryAttempt(`${key} changed while it was read`);
    this.compareMap.set(key, modRevision);
  }

  put(key: string, value: string): void {
    this.opMap.delete(key);
    this.opMap.set(key, { type: 'put', key, value });
  }

  /** Whether this transaction already writes `key` (a put): e.g. a virtual IP another object of the same apply took. */
  puts(key: string): boolean {
    return this.opMap.get(key)?.type === 'put';
  }

  delete(key: string): void {
    this.opMap.delete(key);
    this.opMap.set(key, { type: 'delete', key });
  }

  /** Whether this attempt already writes `key` (two objects of one apply claiming one key see each other). */
  writes(key: string): boolean {
    return this.opMap.get(key)?.type === 'put';
  }

  /** An in-memory reservation tied to a store key that must not exist: kept if another writer took the key, released otherwise. */
  propose(key: string, release: () => void, taken?: () => void): void {
    this.proposals.push({ key, release, taken });
  }

  /** Runs once the attempt committed (e.g. a quota reservation handing over to the followed counts). */
  onCommit(hook: (revision: number) => void): void {
    this.commitHooks.push(hook);
  }

  /** Objects whose resourceVersion is the revision of the commit. */
  stamp(object: TenetObject): void {
    this.stamps.push(object);
  }

  get compares(): Compare[] {
    return [...this.compareMap].map(([key, modRevision]) => ({ key, modRevision }));
  }

  get ops(): WriteOp[] {
    return [...this.opMap.values()];
  }

  committed(revision: number): void {
    for (const object of this.stamps) object.metadata.resourceVersion = String(revision);
    for (const hook of this.commitHooks) hook(revision);
  }

  failed(failedCompares: Compare[]): void {
    const taken = new Set(failedCompares.map((c) => c.key));
    for (const proposal of this.proposals) {
      if (taken.has(proposal.key)) proposal.taken?.();
      else proposal.release();
    }
  }

  abandoned(): void {
    for (const proposal of this.proposals) proposal.release();
  }
}
