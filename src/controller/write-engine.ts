/**
 * The generic write engine: one attempt function retried until its store txn commits (`mutate`),
 * a set of intended changes written atomically with history and audit (`write`), deletion marks on
 * parent guards, and the guard checks children make. What differs between kinds — server-owned
 * status, create/update/delete effects, cross-object checks — lives in one strategy per kind
 * (`kinds/*.ts`, like the Kubernetes apiserver's strategy.go files); the engine knows none of them
 * by name and takes them as a table, so the kinds can import the engine without a cycle.
 *
 * Correctness never rests on this process: every rule that two writers could race on is a
 * compare in the same store txn as the write (object modRevisions, parent guards, address and
 * VNI keys created with modRevision 0, the history counter). A failed compare means another
 * writer got there first; the attempt is repeated from fresh reads, which then see that write.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_CLUSTER_DOMAIN } from '../core/dns/records';
import type { KeyValue, Store, WriteOp } from '../store/store';
import { HISTORY_COUNTER_KEY, guardKey, historyKey, objectKey } from '../store/keys';
import { kindInfo, KINDS, type KindName } from '../core/model/registry';
import { refKey, refText, type ObjectRef, type TenetObject } from '../core/model/object';
import { API_VERSION } from '../core/model/common';
import { conflict, notFound } from './errors';
import { RetryAttempt, TxnBuilder } from './txn-builder';
import { decodeObject, encodeObject, sameIntent, withoutRevision } from './object-codec';
import type { HistoryChange, HistoryRecord } from './history';
import type { StateIndex } from './state-index';
import { summarizeChanges } from '../core/auth/change-summary';
import { auditEvents } from '../core/auth/audit-events';
import type { AuditEvent } from '../core/auth/audit-entry';
import type { ChangeResult } from '../core/model/wire';
import { Pacer, stringifyPaced } from './limits/pacer'; // [limits]
import { tenantQuotasIn, type QuotaLedger } from './limits/quota-ledger'; // [limits]

export interface WriteContext {
  actor: string;
  verb: string;
  message?: string;
  dryRun?: boolean;
  audit?: AuditSink;
}

/** Where a request's audit entry goes: into the same txn as the change, so a crash can neither lose nor double it. */
export interface AuditSink {
  /** The store write recording the entry, given a summary of what changed and the named events it is. */
  op(summary: string, events?: AuditEvent[]): WriteOp;
  /** Set once a txn carrying the entry committed; otherwise the HTTP layer records the outcome itself. */
  recorded: boolean;
}

export interface DesiredChange {
  ref: ObjectRef;
  /** The wanted object (validated), or null to delete. */
  after: TenetObject | null;
  /** POST: the object must not exist yet. */
  mustNotExist?: boolean;
  /** DELETE/PUT/PATCH: the object must exist. */
  mustExist?: boolean;
  /** A resourceVersion the client sent: the live object must still have it. */
  expectedRevision?: number;
}

export interface WriteOutcome {
  storeRevision: number | null;
  historyRevision: number | null;
  results: ChangeResult[];
  objects: (TenetObject | null)[];
}

/**
 * One kind's rules. Every member is optional: a kind without a strategy is written as it is.
 * Effects run inside the write's attempt and add their compares and writes to its txn.
 * (In the Kubernetes apiserver's terms: `normalize` is Canonicalize, `serverStatus` what a status
 * strategy resets, the effects are PrepareForCreate/PrepareForUpdate plus the allocators the
 * registry calls, `updateEffects` refusals are ValidateUpdate, `check` is cross-object admission.
 * Schema validation is shared by all kinds and runs before any of it.)
 */
