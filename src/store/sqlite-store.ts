/**
 * The embedded store: one SQLite file (WAL, synchronous=NORMAL) in the data directory.
 *
 * - `kv` holds the live keys with their create/mod revisions.
 * - `events` holds every write of the last `retainRevisions` revisions so a watcher can
 *   resume from any retained revision with no gap; older revisions are compacted away and
 *   a watch from before them throws CompactedError (the caller re-lists).
 * - `meta` holds the global revision and the compaction point.
 *
 * better-sqlite3 is synchronous and this process is the only writer, so each txn() runs as
 * one SQLite transaction from compare to commit, and watchers are notified after the commit.
 * WAL with synchronous=NORMAL keeps every committed txn across a kill -9 of the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  CompactedError,
  type Compare,
  type KeyValue,
  type RangeResult,
  type Store,
  type StoreEvent,
  type TxnResult,
  type WatchHandlers,
  type Watcher,
  type WriteOp,
} from './store';

export interface SqliteStoreOptions {
  /** How many revisions of events are kept for watches (default 100,000). */
  retainRevisions?: number;
  /** A txn with more compares + writes than this commits in slices that let other requests run (default 2,000). */
  slicedTxnOps?: number;
}

/** Compares or writes done between two turns of the event loop in a sliced txn. */
const SLICE_OPS = 500;
const WAL_AUTOCHECKPOINT = 4000;
/** Events handed to watchers per turn of the event loop when a commit brings more. */
const DELIVER_SLICE = 500;

interface Row {
  key: string;
  value: string;
  create_rev: number;
  mod_rev: number;
}

interface EventRow {
  rev: number;
  type: number;
  key: string;
  value: string;
  create_rev: number;
}

interface PendingTxn {
  compares: Compare[];
  ops: WriteOp[];
  resolve: (result: TxnResult) => void;
  reject: (error: Error) => void;
  result?: TxnResult & { events?: StoreEvent[] };
}

interface WatchEntry {
  prefix: string;
  /** Its backlog went up to this revision: later deliveries of revisions up to it are not for it. */
  from: number;
  handlers: WatchHandlers;
  queue: StoreEvent[];
  scheduled: boolean;
  cancelled: boolean;
}

const PUT = 0;
const DELETE = 1;

export const SQLITE_FILE = 'tenet.db';

