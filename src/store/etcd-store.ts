/**
 * The Store on etcd v3, for several controllers sharing one cluster. etcd already has the
 * semantics the interface was modelled on (one revision per txn, revisioned watches, compaction),
 * so this is a thin translation: keys get a prefix, compares become revision compares, and
 * transient failures (a member down, a leader election) are retried here so callers see either
 * a result or a real error.
 */
import { Etcd3, type ICompare, type IKeyValue, type IOptions, type IRequestOp, type IResponseOp, type KVClient } from 'etcd3';
import type { Compare, KeyValue, RangeResult, Store, TxnResult, WatchHandlers, Watcher, WriteOp } from './store';
import { isTransient, withRetry } from './etcd-errors';
import { parseEtcdSpec, type EtcdSecurity, type EtcdSpec } from './etcd-spec';
import { openEtcdWatch, type EtcdWatch } from './etcd-watch';
import { ReadBatcher } from './etcd-read-batcher';
import { LeaderRouter } from './etcd-leader';

/** Keys per range request: bounded so a large list never exceeds a gRPC message. */
const RANGE_PAGE = 500;
/** Unary calls give up on a member that stopped answering (e.g. partitioned) after this long. */
const CALL_TIMEOUT_MS = 5_000;

export interface EtcdStoreOptions extends EtcdSpec, EtcdSecurity {
  /** Per-call deadline for unary requests. */
  callTimeoutMs?: number;
}

/** TLS credentials and password auth in the etcd3 client's terms. */
function securityOptions(security: EtcdSecurity): Pick<IOptions, 'credentials' | 'auth'> {
  const out: Pick<IOptions, 'credentials' | 'auth'> = {};
  if (security.tls) {
    // grpc's createSsl takes null for "the system roots"; etcd3's type says Buffer but passes it through.
    out.credentials = {
      rootCertificate: security.tls.ca ?? (null as unknown as Buffer),
      privateKey: security.tls.key,
      certChain: security.tls.cert,
    };
  }
  if (security.auth) out.auth = { username: security.auth.username, password: security.auth.password };
  return out;
}

/** A byte string that sorts right after every key starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * The pool's own retry would blindly re-send a txn whose reply was lost; this store retries
 * itself and checks the outcome instead, so the pool gets a policy that runs each call once.
 */
const neverAborted = new AbortController().signal;
const runOnce = {
  execute: <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T) => Promise.resolve().then(() => fn({ signal: neverAborted })),
} as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

export class EtcdStore implements Store {
  /** Knows every member: watches, and unary requests while the leader is unknown. */
  private readonly client: Etcd3;
  private readonly router: LeaderRouter;
  private readonly reads: ReadBatcher;
  private readonly prefix: string;
  private closed = false;
  private readonly watchers = new Set<EtcdWatch>();

  private constructor(options: EtcdStoreOptions) {
    if (options.hosts.length === 0) throw new Error('etcd store needs at least one host');
    this.prefix = options.prefix;
    const timeout = options.callTimeoutMs ?? CALL_TIMEOUT_MS;
    const clientOptions: Omit<IOptions, 'hosts'> = {
      ...securityOptions(options),
      dialTimeout: timeout,
      faultHandling: { global: runOnce },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
      grpcOptions: {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        // Notice a member that vanished without closing its connections (watch streams would otherwise hang).
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
      },
    };
    const scheme = options.tls ? 'https' : 'http';
    this.client = new Etcd3({ ...clientOptions, hosts: options.hosts.map((h) => `${scheme}://${h}`) });
    this.router = new LeaderRouter(
      this.client,
      options.hosts.map((h) => `${scheme}://${h}`),
      clientOptions,
    );
    this.reads = new ReadBatcher((request) => this.call((kv) => kv.txn(request)));
  }

  /** Connects and checks that the cluster answers, so a wrong address fails at start-up. */
  static async open(spec: string | EtcdStoreOptions, security: EtcdSecurity = {}): Promise<EtcdStore> {
    const options = typeof spec === 'string' ? { ...parseEtcdSpec(spec), ...security } : { ...spec, ...security };
    const store = new EtcdStore(options);
    try {
      await store.currentRevision();
      await store.router.discover();
    } catch (error) {
      store.router.close();
      throw new Error(`cannot reach etcd at ${options.hosts.join(',')}: ${(error as Error).message}`);
    }
    return store;
  }