export interface KindStrategy {
  /** Status fields only the server writes: a client's status write keeps them as they are. */
  readonly serverStatus?: readonly string[];
  /**
   * Status fields only agents (and admins) write: a status write by a tenant's token keeps them as they
   * are, and a create never carries them. (An endpoint's attachment record steers the agent's re-attach.)
   */
  readonly agentStatus?: readonly string[];
  /** Why apply refuses this kind (it has its own create path), if it does. */
  readonly applyRefusal?: string;
  /** Canonical form of a validated object, and refusal of what the schema cannot express. */
  normalize?(object: TenetObject): void;
  /** The kind's own create path (POST), replacing the generic write. */
  create?(engine: WriteEngine, object: TenetObject, ctx: WriteContext): Promise<TenetObject>;
  /** The guard key children compare against and a deletion marks (parents: tenants, networks). */
  guard?(ref: ObjectRef): string;
  /** Objects deleted together with this one by `?cascade=true`, listed inside each attempt. */
  cascade?(engine: WriteEngine, ref: ObjectRef): Promise<DesiredChange[]>;
  createEffects?(engine: WriteEngine, b: TxnBuilder, object: TenetObject): Promise<void>;
  updateEffects?(engine: WriteEngine, b: TxnBuilder, before: TenetObject, after: TenetObject): Promise<void>;
  /** `deleting`: refKeys deleted by the same write; `marked`: guard keys this write marked and their revision. */
  deleteEffects?(
    engine: WriteEngine,
    b: TxnBuilder,
    object: TenetObject,
    deleting: Set<string>,
    marked: Map<string, number>,
  ): Promise<void>;
  /** Effects of a status write (PUT …/status), after the server-owned fields were kept. */
  statusEffects?(engine: WriteEngine, b: TxnBuilder, before: TenetObject, after: TenetObject): Promise<void>;
  /** Rules across objects, once per write that names this kind; `written`: objects of it created or changed. */
  check?(engine: WriteEngine, b: TxnBuilder, changes: DesiredChange[], written: ObjectRef[]): Promise<void>;
}

export type StrategyTable = Partial<Record<KindName, KindStrategy>>;

const MAX_ATTEMPTS = 200;
/** A deletion mark older than this is from a controller that died mid-delete; it no longer blocks anything. */
const STALE_MARK_MS = 30_000;

type GuardState = 'missing' | 'live' | 'deleting';

function guardState(kv: KeyValue | undefined): GuardState {
  if (!kv) return 'missing';
  if (kv.value.startsWith('deleting:')) {
    const since = Number(kv.value.slice('deleting:'.length));
    if (Number.isFinite(since) && Date.now() - since < STALE_MARK_MS) return 'deleting';
  }
  return 'live';
}

/** The value of a parent's guard key while it is not being deleted. */
export const GUARD_LIVE = 'live';

export class WriteEngine {
  /** [limits] per-tenant object quotas, set by installLimits (src/controller/limits/install.ts); none when unset. */
  quotas: QuotaLedger | undefined;
  /** The cluster DNS domain services' `status.dnsName` is under (the controller's --cluster-domain). */
  clusterDomain = DEFAULT_CLUSTER_DOMAIN;

  constructor(
    readonly store: Store,
    readonly index: StateIndex,
    private readonly strategies: StrategyTable,
  ) {}

  strategy(kind: KindName): KindStrategy {
    return this.strategies[kind] ?? {};
  }