/** The smallest string greater than every string starting with prefix (for key range scans). */
function prefixEnd(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private revision: number;
  private compacted: number;
  private readonly retain: number;
  private readonly compactStep: number;
  private readonly watchers = new Set<WatchEntry>();
  private closed = false;
  private readonly statements;
  private readonly runBatch: (batch: PendingTxn[]) => void;
  private pending: PendingTxn[] = [];
  private readonly slicedTxnOps: number;
  /** The sliced txn being committed: nothing else is written until it ends. */
  private slicing: Promise<void> | undefined;
  /**
   * While a sliced txn is open, the committed row (null: absent) of every key it has written so far:
   * reads share the SQLite connection, which sees the open transaction, so they answer from here.
   */
  private shadow: Map<string, Row | null> | undefined;
  /** Commits whose events are being handed to watchers a slice per turn, oldest first; `then` resolves their txns. */
  private deliveries: { events: StoreEvent[]; next: number; then: () => void }[] = [];

  static async open(dataDir: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new SqliteStore(path.join(dataDir, SQLITE_FILE), options);
  }

  private constructor(file: string, options: SqliteStoreOptions) {
    this.retain = Math.max(1, Math.floor(options.retainRevisions ?? 100_000));
    this.compactStep = Math.max(1, Math.min(1000, Math.floor(this.retain / 10)));
    this.slicedTxnOps = Math.max(1, Math.floor(options.slicedTxnOps ?? 2000));
    this.db = new Database(file, { timeout: 250 });
    // The revision counter lives in this process, so exactly one process may use the file: an
    // exclusive lock, taken now and held until close (the OS drops it if the process dies).
    this.db.pragma('locking_mode = EXCLUSIVE');
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (error) {
      this.db.close();
      if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw new Error(`the data directory ${path.dirname(file)} is in use by another process (another tenet controller?)`);
      }
      throw error;
    }
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // A 32 MiB page cache keeps the hot part of the database (objects, recent events) out of read
    // syscalls; checkpointing every ~16 MiB of WAL instead of 4 MiB writes pages that change often once.
    this.db.pragma('cache_size = -32768');
    this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS events (rev INTEGER NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL, key TEXT NOT NULL,
        value TEXT NOT NULL, create_rev INTEGER NOT NULL, PRIMARY KEY (rev, seq)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
    `);
    this.statements = {
      get: this.db.prepare<[string], Row>('SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?'),
      modRev: this.db.prepare<[string], { mod_rev: number }>('SELECT mod_rev FROM kv WHERE key = ?'),
      rangeAll: this.db.prepare<[], Row>('SELECT key, value, create_rev, mod_rev FROM kv ORDER BY key'),
      rangeFrom: this.db.prepare<[string], Row>('SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ? ORDER BY key'),
      range: this.db.prepare<[string, string], Row>(
        'SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ? AND key < ? ORDER BY key',
      ),
      rangeLimit: this.db.prepare<[string, string, number], Row>(
        'SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?',
      ),
      // One statement per write: RETURNING gives the createRevision a put keeps and the value a delete removes.
      upsert: this.db.prepare<[string, string, number, number], { create_rev: number }>(
        'INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev RETURNING create_rev',
      ),
      remove: this.db.prepare<[string], { value: string; create_rev: number }>('DELETE FROM kv WHERE key = ? RETURNING value, create_rev'),
      event: this.db.prepare<[number, number, number, string, string, number]>(
        'INSERT INTO events (rev, seq, type, key, value, create_rev) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      eventsAfter: this.db.prepare<[number], EventRow>(
        'SELECT rev, type, key, value, create_rev FROM events WHERE rev > ? ORDER BY rev, seq',
      ),
      setMeta: this.db.prepare<[number, string]>('UPDATE meta SET value = ? WHERE name = ?'),
      getMeta: this.db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE name = ?'),
      compact: this.db.prepare<[number]>('DELETE FROM events WHERE rev <= ?'),
    };
    this.revision = this.statements.getMeta.get('revision')!.value;
    this.compacted = this.statements.getMeta.get('compacted')!.value;
    this.runBatch = this.db.transaction((batch: PendingTxn[]) => {
      const start = this.revision;
      for (const item of batch) item.result = this.applyTxn(item.compares, item.ops);
      if (this.revision !== start) this.statements.setMeta.run(this.revision, 'revision');
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    const row = this.shadow?.has(key) ? this.shadow.get(key) : this.statements.get.get(key);
    return row ? toKeyValue(row) : undefined;
  }

  async range(prefix: string, options: { limit?: number } = {}): Promise<RangeResult> {
    this.assertOpen();
    const end = prefixEnd(prefix);
    let rows: Row[];
    const shadowed = this.shadow !== undefined && this.shadow.size > 0;
    if (end === undefined) rows = prefix === '' ? this.statements.rangeAll.all() : this.statements.rangeFrom.all(prefix);
    else if (options.limit !== undefined && !shadowed)
      rows = this.statements.rangeLimit.all(prefix, end, Math.max(0, Math.floor(options.limit)));
    else rows = this.statements.range.all(prefix, end);
    if (shadowed) rows = this.committedView(rows, prefix);
    if ((end === undefined || shadowed) && options.limit !== undefined) rows = rows.slice(0, Math.max(0, Math.floor(options.limit)));
    return { items: rows.map(toKeyValue), revision: this.revision };
  }

  /**
   * Group commit: the txns asked for in one turn of the event loop run one after another inside a
   * single SQLite transaction, each with its own revision and its compares seen against the ones
   * before it, exactly as if committed one by one; they share the cost of one WAL commit.
   */
  txn(compares: Compare[], ops: WriteOp[]): Promise<TxnResult> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      this.pending.push({ compares, ops, resolve, reject });
      if (this.pending.length === 1 && !this.slicing) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.slicing) return; // it flushes what waited when it ends
    const all = this.pending;
    this.pending = [];
    const large = this.closed ? -1 : all.findIndex((item) => item.compares.length + item.ops.length > this.slicedTxnOps);
    const batch = large === -1 ? all : all.slice(0, large);
    this.commitBatch(batch);
    if (large === -1) return;
    this.pending = [...all.slice(large + 1), ...this.pending];
    this.slicing = this.commitInSlices(all[large]).finally(() => {
      this.slicing = undefined;
      if (this.pending.length > 0) setImmediate(() => this.flush());
    });
  }

  private commitBatch(batch: PendingTxn[]): void {
    if (batch.length === 0) return;
    if (this.closed) {
      for (const item of batch) item.reject(new Error('store is closed'));
      return;
    }
    const revision = this.revision;
    const compacted = this.compacted;
    try {
      this.runBatch(batch);
    } catch (error) {
      // The SQLite transaction rolled back as a whole: so does the in-memory view of it.
      this.revision = revision;
      this.compacted = compacted;
      for (const item of batch) item.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const events: StoreEvent[] = [];
    for (const item of batch) {
      const result = item.result!;
      if (result.events) events.push(...result.events);
      delete result.events;
    }
    this.publish(events, () => {
      for (const item of batch) item.resolve(item.result!);
    });
  }

  private applyTxn(compares: Compare[], ops: WriteOp[]): TxnResult & { events?: StoreEvent[] } {
    const failed: Compare[] = [];
    for (const compare of compares) {
      const actual = this.statements.modRev.get(compare.key)?.mod_rev ?? 0;
      if (actual !== compare.modRevision) failed.push(compare);
    }
    if (failed.length > 0) return { succeeded: false, revision: this.revision, failed };
    // A txn with nothing to write changes nothing, so it does not take a revision (as in etcd).
    if (ops.length === 0) return { succeeded: true, revision: this.revision };
    const revision = this.revision + 1;
    const events: StoreEvent[] = [];
    for (const op of ops) this.writeOp(op, revision, events);
    this.compactFor(revision);
    this.revision = revision;
    return { succeeded: true, revision, events };
  }

  private writeOp(op: WriteOp, revision: number, events: StoreEvent[]): void {
    if (op.type === 'put') {
      const createRevision = this.statements.upsert.get(op.key, op.value, revision, revision)!.create_rev;
      this.statements.event.run(revision, events.length, PUT, op.key, op.value, createRevision);
      events.push({ type: 'put', key: op.key, value: op.value, revision, createRevision });
    } else {
      const removed = this.statements.remove.get(op.key);
      if (!removed) return;
      this.statements.event.run(revision, events.length, DELETE, op.key, removed.value, removed.create_rev);
      events.push({ type: 'delete', key: op.key, value: removed.value, revision, createRevision: removed.create_rev });
    }
  }

  private compactFor(revision: number): void {
    const compactTo = revision - this.retain;
    if (compactTo - this.compacted >= this.compactStep) {
      this.statements.compact.run(compactTo);
      this.statements.setMeta.run(compactTo, 'compacted');
      this.compacted = compactTo;
    }
  }

  /**
   * Fairness for huge txns (a 10,000-object apply took 0.3-1 s of SQLite work in one go, and every
   * other tenant's read waited behind it): the same single SQLite transaction, opened by hand and
   * filled SLICE_OPS compares or writes at a time with a turn of the event loop between slices.
   * Still atomic (COMMIT or ROLLBACK, and a crash rolls back), and isolated: nothing else writes
   * until it ends (other txns wait in `pending`), reads answer committed state through `shadow`,
   * watch backlogs skip its uncommitted events, and watchers hear of it only after the COMMIT.
   */
  private async commitInSlices(item: PendingTxn): Promise<void> {
    const revisionBefore = this.revision;
    const compactedBefore = this.compacted;
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    let open = false;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      open = true;
      const failed: Compare[] = [];
      for (const [i, compare] of item.compares.entries()) {
        if (i > 0 && i % SLICE_OPS === 0) await turn();
        const actual = this.statements.modRev.get(compare.key)?.mod_rev ?? 0;
        if (actual !== compare.modRevision) failed.push(compare);
      }
      if (failed.length > 0 || item.ops.length === 0) {
        this.db.exec('ROLLBACK');
        open = false;
        item.resolve(
          failed.length > 0 ? { succeeded: false, revision: this.revision, failed } : { succeeded: true, revision: this.revision },
        );
        return;
      }
      const revision = this.revision + 1;
      const events: StoreEvent[] = [];
      this.shadow = new Map();
      for (const [i, op] of item.ops.entries()) {
        if (i > 0 && i % SLICE_OPS === 0) await turn();
        if (this.closed) throw new Error('store is closed');
        if (!this.shadow.has(op.key)) this.shadow.set(op.key, this.statements.get.get(op.key) ?? null);
        this.writeOp(op, revision, events);
      }
      this.compactFor(revision);
      this.statements.setMeta.run(revision, 'revision');
      // The COMMIT would also checkpoint the ~30 MB of WAL such a txn writes (~170 ms more in one
      // block): commit without it, and checkpoint in a turn of its own.
      this.db.pragma('wal_autocheckpoint = 0');
      try {
        this.db.exec('COMMIT');
      } finally {
        this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
      }
      open = false;
      setImmediate(() => {
        if (!this.closed && !this.slicing) this.db.pragma('wal_checkpoint(PASSIVE)');
      });
      this.shadow = undefined;
      this.revision = revision;
      this.publish(events, () => item.resolve({ succeeded: true, revision }));
    } catch (error) {
      this.shadow = undefined;
      if (open) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // SQLite already rolled back (e.g. after an I/O error)
        }
      }
      this.revision = revisionBefore;
      this.compacted = compactedBefore;
      item.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Rows of a range as committed: the sliced txn's writes so far replaced by what they overwrote. */
  private committedView(rows: Row[], prefix: string): Row[] {
    const byKey = new Map(rows.map((row) => [row.key, row]));
    for (const [key, row] of this.shadow ?? []) {
      if (!key.startsWith(prefix)) continue;
      if (row) byKey.set(key, row);
      else byKey.delete(key);
    }
    return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Promise<Watcher> {
    this.assertOpen();
    if (afterRevision < this.compacted) throw new CompactedError(afterRevision, this.compacted + 1);
    const entry: WatchEntry = { prefix, from: this.revision, handlers, queue: [], scheduled: false, cancelled: false };
    // Reading the backlog and registering happen in one synchronous step, so no commit can fall between them.
    if (afterRevision < this.revision) {
      for (const row of this.statements.eventsAfter.iterate(afterRevision)) {
        // Rows past the revision are a sliced txn's, not committed yet: watchers hear of it after its COMMIT.
        if (row.rev > this.revision) break;
        if (!row.key.startsWith(prefix)) continue;
        entry.queue.push({
          type: row.type === PUT ? 'put' : 'delete',
          key: row.key,
          value: row.value,
          revision: row.rev,
          createRevision: row.create_rev,
        });
      }
    }
    this.watchers.add(entry);
    this.schedule(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
        this.watchers.delete(entry);
      },
    };
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    return this.revision;
  }

  /** Oldest revision a watch can still start after. */
  oldestWatchableRevision(): number {
    return this.compacted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.slicing || this.pending.length > 0) {
      if (this.slicing) await this.slicing;
      else this.flush();
    }
    // Committed: their callers hear so even though watchers (about to be told the store closed) will not.
    for (const delivery of this.deliveries.splice(0)) delivery.then();
    this.closed = true;
    for (const entry of this.watchers) {
      entry.cancelled = true;
      safely(() => entry.handlers.onError(new Error('store closed')));
    }
    this.watchers.clear();
    this.db.close();
  }

  /**
   * Hands a commit's events to watchers, then runs `then` (which resolves its txns, so a caller
   * continues only once every watcher has seen its change, as with one delivery). A commit of more
   * than DELIVER_SLICE events (a 10,000-object apply) is handed over a slice per turn of the event
   * loop, so the watchers' work on it does not hold up other requests; later commits queue behind
   * it, so every watcher still sees every event once, in revision order.
   */
  private publish(events: StoreEvent[], then: () => void): void {
    if (this.deliveries.length === 0 && events.length <= DELIVER_SLICE) {
      if (events.length > 0) this.notify(events);
      then();
      return;
    }
    this.deliveries.push({ events, next: 0, then });
    if (this.deliveries.length === 1) setImmediate(() => this.pump());
  }

  private pump(): void {
    const head = this.deliveries[0];
    if (!head || this.closed) return;
    const slice = head.events.slice(head.next, head.next + DELIVER_SLICE);
    head.next += slice.length;
    if (slice.length > 0) this.notify(slice);
    if (head.next >= head.events.length) {
      this.deliveries.shift();
      head.then();
    }
    if (this.deliveries.length > 0) setImmediate(() => this.pump());
  }

  private notify(events: StoreEvent[]): void {
    for (const entry of this.watchers) {
      let matched = false;
      for (const event of events) {
        if (event.revision > entry.from && event.key.startsWith(entry.prefix)) {
          entry.queue.push(event);
          matched = true;
        }
      }
      if (matched) this.schedule(entry);
    }
  }

  /** Delivery is always deferred to a microtask so a watcher sees its backlog before any later commit, in order. */
  private schedule(entry: WatchEntry): void {
    if (entry.scheduled || entry.queue.length === 0) return;
    entry.scheduled = true;
    queueMicrotask(() => {
      entry.scheduled = false;
      if (entry.cancelled || entry.queue.length === 0) return;
      const batch = entry.queue;
      entry.queue = [];
      safely(() => entry.handlers.onEvents(batch));
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

function toKeyValue(row: Row): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_rev, modRevision: row.mod_rev };
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    process.emitWarning(`store watcher failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