  private full(key: string): Buffer {
    return Buffer.from(this.prefix + key);
  }

  /**
   * Every key starts with '/', so the namespace is `<prefix>/`: a range of '' must not reach into
   * another installation whose prefix merely starts with ours (`/tenet` vs `/tenet2`).
   */
  private fullPrefix(prefix: string): Buffer {
    if (prefix !== '' && !prefix.startsWith('/')) throw new Error(`store key prefix must start with '/' (got ${JSON.stringify(prefix)})`);
    return this.full(prefix === '' ? '/' : prefix);
  }

  private strip(key: Buffer): string {
    return key.toString().slice(this.prefix.length);
  }

  private toKeyValue(kv: IKeyValue): KeyValue {
    return {
      key: this.strip(kv.key),
      value: kv.value.toString(),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
    };
  }

  /**
   * One unary request, retried on transient errors; each attempt goes to the leader when known.
   * `onTransient` lets a txn note that an attempt may have been applied before its reply was lost.
   */
  private call<T>(fn: (kv: KVClient) => Promise<T>, onTransient?: () => void): Promise<T> {
    return withRetry(async () => {
      const client = this.router.pick();
      try {
        return await fn(client.kv);
      } catch (error) {
        if (isTransient(error)) {
          this.router.failed(client);
          onTransient?.();
        }
        throw error;
      }
    });
  }

  private check(): void {
    if (this.closed) throw new Error('etcd store is closed');
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    validateKey(key);
    const kv = await this.reads.get(this.full(key));
    return kv ? this.toKeyValue(kv) : undefined;
  }

  async range(prefix: string, options: { limit?: number } = {}): Promise<RangeResult> {
    this.check();
    const start = this.fullPrefix(prefix);
    const end = prefixEnd(start);
    const wanted = options.limit !== undefined && options.limit > 0 ? options.limit : Infinity;
    const items: KeyValue[] = [];
    let from = start;
    let revision = 0;
    // Pages are read at the first page's revision, so the whole list is one consistent snapshot.
    for (;;) {
      const limit = Math.min(RANGE_PAGE, wanted - items.length);
      const res = await this.call((kv) => kv.range({ key: from, range_end: end, limit, revision: revision || undefined }));
      if (revision === 0) revision = Number(res.header.revision);
      for (const kv of res.kvs) items.push(this.toKeyValue(kv));
      if (!res.more || items.length >= wanted || res.kvs.length === 0) break;
      from = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
    }
    return { items, revision };
  }

  async txn(compares: Compare[], ops: WriteOp[]): Promise<TxnResult> {
    this.check();
    validateTxn(compares, ops);
    const request = {
      compare: compares.map((c): ICompare =>
        c.modRevision === 0
          ? { key: this.full(c.key), target: 'Create', result: 'Equal', create_revision: 0 }
          : { key: this.full(c.key), target: 'Mod', result: 'Equal', mod_revision: c.modRevision },
      ),
      success: ops.map((op): IRequestOp =>
        op.type === 'put'
          ? { request_put: { key: this.full(op.key), value: Buffer.from(op.value) } }
          : { request_delete_range: { key: this.full(op.key) } },
      ),
      // Only run when a compare fails: the compared keys' revisions, to say which compares failed.
      failure: compares.map((c): IRequestOp => ({ request_range: { key: this.full(c.key), keys_only: true } })),
    };
    let ambiguous = false;
    const res = await this.call(
      (kv) => kv.txn(request),
      () => (ambiguous = true),
    ).catch((error: unknown) => {
      throw explainLimit(error, compares.length, ops.length);
    });
    if (res.succeeded) return { succeeded: true, revision: Number(res.header.revision) };
    // An earlier attempt may have committed before its reply was lost; then the compares fail now
    // only because of our own write. Report what really happened rather than a false conflict.
    if (ambiguous && ops.length > 0) {
      const landed = await this.outcomeOf(ops);
      if (landed !== undefined) return { succeeded: true, revision: landed };
    }
    const failed = compares.filter((c, i) => {
      const kv = (res.responses[i] as IResponseOp | undefined)?.response_range?.kvs[0];
      return (kv ? Number(kv.mod_revision) : 0) !== c.modRevision;
    });
    return { succeeded: false, revision: Number(res.header.revision), failed };
  }

