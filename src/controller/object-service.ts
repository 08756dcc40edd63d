/**
 * The controller's object logic, independent of HTTP and of which Store it runs on: CRUD with
 * optimistic concurrency, cross-object rules, IPAM and VNI allocation, history and rollback.
 *
 * Correctness never rests on this process: every rule that two writers could race on is a
 * compare in the same store txn as the write (object modRevisions, parent guards, address and
 * VNI keys created with modRevision 0, the history counter). A failed compare means another
 * writer got there first; the attempt is repeated from fresh reads, which then see that write.
 */
import { randomUUID } from 'node:crypto';
import type { KeyValue, Store, WriteOp } from '../store/store';
import {
  HISTORY_COUNTER_KEY,
  HISTORY_PREFIX,
  OBJECTS_PREFIX,
  guardKey,
  historyKey,
  ipamKey,
  ipamNetworkPrefix,
  macKey,
  networkSetKey,
  objectKey,
  objectPrefix,
  parseObjectKey,
  vniKey,
} from '../store/keys';
import { confirmCarriedVnis, forgetDeletedHost, retireTenantVni, touchHostSet } from './vni-retirement';
import type { CarriedReport } from '../core/ipam/vni-retirement';
import { KINDS, kindInfo, type KindInfo, type KindName } from '../core/model/registry';
import { refOf, refText, type ObjectRef, type TenetObject } from '../core/model/object';
import { networkOverlapProblems, validateObject } from '../core/model/validate';
import { policyReferenceProblems } from '../core/policy/validate';
import { API_VERSION } from '../core/model/common';
import { parseSelector, selectorMatches, SelectorSyntaxError, type LabelSelector } from '../core/model/selectors';
import type { Network } from '../core/model/kinds/network';
import type { EndpointSpec } from '../core/model/kinds/endpoint';
import { canonicalIp, parseIp } from '../core/net/ip';
import { describeRefusal } from '../core/ipam/subnet-pool';
import { generateMac, isMulticastMac, normalizeMac } from '../core/ipam/mac';
import { conflict, invalid, notFound, ServiceError } from './errors';
import { RetryAttempt, TxnBuilder } from './txn-builder';
import { canonicalJson, decodeObject, encodeObject, mergePatch, sameIntent, withoutRevision } from './object-codec';
import { intentAt, refKey, summarize, type HistoryChange, type HistoryRecord } from './history';
import { StateIndex } from './state-index';
import { summarizeChanges } from '../core/auth/change-summary';

export interface WriteContext {
  actor: string;
  verb: string;
  message?: string;
  dryRun?: boolean;
  audit?: AuditSink;
}

/** Where a request's audit entry goes: into the same txn as the change, so a crash can neither lose nor double it. */
export interface AuditSink {
  /** The store write recording the entry, given a summary of what changed. */
  op(summary: string): WriteOp;
  /** Set once a txn carrying the entry committed; otherwise the HTTP layer records the outcome itself. */
  recorded: boolean;
}

export interface ChangeResult {
  kind: KindName;
  tenant?: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged' | 'deleted';
}

export interface ApplyAnswer {
  revision: number | null;
  results: ChangeResult[];
}

interface DesiredChange {
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

interface WriteOutcome {
  storeRevision: number | null;
  historyRevision: number | null;
  results: ChangeResult[];
  objects: (TenetObject | null)[];
}

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

const GUARD_LIVE = 'live';

export class ObjectService {
  readonly index: StateIndex;

  constructor(readonly store: Store) {
    this.index = new StateIndex(store);
  }

  async start(): Promise<void> {
    await this.index.start();
  }

  stop(): void {
    this.index.stop();
  }

  // ---------------------------------------------------------------- reads

  async get(kind: KindName, tenant: string, name: string): Promise<TenetObject> {
    const info = kindInfo(kind)!;
    const kv = await this.store.get(objectKey(kind, info.tenantScoped ? tenant : '', name));
    if (!kv) throw notFound(`${refText({ kind, tenant: info.tenantScoped ? tenant : '', name })} not found`);
    return decodeObject(kv);
  }

  async list(kind: KindName, options: { tenant?: string; labelSelector?: string } = {}): Promise<{ items: TenetObject[]; revision: number }> {
    const info = kindInfo(kind)!;
    const selector = parseSelectorParam(options.labelSelector);
    const prefix = info.tenantScoped && options.tenant ? objectPrefix(kind, options.tenant) : objectPrefix(kind);
    const listed = await this.store.range(prefix);
    const items: TenetObject[] = [];
    for (const kv of listed.items) {
      const object = decodeObject(kv);
      if (!selector || selectorMatches(selector, object.metadata.labels ?? {})) items.push(object);
    }
    return { items, revision: listed.revision };
  }

