/**
 * The Store: a small revisioned key-value interface with etcd's semantics, so the
 * embedded SQLite store and the etcd store are interchangeable and every rule
 * above them (objects, IPAM, VNIs, revisions, audit) is written once.
 *
 * - Every successful txn bumps the global revision by exactly one; all its
 *   writes carry that revision as their modRevision.
 * - Watches deliver every change after a given revision, in order, with no
 *   gaps; asking for a revision older than what is retained throws
 *   CompactedError so the caller re-lists.
 */

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
}

/** modRevision 0 means "the key must not exist". */
export interface Compare {
  key: string;
  modRevision: number;
}

export type WriteOp = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string };

export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the txn (unchanged when it failed). */
  revision: number;
  /** On failure: the compares that did not hold. */
  failed?: Compare[];
}

export interface StoreEvent {
  type: 'put' | 'delete';
  key: string;
  /** New value (put) or last value (delete). */
  value: string;
  revision: number;
  /** For puts: the key's createRevision (equal to revision when the key is new). */
  createRevision: number;
}

export interface RangeResult {
  items: KeyValue[];
  /** Store revision at which the range was read; watch from here for a gap-free follow. */
  revision: number;
}

export interface Watcher {
  cancel(): void;
}

export interface WatchHandlers {
  /** Called with the events of one or more revisions, in revision order. */
  onEvents(events: StoreEvent[]): void;
  /** The watch cannot continue (e.g. the store closed or fell behind); re-list. */
  onError(error: Error): void;
}

export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`revision ${requested} is too old (oldest retained is ${oldest}); re-list`);
  }
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /** All keys that start with prefix, sorted by key. */
  range(prefix: string, options?: { limit?: number }): Promise<RangeResult>;
  /** Atomically: if every compare holds, apply every op. */
  txn(compares: Compare[], ops: WriteOp[]): Promise<TxnResult>;
  /** Events for keys under prefix with revision > afterRevision. Throws CompactedError. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Promise<Watcher>;
  currentRevision(): Promise<number>;
  close(): Promise<void>;
}