  /** The revision at which ops were applied, if the store now holds exactly their effect from one txn. */
  private async outcomeOf(ops: WriteOp[]): Promise<number | undefined> {
    let revision: number | undefined;
    for (const op of ops) {
      const kv = await this.get(op.key);
      if (op.type === 'delete') {
        if (kv) return undefined;
        continue;
      }
      if (!kv || kv.value !== op.value) return undefined;
      if (revision !== undefined && kv.modRevision !== revision) return undefined;
      revision = kv.modRevision;
    }
    return revision ?? (await this.currentRevision());
  }

  async watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Promise<Watcher> {
    this.check();
    if (!Number.isInteger(afterRevision) || afterRevision < 0)
      throw new Error(`watch revision must be a non-negative integer (got ${afterRevision})`);
    const key = this.fullPrefix(prefix);
    let inner: EtcdWatch | undefined;
    // A stream that lands on a dead member fails before it is created; another member may serve it.
    // eslint-disable-next-line prefer-const -- the retry's callbacks read it before it is set
    inner = await withRetry(() =>
      openEtcdWatch(this.client, {
        key,
        rangeEnd: prefixEnd(key),
        afterRevision,
        strip: (k) => this.strip(k),
        handlers: {
          onEvents: handlers.onEvents,
          onError: (error) => {
            if (inner) this.watchers.delete(inner);
            handlers.onError(error);
          },
        },
      }),
    );
    const watch = inner;
    if (this.closed) {
      watch.cancel();
      throw new Error('etcd store is closed');
    }
    this.watchers.add(watch);
    return {
      cancel: () => {
        this.watchers.delete(watch);
        watch.cancel();
      },
    };
  }

  async currentRevision(): Promise<number> {
    this.check();
    // A single-key read costs the same however many keys there are; a count over the prefix would not.
    const key = Buffer.from(`${this.prefix}/`);
    const res = await this.call((kv) => kv.range({ key, keys_only: true }));
    return Number(res.header.revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.watchers]) watch.fail(new Error('store closed'));
    this.watchers.clear();
    this.router.close();
  }

  /** For tests and operators: let etcd forget history before `revision` (watches from earlier get CompactedError). */
  async compact(revision: number): Promise<void> {
    this.check();
    await this.call((kv) => kv.compact({ revision, physical: true }));
  }
}

/** etcd's per-request limits are server flags; say which one to raise instead of passing a gRPC error on. */
function explainLimit(error: unknown, compares: number, ops: number): unknown {
  if (!(error instanceof Error)) return error;
  if (/too many operations in txn request/.test(error.message)) {
    return new Error(
      `etcd refused a transaction of ${Math.max(compares, ops)} operations: start every etcd member with --max-txn-ops of at least that (docs/ha.md)`,
    );
  }
  if (/request is too large/.test(error.message)) {
    return new Error(
      `etcd refused a transaction of ${ops} writes as too large: raise --max-request-bytes on every etcd member (docs/ha.md)`,
    );
  }
  return error;
}

function validateKey(key: string): void {
  if (typeof key !== 'string' || !key.startsWith('/'))
    throw new Error(`store key must be a string starting with '/' (got ${JSON.stringify(key)})`);
}

function validateTxn(compares: Compare[], ops: WriteOp[]): void {
  for (const c of compares) {
    validateKey(c.key);
    if (!Number.isInteger(c.modRevision) || c.modRevision < 0)
      throw new Error(`compare on ${c.key}: modRevision must be a non-negative integer`);
  }
  const seen = new Set<string>();
  for (const op of ops) {
    validateKey(op.key);
    // etcd rejects a txn that writes one key twice; say so clearly instead of passing its error on.
    if (seen.has(op.key)) throw new Error(`txn writes ${op.key} more than once`);
    seen.add(op.key);
    if (op.type === 'put' && typeof op.value !== 'string') throw new Error(`put ${op.key}: value must be a string`);
  }
}