  /** Objects of several kinds read at one store revision (what an agent starts its watch from). */
  async snapshot(kinds: KindName[]): Promise<{ revision: number; items: TenetObject[] }> {
    const wanted = new Set(kinds);
    const prefix = kinds.length === 1 ? objectPrefix(kinds[0]) : OBJECTS_PREFIX;
    const listed = await this.store.range(prefix);
    const items: TenetObject[] = [];
    for (const kv of listed.items) {
      const ref = parseObjectKey(kv.key);
      if (ref && wanted.has(ref.kind)) items.push(decodeObject(kv));
    }
    // Dependencies first, like apply: tenants before networks before endpoints.
    const order = new Map(KINDS.map((k, i) => [k.kind, i]));
    items.sort((a, b) => order.get(a.kind)! - order.get(b.kind)!);
    return { revision: listed.revision, items };
  }

  async history(): Promise<ReturnType<typeof summarize>[]> {
    return (await this.historyRecords()).map(summarize);
  }

  private async historyRecords(): Promise<HistoryRecord[]> {
    const listed = await this.store.range(HISTORY_PREFIX);
    return listed.items.map((kv) => JSON.parse(kv.value) as HistoryRecord);
  }

  // ---------------------------------------------------------------- writes

  async create(kind: KindName, pathTenant: string | undefined, body: unknown, ctx: WriteContext): Promise<TenetObject> {
    const object = this.prepare(kind, pathTenant, undefined, body, 'create');
    if (kind === 'Endpoint') return this.createEndpoint(object, ctx);
    const outcome = await this.write([{ ref: refOf(object), after: object, mustNotExist: true }], ctx);
    return outcome.objects[0]!;
  }

  async replace(kind: KindName, pathTenant: string | undefined, name: string, body: unknown, ctx: WriteContext): Promise<TenetObject> {
    const object = this.prepare(kind, pathTenant, name, body, 'replace');
    const expected = revisionOf(object);
    const outcome = await this.write([{ ref: refOf(object), after: object, mustExist: true, expectedRevision: expected }], ctx);
    return outcome.objects[0]!;
  }

  async patch(kind: KindName, pathTenant: string | undefined, name: string, patch: unknown, ctx: WriteContext): Promise<TenetObject> {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw invalid('a merge patch must be a JSON object');
    const current = await this.get(kind, pathTenant ?? '', name);
    const liveRevision = Number(current.metadata.resourceVersion);
    const merged = mergePatch(current, patch) as Record<string, unknown>;
    // Only a resourceVersion the patch itself names is a precondition; the one merged from the live object is not.
    // (The live object was read just now, so the patch applies to exactly that version.)
    const patchMeta = (patch as { metadata?: { resourceVersion?: unknown } }).metadata;
    if (merged.metadata !== null && typeof merged.metadata === 'object') {
      const meta = { ...(merged.metadata as Record<string, unknown>) };
      if (patchMeta?.resourceVersion === undefined || patchMeta.resourceVersion === null) delete meta.resourceVersion;
      merged.metadata = meta;
    }
    const object = this.prepare(kind, pathTenant, name, merged, 'replace');
    const expected = revisionOf(object) ?? liveRevision;
    const outcome = await this.write([{ ref: refOf(object), after: object, mustExist: true, expectedRevision: expected }], ctx);
    return outcome.objects[0]!;
  }

  async replaceStatus(kind: KindName, pathTenant: string | undefined, name: string, body: unknown, ctx: WriteContext): Promise<TenetObject> {
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !('status' in body)) {
      throw invalid('the body must be {"status": {...}}');
    }
    const info = kindInfo(kind)!;
    const tenant = info.tenantScoped ? (pathTenant ?? '') : '';
    const key = objectKey(kind, tenant, name);
    const status = (body as { status: unknown }).status;
    const { result } = await this.mutate(async (b) => {
      const kv = await this.store.get(key);
      if (!kv) throw notFound(`${refText({ kind, tenant, name })} not found`);
      const current = decodeObject(kv);
      const next: TenetObject = { ...current, status: status as Record<string, unknown> };
      const checked = validateObject(withoutRevision(next));
      const problems = checked.problems.filter((p) => p.startsWith('status'));
      if (!checked.ok && problems.length > 0) throw invalid(`invalid status for ${refText(refOf(current))}`, problems);
      keepServerStatus(current, next);
      if (kind === 'Host') await confirmCarriedVnis(this.store, b, name, next.status as CarriedReport);
      b.compare(key, kv.modRevision);
      b.put(key, encodeObject(next));
      b.stamp(next);
      return next;
    }, false, { sink: ctx.audit, summary: () => `status of ${refText({ kind, tenant, name })}` });
    return result;
  }