  /** Runs one attempt function until its txn commits (or it throws a user-facing error). */
  async mutate<R>(
    build: (b: TxnBuilder) => Promise<R>,
    dryRun = false,
    audit?: { sink?: AuditSink; summary: (result: R) => string; events?: (result: R) => AuditEvent[] },
  ): Promise<{ result: R; revision: number | null }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const b = new TxnBuilder();
      let result: R;
      try {
        result = await build(b);
      } catch (error) {
        b.abandoned();
        if (error instanceof RetryAttempt) continue;
        throw error;
      }
      const ops = b.ops;
      if (dryRun || ops.length === 0) {
        b.abandoned();
        return { result, revision: null };
      }
      if (audit?.sink) ops.push(audit.sink.op(audit.summary(result), audit.events?.(result)));
      const outcome = await this.store.txn(b.compares, ops);
      if (outcome.succeeded) {
        b.committed(outcome.revision);
        if (audit?.sink) audit.sink.recorded = true;
        return { result, revision: outcome.revision };
      }
      b.failed(outcome.failed ?? []);
      if (attempt >= 3) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 2)));
    }
    throw conflict('the change kept conflicting with concurrent changes; try again');
  }

  /**
   * Writes a set of intended changes atomically, with every cross-object rule checked against
   * the state the txn commits on. Tenants and networks being deleted are first marked in their
   * guard so no child can be created under them while the deletion checks emptiness.
   */
  async write(changes: DesiredChange[], ctx: WriteContext, before?: () => Promise<DesiredChange[]>): Promise<WriteOutcome> {
    const marked = ctx.dryRun ? new Map<string, number>() : await this.markDeletions(changes);
    let committed = false;
    try {
      const { result, revision } = await this.mutate(
        async (b) => this.planWrite(b, before ? [...(await before()), ...changes] : changes, ctx, marked),
        ctx.dryRun,
        { sink: ctx.audit, summary: (r) => summarizeChanges(r.results, r.history), events: (r) => auditEvents(r.history) },
      );
      committed = revision !== null;
      return { ...result, storeRevision: revision, historyRevision: revision === null ? null : result.historyRevision };
    } finally {
      if (!committed && marked.size > 0) await this.unmark(marked);
    }
  }

  async markDeletions(changes: DesiredChange[]): Promise<Map<string, number>> {
    const guards: string[] = [];
    for (const change of changes) {
      if (change.after !== null) continue;
      const guard = this.strategy(change.ref.kind).guard?.(change.ref);
      if (guard !== undefined) guards.push(guard);
    }
    if (guards.length === 0) return new Map();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const compares = [];
      const ops = [];
      const mark = `deleting:${Date.now()}`;
      for (const key of guards) {
        const kv = await this.store.get(key);
        if (guardState(kv) === 'deleting') throw conflict(`${describeGuard(key)} is already being deleted by another request; try again`);
        compares.push({ key, modRevision: kv?.modRevision ?? 0 });
        ops.push({ type: 'put' as const, key, value: mark });
      }
      const outcome = await this.store.txn(compares, ops);
      if (outcome.succeeded) return new Map(guards.map((key) => [key, outcome.revision]));
    }
    throw conflict('the deletion kept conflicting with concurrent changes; try again');
  }

  async unmark(marked: Map<string, number>): Promise<void> {
    const compares = [...marked].map(([key, modRevision]) => ({ key, modRevision }));
    const ops = [...marked.keys()].map((key) => ({ type: 'put' as const, key, value: GUARD_LIVE }));
    try {
      const outcome = await this.store.txn(compares, ops);
      if (!outcome.succeeded) {
        // Someone else changed a guard meanwhile; restore the ones still carrying our mark one by one.
        for (const [key, modRevision] of marked) await this.store.txn([{ key, modRevision }], [{ type: 'put', key, value: GUARD_LIVE }]);
      }
    } catch {
      // The mark goes stale on its own after STALE_MARK_MS.
    }
  }

  private async planWrite(
    b: TxnBuilder,
    changes: DesiredChange[],
    ctx: WriteContext,
    marked: Map<string, number>,
  ): Promise<{ historyRevision: number | null; results: ChangeResult[]; objects: (TenetObject | null)[]; history: HistoryChange[] }> {
    const results: ChangeResult[] = [];
    const objects: (TenetObject | null)[] = [];
    const history: HistoryChange[] = [];
    const deleting = new Set(changes.filter((c) => c.after === null).map((c) => refKey(c.ref)));
    const creatingTenants = new Set<string>();
    const deletingTenants = new Set(changes.filter((c) => c.after === null && c.ref.kind === 'Tenant').map((c) => c.ref.name));
    const befores = new Map<string, { kv: KeyValue; object: TenetObject } | undefined>();
    const pacer = new Pacer(); // [limits] fairness: yield to other requests while planning a big write
    for (const change of changes) {
      await pacer.pace(); // [limits]
      const kv = await this.store.get(objectKey(change.ref.kind, change.ref.tenant, change.ref.name));
      befores.set(refKey(change.ref), kv ? { kv, object: decodeObject(kv) } : undefined);
      if (change.ref.kind === 'Tenant' && change.after && !kv) creatingTenants.add(change.ref.name);
    }
    const written: ObjectRef[] = [];
    const now = new Date().toISOString();

    for (const change of changes) {
      await pacer.pace(); // [limits]
      const { ref } = change;
      const key = objectKey(ref.kind, ref.tenant, ref.name);
      const before = befores.get(refKey(ref));
      const info = kindInfo(ref.kind)!;
      const result: ChangeResult = { kind: ref.kind, ...(ref.tenant ? { tenant: ref.tenant } : {}), name: ref.name, action: 'unchanged' };
      if (change.mustNotExist && before) throw conflict(`${refText(ref)} already exists`);
      if (change.mustExist && !before) throw notFound(`${refText(ref)} not found`);
      if (change.expectedRevision !== undefined && before && before.kv.modRevision !== change.expectedRevision) {
        throw conflict(
          `${refText(ref)} was changed since resourceVersion ${change.expectedRevision} (now ${before.kv.modRevision}); read it again and retry`,
        );
      }

      if (change.after === null) {
        if (!before) {
          results.push(result);
          objects.push(null);
          continue;
        }
        b.compare(key, before.kv.modRevision);
        b.delete(key);
        await this.strategy(ref.kind).deleteEffects?.(this, b, before.object, deleting, marked);
        result.action = 'deleted';
        if (info.intent) history.push({ ...changeRef(ref), action: 'deleted', before: withoutRevision(before.object) });
        results.push(result);
        objects.push(before.object);
        continue;
      }

      const after = change.after;
      if (before && sameIntent(before.object, after)) {
        results.push(result);
        objects.push(before.object);
        continue;
      }
      if (info.tenantScoped && !creatingTenants.has(ref.tenant)) {
        if (deletingTenants.has(ref.tenant)) throw conflict(`tenant "${ref.tenant}" is being deleted in the same request`);
        if (!before) await this.requireLive(b, 'Tenant', '', ref.tenant);
      }
      let stored: TenetObject;
      if (before) {
        stored = {
          ...before.object,
          metadata: {
            ...before.object.metadata,
            labels: after.metadata.labels,
            annotations: after.metadata.annotations,
          },
          spec: after.spec,
        } as TenetObject; // same kind as before: the path and the ref say so
        if (stored.metadata.labels === undefined) delete stored.metadata.labels;
        if (stored.metadata.annotations === undefined) delete stored.metadata.annotations;
        await this.strategy(ref.kind).updateEffects?.(this, b, before.object, stored);
        b.compare(key, before.kv.modRevision);
        result.action = 'configured';
      } else {
        stored = {
          apiVersion: API_VERSION,
          kind: ref.kind,
          metadata: { ...after.metadata, uid: randomUUID(), createdAt: now },
          spec: after.spec,
          ...(after.status !== undefined ? { status: after.status } : {}),
        } as TenetObject;
        delete stored.metadata.resourceVersion;
        await this.strategy(ref.kind).createEffects?.(this, b, stored);
        b.compare(key, 0);
        result.action = 'created';
      }
      written.push(ref);
      b.put(key, encodeObject(stored));
      b.stamp(stored);
      if (info.intent) {
        history.push({
          ...changeRef(ref),
          action: result.action === 'created' ? 'created' : 'configured',
          ...(before ? { before: withoutRevision(before.object) } : {}),
          after: withoutRevision(stored),
        });
      }
      results.push(result);
      objects.push(stored);
    }

    // In registry order (networks before policies), so a request with several problems names the same one first every time.
    // A check shared by several kinds (policies and global policies) runs once.
    this.quotas?.reserve(b, results, tenantQuotasIn(changes)); // [limits] 403 past a tenant's quota; else reserve until commit
    const named = new Set(changes.map((c) => c.ref.kind));
    const ran = new Set<KindStrategy['check']>();
    for (const info of KINDS) {
      const check = this.strategy(info.kind).check;
      if (!named.has(info.kind) || !check || ran.has(check)) continue;
      ran.add(check);
      await check(this, b, changes, written);
    }

    let historyRevision: number | null = null;
    if (history.length > 0) historyRevision = await this.recordHistory(b, history, ctx, now);
    return { historyRevision, results, objects, history };
  }

  /** Reads a parent's guard: it must exist and not be marked for deletion; its modRevision joins the txn. */
  async requireLive(
    b: TxnBuilder,
    kind: 'Tenant' | 'Network',
    tenant: string,
    name: string,
    prefetched?: Promise<KeyValue | undefined>,
  ): Promise<void> {
    const key = guardKey(kind, tenant, name);
    const kv = await (prefetched ?? this.store.get(key));
    const state = guardState(kv);
    if (state === 'missing') {
      throw notFound(
        kind === 'Tenant' ? `tenant "${name}" not found; create it first` : `network "${name}" not found in tenant "${tenant}"`,
      );
    }
    if (state === 'deleting') throw conflict(`${kind === 'Tenant' ? `tenant "${name}"` : `network "${tenant}/${name}"`} is being deleted`);
    b.compare(key, kv!.modRevision);
  }

  async recordHistory(b: TxnBuilder, changes: HistoryChange[], ctx: WriteContext, at: string): Promise<number> {
    const counter = await this.store.get(HISTORY_COUNTER_KEY);
    const revision = (counter ? Number(counter.value) : 0) + 1;
    b.compare(HISTORY_COUNTER_KEY, counter?.modRevision ?? 0);
    b.put(HISTORY_COUNTER_KEY, String(revision));
    const record: HistoryRecord = {
      revision,
      at,
      actor: ctx.actor,
      verb: ctx.verb,
      ...(ctx.message ? { message: ctx.message } : {}),
      changes,
    };
    b.put(historyKey(revision), await stringifyPaced(record)); // [limits] same text as JSON.stringify, yielding between changes
    return revision;
  }
}

function changeRef(ref: ObjectRef): { kind: KindName; tenant?: string; name: string } {
  return { kind: ref.kind, ...(ref.tenant ? { tenant: ref.tenant } : {}), name: ref.name };
}

function describeGuard(key: string): string {
  const parts = key.split('/');
  return parts[2] === 'Tenant' ? `tenant "${parts[4]}"` : `network "${parts[3]}/${parts[4]}"`;
}