  async delete(kind: KindName, pathTenant: string | undefined, name: string, options: { cascade?: boolean }, ctx: WriteContext): Promise<TenetObject> {
    const info = kindInfo(kind)!;
    const tenant = info.tenantScoped ? (pathTenant ?? '') : '';
    const ref: ObjectRef = { kind, tenant, name };
    const kv = await this.store.get(objectKey(kind, tenant, name));
    if (!kv) throw notFound(`${refText(ref)} not found`);
    const deleted = decodeObject(kv);
    // A cascade lists the tenant's objects inside each attempt, after the tenant is marked as being
    // deleted, so nothing created meanwhile can be missed.
    const children =
      kind === 'Tenant' && options.cascade
        ? async () => {
            const found: DesiredChange[] = [];
            for (const k of KINDS.filter((k) => k.tenantScoped).reverse()) {
              for (const item of (await this.store.range(objectPrefix(k.kind, name))).items) {
                const child = parseObjectKey(item.key);
                if (child) found.push({ ref: child, after: null });
              }
            }
            return found;
          }
        : undefined;
    await this.write([{ ref, after: null, mustExist: true }], { ...ctx, verb: options.cascade ? 'delete-cascade' : ctx.verb }, children);
    return deleted;
  }

  /** Creates or updates every object in one transaction (validated all first). */
  async apply(body: unknown, ctx: WriteContext): Promise<ApplyAnswer> {
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { objects?: unknown }).objects)) {
      throw invalid('the body must be {"objects": [...], "dryRun"?: boolean, "message"?: string}');
    }
    const input = body as { objects: unknown[]; dryRun?: unknown; message?: unknown };
    if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') throw invalid('dryRun must be a boolean');
    if (input.message !== undefined && input.message !== null && typeof input.message !== 'string') throw invalid('message must be a string');
    if (input.objects.length === 0) throw invalid('objects: nothing to apply (the list is empty)');
    if (input.objects.length > 10_000) throw invalid('at most 10,000 objects per apply');
    const problems: string[] = [];
    const objects: TenetObject[] = [];
    const seen = new Set<string>();
    input.objects.forEach((raw, index) => {
      const label = describeRaw(raw, index);
      try {
        const info = kindInfoOf(raw);
        if (info && !info.intent && info.kind === 'Endpoint') {
          problems.push(`${label}: Endpoint is a runtime kind; create endpoints with POST (they need address allocation)`);
          return;
        }
        const object = this.prepare(info?.kind, undefined, undefined, raw, 'create');
        const key = refKey(refOf(object));
        if (seen.has(key)) problems.push(`${label}: appears more than once`);
        seen.add(key);
        objects.push(object);
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        if (error.details.length === 0) problems.push(`${label}: ${error.message}`);
        for (const detail of error.details) problems.push(`${label}: ${detail}`);
      }
    });
    if (problems.length > 0) throw invalid(`apply refused: ${problems.length} problem(s); nothing was changed`, problems);
    const order = new Map(KINDS.map((k, i) => [k.kind, i]));
    objects.sort((a, b) => order.get(a.kind)! - order.get(b.kind)!);
    const outcome = await this.write(
      objects.map((o) => ({ ref: refOf(o), after: o })),
      { ...ctx, verb: 'apply', message: typeof input.message === 'string' ? input.message : undefined, dryRun: input.dryRun === true },
    );
    return { revision: outcome.historyRevision, results: outcome.results };
  }

  /** Restores all intent as it was right after history revision `target`, as one new history revision. */
  async rollback(body: unknown, ctx: WriteContext): Promise<ApplyAnswer> {
    const target = (body as { revision?: unknown } | null)?.revision;
    if (typeof target !== 'number' || !Number.isInteger(target) || target < 0) throw invalid('the body must be {"revision": N} with N a history revision');
    const records = await this.historyRecords();
    const latest = records.length > 0 ? records[records.length - 1].revision : 0;
    if (target > latest || (target > 0 && !records.some((r) => r.revision === target))) {
      throw notFound(`history revision ${target} does not exist (latest is ${latest})`);
    }
    const current = new Map<string, TenetObject>();
    for (const info of KINDS.filter((k) => k.intent)) {
      for (const kv of (await this.store.range(objectPrefix(info.kind))).items) {
        const object = withoutRevision(decodeObject(kv));
        current.set(refKey(refOf(object)), object);
      }
    }
    const wanted = intentAt(current, records, target);
    const order = new Map(KINDS.map((k, i) => [k.kind, i]));
    const changes: DesiredChange[] = [];
    const upserts = [...wanted.values()].sort((a, b) => order.get(a.kind)! - order.get(b.kind)!);
    for (const object of upserts) {
      const now = current.get(refKey(refOf(object)));
      if (!now || !sameIntent(now, object)) changes.push({ ref: refOf(object), after: stripServerFields(object) });
    }
    const removals = [...current.values()].filter((o) => !wanted.has(refKey(refOf(o)))).sort((a, b) => order.get(b.kind)! - order.get(a.kind)!);
    for (const object of removals) changes.push({ ref: refOf(object), after: null });
    const outcome = await this.write(changes, { ...ctx, verb: 'rollback', message: ctx.message ?? `rollback to revision ${target}` });
    return { revision: outcome.historyRevision, results: outcome.results.filter((r) => r.action !== 'unchanged') };
  }

  // ---------------------------------------------------------------- preparation

  /**
   * Turns a request body into a validated object: the path decides kind, tenant and name, the
   * server decides uid/createdAt/resourceVersion (a client resourceVersion is kept as a precondition).
   */
  private prepare(kind: KindName | undefined, pathTenant: string | undefined, pathName: string | undefined, body: unknown, mode: 'create' | 'replace'): TenetObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw invalid('the body must be a JSON object with apiVersion, kind, metadata and spec', ['object: must be a JSON object']);
    }
    const raw = { ...(body as Record<string, unknown>) };
    const problems: string[] = [];
    // Required, as the OpenAPI document says: a body without them is not an object of this API
    // (every client in src/ sends both), and filling them in would accept what the schema refuses.
    if (raw.apiVersion === undefined) problems.push(`apiVersion: required ("${API_VERSION}")`);
    if (kind !== undefined) {
      if (raw.kind === undefined) problems.push(`kind: required ("${kind}" on this path)`);
      else if (raw.kind !== kind) problems.push(`kind: must be "${kind}" on this path (got ${JSON.stringify(raw.kind)})`);
    }
    const info = typeof raw.kind === 'string' ? kindInfo(raw.kind) : undefined;
    if (raw.metadata !== null && typeof raw.metadata === 'object' && !Array.isArray(raw.metadata)) {
      const meta = { ...(raw.metadata as Record<string, unknown>) };
      if (info?.tenantScoped && pathTenant !== undefined) {
        if (meta.tenant === undefined) meta.tenant = pathTenant;
        else if (meta.tenant !== pathTenant) problems.push(`metadata.tenant: "${String(meta.tenant)}" does not match the tenant "${pathTenant}" of the path`);
      }
      if (pathName !== undefined) {
        if (meta.name === undefined) meta.name = pathName;
        else if (meta.name !== pathName) problems.push(`metadata.name: "${String(meta.name)}" does not match the name "${pathName}" of the path`);
      }
      if (mode === 'create') delete meta.resourceVersion;
      delete meta.uid;
      delete meta.createdAt;
      raw.metadata = meta;
    }
    if (problems.length > 0) throw invalid(`invalid ${info?.kind ?? 'object'}`, problems);
    const checked = validateObject(raw);
    if (!checked.ok) throw invalid(`invalid ${describeRaw(raw)}`, checked.problems);
    const object = raw as unknown as TenetObject;
    const rv = object.metadata.resourceVersion;
    if (rv !== undefined && !/^[0-9]{1,15}$/.test(rv)) throw invalid('metadata.resourceVersion: must be a revision number', ['metadata.resourceVersion: must be a revision number']);
    if (object.kind === 'Endpoint') {
      const spec = object.spec as EndpointSpec;
      if (spec.ips) spec.ips = spec.ips.map((ip) => canonicalIp(ip) ?? ip);
      if (spec.mac) {
        spec.mac = normalizeMac(spec.mac);
        if (isMulticastMac(spec.mac)) throw invalid('invalid Endpoint', [`spec.mac: ${spec.mac} is a multicast address; use a unicast MAC`]);
      }
    }
    return object;
  }

  // ---------------------------------------------------------------- the write engine

  /** Runs one attempt function until its txn commits (or it throws a user-facing error). */
  private async mutate<R>(
    build: (b: TxnBuilder) => Promise<R>,
    dryRun = false,
    audit?: { sink?: AuditSink; summary: (result: R) => string },
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
      if (audit?.sink) ops.push(audit.sink.op(audit.summary(result)));
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
  private async write(changes: DesiredChange[], ctx: WriteContext, before?: () => Promise<DesiredChange[]>): Promise<WriteOutcome> {
    const marked = ctx.dryRun ? new Map<string, number>() : await this.markDeletions(changes);
    let committed = false;
    try {
      const { result, revision } = await this.mutate(
        async (b) => this.planWrite(b, before ? [...(await before()), ...changes] : changes, ctx, marked),
        ctx.dryRun,
        { sink: ctx.audit, summary: (r) => summarizeChanges(r.results, r.history) },
      );
      committed = revision !== null;
      return { ...result, storeRevision: revision, historyRevision: revision === null ? null : result.historyRevision };
    } finally {
      if (!committed && marked.size > 0) await this.unmark(marked);
    }
  }

  private async markDeletions(changes: DesiredChange[]): Promise<Map<string, number>> {
    const guards: string[] = [];
    for (const change of changes) {
      if (change.after !== null) continue;
      if (change.ref.kind === 'Tenant') guards.push(guardKey('Tenant', '', change.ref.name));
      if (change.ref.kind === 'Network') guards.push(guardKey('Network', change.ref.tenant, change.ref.name));
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

  private async unmark(marked: Map<string, number>): Promise<void> {
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
    for (const change of changes) {
      const kv = await this.store.get(objectKey(change.ref.kind, change.ref.tenant, change.ref.name));
      befores.set(refKey(change.ref), kv ? { kv, object: decodeObject(kv) } : undefined);
      if (change.ref.kind === 'Tenant' && change.after && !kv) creatingTenants.add(change.ref.name);
    }
    const networkTenants = new Set<string>();
    const now = new Date().toISOString();

    for (const change of changes) {
      const { ref } = change;
      const key = objectKey(ref.kind, ref.tenant, ref.name);
      const before = befores.get(refKey(ref));
      const info = kindInfo(ref.kind)!;
      const result: ChangeResult = { kind: ref.kind, ...(ref.tenant ? { tenant: ref.tenant } : {}), name: ref.name, action: 'unchanged' };
      if (change.mustNotExist && before) throw conflict(`${refText(ref)} already exists`);
      if (change.mustExist && !before) throw notFound(`${refText(ref)} not found`);
      if (change.expectedRevision !== undefined && before && before.kv.modRevision !== change.expectedRevision) {
        throw conflict(`${refText(ref)} was changed since resourceVersion ${change.expectedRevision} (now ${before.kv.modRevision}); read it again and retry`);
      }

      if (change.after === null) {
        if (!before) {
          results.push(result);
          objects.push(null);
          continue;
        }
        b.compare(key, before.kv.modRevision);
        b.delete(key);
        await this.deleteEffects(b, before.object, deleting, marked);
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
        };
        if (stored.metadata.labels === undefined) delete stored.metadata.labels;
        if (stored.metadata.annotations === undefined) delete stored.metadata.annotations;
        await this.updateEffects(b, before.object, stored);
        b.compare(key, before.kv.modRevision);
        result.action = 'configured';
      } else {
        stored = {
          apiVersion: API_VERSION,
          kind: ref.kind,
          metadata: { ...after.metadata, uid: randomUUID(), createdAt: now },
          spec: after.spec,
          ...(after.status !== undefined ? { status: after.status } : {}),
        };
        delete stored.metadata.resourceVersion;
        await this.createEffects(b, stored);
        b.compare(key, 0);
        result.action = 'created';
      }
      if (ref.kind === 'Network') networkTenants.add(ref.tenant);
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

    for (const tenant of networkTenants) await this.checkNetworkOverlaps(b, tenant, changes);
    await this.checkPolicyReferences(changes);

    let historyRevision: number | null = null;
    if (history.length > 0) historyRevision = await this.recordHistory(b, history, ctx, now);
    return { historyRevision, results, objects, history };
  }

  /** Reads a parent's guard: it must exist and not be marked for deletion; its modRevision joins the txn. */
  private async requireLive(b: TxnBuilder, kind: 'Tenant' | 'Network', tenant: string, name: string, prefetched?: Promise<KeyValue | undefined>): Promise<void> {
    const key = guardKey(kind, tenant, name);
    const kv = await (prefetched ?? this.store.get(key));
    const state = guardState(kv);
    if (state === 'missing') {
      throw notFound(kind === 'Tenant' ? `tenant "${name}" not found; create it first` : `network "${name}" not found in tenant "${tenant}"`);
    }
    if (state === 'deleting') throw conflict(`${kind === 'Tenant' ? `tenant "${name}"` : `network "${tenant}/${name}"`} is being deleted`);
    b.compare(key, kv!.modRevision);
  }

  private async createEffects(b: TxnBuilder, object: TenetObject): Promise<void> {
    const tenant = object.metadata.tenant ?? '';
    switch (object.kind) {
      case 'Tenant': {
        const vni = this.index.vnis.allocate();
        if (vni === undefined) throw conflict('no VXLAN network identifier is free for a new tenant');
        const key = vniKey(vni);
        b.propose(key, () => this.index.vnis.release(vni));
        b.compare(key, 0);
        b.put(key, object.metadata.name);
        object.status = { vni };
        const guard = guardKey('Tenant', '', object.metadata.name);
        b.compare(guard, 0);
        b.put(guard, GUARD_LIVE);
        break;
      }
      case 'Network': {
        const guard = guardKey('Network', tenant, object.metadata.name);
        b.compare(guard, 0);
        b.put(guard, GUARD_LIVE);
        object.status = { gateways: this.index.pool(object as unknown as Network).subnets.map((s) => s.gatewayText()) };
        break;
      }
      case 'Host':
        await touchHostSet(this.store, b);
        break;
      case 'Endpoint':
        throw invalid('endpoints are created through POST on their collection');
      default:
        break;
    }
  }

  private async updateEffects(b: TxnBuilder, before: TenetObject, after: TenetObject): Promise<void> {
    const tenant = before.metadata.tenant ?? '';
    if (before.kind === 'Endpoint') {
      const a = before.spec as EndpointSpec;
      const z = after.spec as EndpointSpec;
      const problems: string[] = [];
      if (a.network !== z.network) problems.push('spec.network: cannot change; delete the endpoint and create it again');
      if (canonicalJson(a.ips ?? []) !== canonicalJson(z.ips ?? [])) problems.push('spec.ips: cannot change after creation');
      if ((a.mac ?? '') !== (z.mac ?? '')) problems.push('spec.mac: cannot change after creation');
      if (problems.length > 0) throw invalid(`invalid update of ${refText(refOf(before))}`, problems);
    }
    if (before.kind === 'Network') {
      const plan = (n: TenetObject) => canonicalJson((n as unknown as Network).spec.subnets.map((s) => [s.cidr, s.gateway ?? '']));
      if (plan(before) !== plan(after)) {
        const inUse = await this.store.range(ipamNetworkPrefix(tenant, before.metadata.name), { limit: 1 });
        if (inUse.items.length > 0) {
          throw conflict(`network "${tenant}/${before.metadata.name}" has endpoints; its subnets and gateways cannot change until they are deleted`);
        }
      }
      after.status = { ...(after.status ?? {}), gateways: this.index.pool(after as unknown as Network).subnets.map((s) => s.gatewayText()) };
    }
  }

  private async deleteEffects(b: TxnBuilder, object: TenetObject, deleting: Set<string>, marked: Map<string, number>): Promise<void> {
    const tenant = object.metadata.tenant ?? '';
    const name = object.metadata.name;
    switch (object.kind) {
      case 'Endpoint': {
        const status = (object.status ?? {}) as { ipv4?: string; ipv6?: string; mac?: string };
        const network = (object.spec as EndpointSpec).network;
        for (const ip of [status.ipv4, status.ipv6]) if (ip) b.delete(ipamKey(tenant, network, ip));
        if (status.mac) b.delete(macKey(tenant, network, status.mac));
        break;
      }
      case 'Network': {
        const guard = guardKey('Network', tenant, name);
        b.compare(guard, marked.get(guard) ?? (await this.store.get(guard))?.modRevision ?? 0);
        b.delete(guard);
        const allocations = await this.store.range(ipamNetworkPrefix(tenant, name));
        const remaining = new Set<string>();
        for (const kv of allocations.items) {
          if (!deleting.has(refKey({ kind: 'Endpoint', tenant, name: kv.value }))) remaining.add(kv.value);
        }
        if (remaining.size > 0) {
          const names = [...remaining].slice(0, 5).join(', ');
          throw conflict(`network "${tenant}/${name}" still has ${remaining.size} endpoint(s) (${names}${remaining.size > 5 ? ', ...' : ''}); delete them first`);
        }
        break;
      }
      case 'Tenant': {
        const guard = guardKey('Tenant', '', name);
        b.compare(guard, marked.get(guard) ?? (await this.store.get(guard))?.modRevision ?? 0);
        b.delete(guard);
        b.delete(networkSetKey(name));
        // The VNI stays taken until every host confirms it dropped the tenant (vni-retirement.ts).
        await retireTenantVni(this.store, b, object);
        const left: string[] = [];
        for (const info of KINDS.filter((k) => k.tenantScoped)) {
          const items = (await this.store.range(objectPrefix(info.kind, name))).items.filter((kv) => {
            const ref = parseObjectKey(kv.key);
            return ref !== undefined && !deleting.has(refKey(ref));
          });
          if (items.length > 0) left.push(`${items.length} ${items.length === 1 ? info.kind : info.plural}`);
        }
        if (left.length > 0) {
          throw conflict(`tenant "${name}" is not empty: it still has ${left.join(', ')}; delete them first or use ?cascade=true`);
        }
        break;
      }
      case 'Host':
        await forgetDeletedHost(this.store, b, name);
        break;
      default:
        break;
    }
  }

  /** Policies may only name groups, networks and tenants that exist (or are created in the same request). */
  private async checkPolicyReferences(changes: DesiredChange[]): Promise<void> {
    const policies = changes.filter((c) => c.after !== null && (c.ref.kind === 'Policy' || c.ref.kind === 'GlobalPolicy'));
    if (policies.length === 0) return;
    const inRequest = new Map(changes.map((c) => [refKey(c.ref), c.after !== null]));
    const exists = async (kind: KindName, tenant: string, name: string): Promise<boolean> => {
      const pending = inRequest.get(refKey({ kind, tenant, name }));
      if (pending !== undefined) return pending;
      return (await this.store.get(objectKey(kind, tenant, name))) !== undefined;
    };
    const problems: string[] = [];
    for (const change of policies) {
      const wanted: Array<{ kind: KindName; tenant: string; name: string }> = [];
      policyReferenceProblems(change.after as unknown as Parameters<typeof policyReferenceProblems>[0], {
        group: (tenant, name) => (wanted.push({ kind: 'Group', tenant, name }), true),
        network: (tenant, name) => (wanted.push({ kind: 'Network', tenant, name }), true),
        tenant: (name) => (wanted.push({ kind: 'Tenant', tenant: '', name }), true),
      });
      const known = new Set<string>();
      for (const w of wanted) if (await exists(w.kind, w.tenant, w.name)) known.add(`${w.kind}/${w.tenant}/${w.name}`);
      const found = policyReferenceProblems(change.after as unknown as Parameters<typeof policyReferenceProblems>[0], {
        group: (tenant, name) => known.has(`Group/${tenant}/${name}`),
        network: (tenant, name) => known.has(`Network/${tenant}/${name}`),
        tenant: (name) => known.has(`Tenant//${name}`),
      });
      for (const problem of found) problems.push(`${refText(change.ref)}: ${problem}`);
    }
    if (problems.length > 0) throw invalid('policy refers to objects that do not exist', problems);
  }

  private async checkNetworkOverlaps(b: TxnBuilder, tenant: string, changes: DesiredChange[]): Promise<void> {
    const setKey = networkSetKey(tenant);
    const setKv = await this.store.get(setKey);
    b.compare(setKey, setKv?.modRevision ?? 0);
    b.put(setKey, String(Date.now()));
    const final = new Map<string, Network>();
    for (const kv of (await this.store.range(objectPrefix('Network', tenant))).items) {
      const network = decodeObject(kv) as unknown as Network;
      final.set(network.metadata.name, network);
    }
    const touched: Network[] = [];
    for (const change of changes) {
      if (change.ref.kind !== 'Network' || change.ref.tenant !== tenant) continue;
      if (change.after === null) final.delete(change.ref.name);
      else {
        final.set(change.ref.name, change.after as unknown as Network);
        touched.push(change.after as unknown as Network);
      }
    }
    const problems: string[] = [];
    for (const network of touched) {
      const others = [...final.values()].filter((n) => n.metadata.name !== network.metadata.name);
      for (const problem of networkOverlapProblems(network, others)) problems.push(`network "${network.metadata.name}": ${problem}`);
    }
    // Overlap is a property of the input (the issue lists it with other bad input), not a race: 400, like a gateway outside its subnet.
    if (problems.length > 0) {
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more overlap(s))` : '';
      throw invalid(`subnets overlap other networks of tenant "${tenant}": ${problems[0]}${more}`, problems);
    }
  }

  private async recordHistory(b: TxnBuilder, changes: HistoryChange[], ctx: WriteContext, at: string): Promise<number> {
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
    b.put(historyKey(revision), JSON.stringify(record));
    return revision;
  }

  // ---------------------------------------------------------------- endpoints

  /** Networks are read on every endpoint create; parse each version once. */
  private readonly networkCache = new Map<string, { modRevision: number; network: Network }>();

  private decodeNetwork(kv: KeyValue): Network {
    const cached = this.networkCache.get(kv.key);
    if (cached && cached.modRevision === kv.modRevision) return cached.network;
    const network = decodeObject(kv) as unknown as Network;
    if (this.networkCache.size > 10_000) this.networkCache.clear();
    this.networkCache.set(kv.key, { modRevision: kv.modRevision, network });
    return network;
  }

  /** Creates an endpoint and allocates its addresses and MAC in the same txn. */
  private async createEndpoint(object: TenetObject, ctx: WriteContext): Promise<TenetObject> {
    const tenant = object.metadata.tenant ?? '';
    const name = object.metadata.name;
    const spec = object.spec as EndpointSpec;
    const key = objectKey('Endpoint', tenant, name);
    let macAttempt = 0;
    const { result } = await this.mutate(async (b) => {
      // These reads do not depend on each other: issued together they share one round trip on etcd.
      const reads = [key, objectKey('Network', tenant, spec.network), guardKey('Tenant', '', tenant), guardKey('Network', tenant, spec.network)].map((k) =>
        this.store.get(k),
      );
      for (const read of reads) read.catch(() => undefined);
      const [existingRead, networkRead, tenantGuard, networkGuard] = reads;
      const existing = await existingRead;
      if (existing) throw conflict(`${refText(refOf(object))} already exists`);
      b.compare(key, 0);
      const networkKv = await networkRead;
      if (!networkKv) {
        const tenantKv = await this.store.get(objectKey('Tenant', '', tenant));
        if (!tenantKv) throw notFound(`tenant "${tenant}" not found; create it first`);
        throw notFound(`network "${spec.network}" not found in tenant "${tenant}"`);
      }
      await this.requireLive(b, 'Tenant', '', tenant, tenantGuard);
      await this.requireLive(b, 'Network', tenant, spec.network, networkGuard);
      const network = this.decodeNetwork(networkKv);
      const pool = this.index.pool(network);
      const status: Record<string, unknown> = { ...(object.status ?? {}) };
      delete status.ipv4;
      delete status.ipv6;
      delete status.mac;
      const requested = new Map<number, string>();
      for (const [index, ip] of (spec.ips ?? []).entries()) {
        const address = parseIp(ip)!;
        const subnet = pool.subnetOfFamily(address.family);
        if (!subnet || !subnet.contains(ip)) {
          throw invalid(`invalid Endpoint`, [`spec.ips[${index}]: ${ip} is not inside any subnet of network "${spec.network}"`]);
        }
        const refusal = subnet.refusal(ip);
        if (refusal && refusal !== 'taken') throw conflict(`requested address refused: ${describeRefusal(ip, subnet.text, refusal)}`);
        const ipKey = ipamKey(tenant, spec.network, ip);
        const holder = await this.store.get(ipKey);
        if (holder) throw conflict(`requested address refused: ${ip} is already used by endpoint "${holder.value}" in network "${spec.network}"`);
        b.compare(ipKey, 0);
        b.put(ipKey, name);
        requested.set(address.family, ip);
      }
      for (const subnet of pool.subnets) {
        let ip = requested.get(subnet.family);
        if (ip === undefined) {
          ip = subnet.allocate();
          if (ip === undefined) {
            throw conflict(`network "${tenant}/${spec.network}" has no free IPv${subnet.family} address (${subnet.text}: ${subnet.usedCount} of ${subnet.capacity} in use)`);
          }
          const proposed = ip;
          const ipKey = ipamKey(tenant, spec.network, ip);
          b.propose(ipKey, () => subnet.release(proposed));
          b.compare(ipKey, 0);
          b.put(ipKey, name);
        }
        status[subnet.family === 4 ? 'ipv4' : 'ipv6'] = ip;
      }
      let mac: string;
      if (spec.mac) {
        mac = spec.mac;
        const holder = await this.store.get(macKey(tenant, spec.network, mac));
        if (holder) throw conflict(`requested MAC ${mac} is already used by endpoint "${holder.value}" in network "${spec.network}"`);
      } else {
        mac = generateMac(`${tenant}/${spec.network}/${name}`, macAttempt);
        // A (rare) clash of a generated MAC fails its compare; the retry uses the next attempt number.
        b.propose(macKey(tenant, spec.network, mac), () => undefined, () => macAttempt++);
      }
      const macStoreKey = macKey(tenant, spec.network, mac);
      b.compare(macStoreKey, 0);
      b.put(macStoreKey, name);
      status.mac = mac;
      if (status.phase === undefined) status.phase = 'pending';
      const stored: TenetObject = {
        apiVersion: API_VERSION,
        kind: 'Endpoint',
        metadata: { ...object.metadata, uid: randomUUID(), createdAt: new Date().toISOString() },
        spec: object.spec,
        status,
      };
      delete stored.metadata.resourceVersion;
      b.put(key, encodeObject(stored));
      b.stamp(stored);
      return stored;
    }, false, { sink: ctx.audit, summary: (r) => summarizeChanges([{ kind: 'Endpoint', tenant, name, action: 'created' }], [], r.status) });
    return result;
  }
}

function changeRef(ref: ObjectRef): { kind: KindName; tenant?: string; name: string } {
  return { kind: ref.kind, ...(ref.tenant ? { tenant: ref.tenant } : {}), name: ref.name };
}

function revisionOf(object: TenetObject): number | undefined {
  const rv = object.metadata.resourceVersion;
  return rv === undefined ? undefined : Number(rv);
}

/** Server-managed status fields survive any client write of the status. */
function keepServerStatus(current: TenetObject, next: TenetObject): void {
  const status = { ...(next.status ?? {}) };
  const old = current.status ?? {};
  const keep = current.kind === 'Tenant' ? ['vni'] : current.kind === 'Endpoint' ? ['ipv4', 'ipv6', 'mac'] : current.kind === 'Network' ? ['gateways'] : [];
  for (const field of keep) {
    if (old[field] === undefined) delete status[field];
    else status[field] = old[field];
  }
  next.status = status;
}

function stripServerFields(object: TenetObject): TenetObject {
  const { uid: _u, createdAt: _c, resourceVersion: _r, ...metadata } = object.metadata;
  const copy: TenetObject = { apiVersion: object.apiVersion, kind: object.kind, metadata, spec: object.spec };
  return copy;
}

function parseSelectorParam(text: string | undefined): LabelSelector | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw invalid(`labelSelector: ${error.message}`, [`labelSelector: ${error.message}`]);
    throw error;
  }
}

function kindInfoOf(raw: unknown): KindInfo | undefined {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' ? kindInfo(kind) : undefined;
}

function describeRaw(raw: unknown, index?: number): string {
  const prefix = index === undefined ? '' : `objects[${index}]`;
  if (raw === null || typeof raw !== 'object') return prefix || 'object';
  const kind = typeof (raw as { kind?: unknown }).kind === 'string' ? String((raw as { kind: string }).kind) : 'object';
  const meta = (raw as { metadata?: { name?: unknown; tenant?: unknown } }).metadata;
  const name = typeof meta?.name === 'string' ? meta.name : '?';
  const tenant = typeof meta?.tenant === 'string' ? `${meta.tenant}/` : '';
  const what = `${kind} ${tenant}${name}`;
  return prefix ? `${prefix} (${what})` : what;
}

function describeGuard(key: string): string {
  const parts = key.split('/');
  return parts[2] === 'Tenant' ? `tenant "${parts[4]}"` : `network "${parts[3]}/${parts[4]}"`;
}
