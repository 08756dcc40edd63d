/**
 * The controller's object API, independent of HTTP and of which Store it runs on: reads, and the
 * requests that write (create, replace, patch, status, delete, apply, rollback) turned into sets
 * of desired changes for the write engine (write-engine.ts), whose per-kind rules live in kinds/.
 */
import { assertClusterDomain } from '../core/dns/records';
import type { Store } from '../store/store';
import { HISTORY_PREFIX, OBJECTS_PREFIX, historyKey, ipamNetworkPrefix, objectKey, objectPrefix, parseObjectKey } from '../store/keys';
import { KINDS, kindInfo, kindOrder, type KindInfo, type KindName } from '../core/model/registry';
import { refKey, refOf, refText, stripServerFields, type ObjectRef, type TenetObject } from '../core/model/object';
import { validateObject } from '../core/model/validate';
import { API_VERSION } from '../core/model/common';
import { parseSelectorParam, selectorMatches } from '../core/model/selectors';
import type { ApplyResult, HistoryEntry } from '../core/model/wire';
import { invalid, notFound, ServiceError } from './errors';
import { decodeObject, encodeObject, mergePatch, sameIntent, withoutRevision } from './object-codec';
import { intentAt, summarize, type HistoryRecord } from './history';
import { StateIndex } from './state-index';
import { WriteEngine, type DesiredChange, type WriteContext } from './write-engine';
import { STRATEGIES } from './kinds';
import { dryRunImpact, rollbackImpact } from './dry-run-impact';
import { Pacer } from './limits/pacer'; // [limits]
import type { QuotaLedger } from './limits/quota-ledger'; // [limits]

export type { AuditSink, WriteContext } from './write-engine';
export type { ChangeResult } from '../core/model/wire';
/** The answer of apply and rollback (the wire type ApplyResult). */
export type ApplyAnswer = ApplyResult;

export class ObjectService {
  readonly index: StateIndex;
  readonly engine: WriteEngine;

  /** [limits] per-tenant object quotas, set by installLimits (src/controller/limits/install.ts); none when unset. */
  set quotas(ledger: QuotaLedger | undefined) {
    this.engine.quotas = ledger;
  }
  get quotas(): QuotaLedger | undefined {
    return this.engine.quotas;
  }

  constructor(
    readonly store: Store,
    options: { clusterDomain?: string } = {},
  ) {
    this.index = new StateIndex(store);
    this.engine = new WriteEngine(store, this.index, STRATEGIES);
    if (options.clusterDomain !== undefined) this.engine.clusterDomain = assertClusterDomain(options.clusterDomain);
  }

  /** The cluster DNS domain (services' dnsName; agents learn it from /version). */
  get clusterDomain(): string {
    return this.engine.clusterDomain;
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

  /**
   * The addresses allocated in one network, whoever holds them. Clients that must propose an address
   * before Tenet allocates (Docker's IPAM asks first) need every taken one, including those of endpoints
   * they may not read (an agent sees only the endpoints of tenants it hosts).
   */
  async usedAddresses(tenant: string, network: string): Promise<{ addresses: string[]; revision: number }> {
    await this.get('Network', tenant, network);
    const prefix = ipamNetworkPrefix(tenant, network);
    const listed = await this.store.range(prefix);
    return { addresses: listed.items.map((kv) => kv.key.slice(prefix.length)), revision: listed.revision };
  }

  async list(
    kind: KindName,
    options: { tenant?: string; labelSelector?: string } = {},
  ): Promise<{ items: TenetObject[]; revision: number }> {
    const info = kindInfo(kind)!;
    const selector = parseSelectorParam(options.labelSelector, (message) => invalid(message, [message]));
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
    items.sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind));
    return { revision: listed.revision, items };
  }

  async history(): Promise<HistoryEntry[]> {
    return (await this.historyRecords()).map(summarize);
  }

  /** One history record with the objects before and after each change (what a diff of the revision needs). */
  async historyRecord(revision: number): Promise<HistoryRecord> {
    const found = await this.store.get(historyKey(revision));
    if (!found) throw notFound(`history revision ${revision} does not exist`);
    const { storeRevision, ...record } = JSON.parse(found.value) as HistoryRecord;
    void storeRevision;
    return record;
  }

  private async historyRecords(): Promise<HistoryRecord[]> {
    const listed = await this.store.range(HISTORY_PREFIX);
    return listed.items.map((kv) => JSON.parse(kv.value) as HistoryRecord);
  }

  // ---------------------------------------------------------------- writes

  async create(kind: KindName, pathTenant: string | undefined, body: unknown, ctx: WriteContext): Promise<TenetObject> {
    const object = this.prepare(kind, pathTenant, undefined, body, 'create');
    const own = this.engine.strategy(kind).create;
    if (own) return own(this.engine, object, ctx);
    const outcome = await this.engine.write([{ ref: refOf(object), after: object, mustNotExist: true }], ctx);
    return outcome.objects[0]!;
  }

  async replace(kind: KindName, pathTenant: string | undefined, name: string, body: unknown, ctx: WriteContext): Promise<TenetObject> {
    const object = this.prepare(kind, pathTenant, name, body, 'replace');
    const expected = revisionOf(object);
    const outcome = await this.engine.write([{ ref: refOf(object), after: object, mustExist: true, expectedRevision: expected }], ctx);
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
    const outcome = await this.engine.write([{ ref: refOf(object), after: object, mustExist: true, expectedRevision: expected }], ctx);
    return outcome.objects[0]!;
  }

  async replaceStatus(
    kind: KindName,
    pathTenant: string | undefined,
    name: string,
    body: unknown,
    ctx: WriteContext,
  ): Promise<TenetObject> {
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !('status' in body)) {
      throw invalid('the body must be {"status": {...}}');
    }
    const info = kindInfo(kind)!;
    const tenant = info.tenantScoped ? (pathTenant ?? '') : '';
    const key = objectKey(kind, tenant, name);
    const status = (body as { status: unknown }).status;
    const { result } = await this.engine.mutate(
      async (b) => {
        const kv = await this.store.get(key);
        if (!kv) throw notFound(`${refText({ kind, tenant, name })} not found`);
        const current = decodeObject(kv);
        const next: TenetObject = { ...current, status: status as Record<string, unknown> };
        const checked = validateObject(withoutRevision(next));
        const problems = checked.problems.filter((p) => p.startsWith('status'));
        if (!checked.ok && problems.length > 0) throw invalid(`invalid status for ${refText(refOf(current))}`, problems);
        keepServerStatus(this.engine.strategy(kind).serverStatus ?? [], current, next);
        if (!writesAgentStatus(ctx.actor)) keepServerStatus(this.engine.strategy(kind).agentStatus ?? [], current, next);
        await this.engine.strategy(kind).statusEffects?.(this.engine, b, current, next);
        b.compare(key, kv.modRevision);
        b.put(key, encodeObject(next));
        b.stamp(next);
        return next;
      },
      false,
      { sink: ctx.audit, summary: () => `status of ${refText({ kind, tenant, name })}` },
    );
    return result;
  }

  async delete(
    kind: KindName,
    pathTenant: string | undefined,
    name: string,
    options: { cascade?: boolean },
    ctx: WriteContext,
  ): Promise<TenetObject> {
    const info = kindInfo(kind)!;
    const tenant = info.tenantScoped ? (pathTenant ?? '') : '';
    const ref: ObjectRef = { kind, tenant, name };
    const kv = await this.store.get(objectKey(kind, tenant, name));
    if (!kv) throw notFound(`${refText(ref)} not found`);
    const deleted = decodeObject(kv);
    // A cascade lists the tenant's objects inside each attempt, after the tenant is marked as being
    // deleted, so nothing created meanwhile can be missed.
    const cascade = options.cascade ? this.engine.strategy(kind).cascade : undefined;
    const children = cascade ? () => cascade(this.engine, ref) : undefined;
    await this.engine.write(
      [{ ref, after: null, mustExist: true }],
      { ...ctx, verb: options.cascade ? 'delete-cascade' : ctx.verb },
      children,
    );
    return deleted;
  }

  /** Creates or updates every object in one transaction (validated all first). */
  async apply(body: unknown, ctx: WriteContext): Promise<ApplyAnswer> {
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { objects?: unknown }).objects)) {
      throw invalid('the body must be {"objects": [...], "dryRun"?: boolean, "message"?: string}');
    }
    const input = body as { objects: unknown[]; dryRun?: unknown; message?: unknown };
    if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') throw invalid('dryRun must be a boolean');
    if (input.message !== undefined && input.message !== null && typeof input.message !== 'string')
      throw invalid('message must be a string');
    if (input.objects.length === 0) throw invalid('objects: nothing to apply (the list is empty)');
    if (input.objects.length > 10_000) throw invalid('at most 10,000 objects per apply');
    const problems: string[] = [];
    const objects: TenetObject[] = [];
    const seen = new Set<string>();
    const pacer = new Pacer(); // [limits] fairness: yield to other requests during a big apply
    for (const [index, raw] of input.objects.entries()) {
      await pacer.pace(); // [limits]
      const label = describeRaw(raw, index);
      try {
        const info = kindInfoOf(raw);
        const refusal = info ? this.engine.strategy(info.kind).applyRefusal : undefined;
        if (refusal) {
          problems.push(`${label}: ${refusal}`);
          continue;
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
    }
    if (problems.length > 0) throw invalid(`apply refused: ${problems.length} problem(s); nothing was changed`, problems);
    objects.sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind));
    const dryRun = input.dryRun === true;
    const outcome = await this.engine.write(
      objects.map((o) => ({ ref: refOf(o), after: o })),
      { ...ctx, verb: 'apply', message: typeof input.message === 'string' ? input.message : undefined, dryRun },
    );
    // After the write's checks: a dry run that would be refused answers the refusal, not a preview.
    const impact = dryRun ? await dryRunImpact(this.store, objects) : undefined;
    return { revision: outcome.historyRevision, results: outcome.results, ...impact };
  }

  /** Restores all intent as it was right after history revision `target`, as one new history revision. */
  async rollback(body: unknown, ctx: WriteContext): Promise<ApplyAnswer> {
    const target = (body as { revision?: unknown } | null)?.revision;
    if (typeof target !== 'number' || !Number.isInteger(target) || target < 0)
      throw invalid('the body must be {"revision": N, "dryRun"?: boolean} with N a history revision');
    const dryRun = (body as { dryRun?: unknown }).dryRun;
    if (dryRun !== undefined && typeof dryRun !== 'boolean') throw invalid('dryRun must be a boolean');
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
    const changes: DesiredChange[] = [];
    const upserts = [...wanted.values()].sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind));
    for (const object of upserts) {
      const now = current.get(refKey(refOf(object)));
      if (!now || !sameIntent(now, object)) changes.push({ ref: refOf(object), after: stripServerFields(object) });
    }
    const removals = [...current.values()]
      .filter((o) => !wanted.has(refKey(refOf(o))))
      .sort((a, b) => kindOrder(b.kind) - kindOrder(a.kind));
    for (const object of removals) changes.push({ ref: refOf(object), after: null });
    const outcome = await this.engine.write(changes, {
      ...ctx,
      verb: 'rollback',
      message: ctx.message ?? `rollback to revision ${target}`,
      dryRun: dryRun === true,
    });
    // A dry run shows what the rollback would do to traffic too, as a dry-run apply does.
    const impact =
      dryRun === true
        ? await rollbackImpact(
            this.store,
            [...wanted.values()],
            changes.flatMap((c) => [c.after, current.get(refKey(c.ref))].filter((o): o is TenetObject => !!o)),
          )
        : undefined;
    return { revision: outcome.historyRevision, results: outcome.results.filter((r) => r.action !== 'unchanged'), ...impact };
  }

  // ---------------------------------------------------------------- preparation

  /**
   * Turns a request body into a validated object: the path decides kind, tenant and name, the
   * server decides uid/createdAt/resourceVersion (a client resourceVersion is kept as a precondition).
   */
  private prepare(
    kind: KindName | undefined,
    pathTenant: string | undefined,
    pathName: string | undefined,
    body: unknown,
    mode: 'create' | 'replace',
  ): TenetObject {
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
        else if (meta.tenant !== pathTenant)
          problems.push(`metadata.tenant: "${String(meta.tenant)}" does not match the tenant "${pathTenant}" of the path`);
      }
      if (pathName !== undefined) {
        if (meta.name === undefined) meta.name = pathName;
        else if (meta.name !== pathName)
          problems.push(`metadata.name: "${String(meta.name)}" does not match the name "${pathName}" of the path`);
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
    if (rv !== undefined && !/^[0-9]{1,15}$/.test(rv))
      throw invalid('metadata.resourceVersion: must be a revision number', ['metadata.resourceVersion: must be a revision number']);
    this.engine.strategy(object.kind).normalize?.(object);
    return object;
  }
}

function revisionOf(object: TenetObject): number | undefined {
  const rv = object.metadata.resourceVersion;
  return rv === undefined ? undefined : Number(rv);
}

/**
 * Whether a request's actor may write a kind's agent-owned status fields: agents and admins, and every
 * request of a controller run without authentication ('anonymous', src/controller/server.ts).
 */
export function writesAgentStatus(actor: string): boolean {
  return actor === 'anonymous' || actor.startsWith('agent:') || actor.startsWith('admin:');
}

/** Server-managed status fields (the kind strategy's `serverStatus`) survive any client write of the status. */
function keepServerStatus(keep: readonly string[], current: TenetObject, next: TenetObject): void {
  const status: Record<string, unknown> = { ...(next.status ?? {}) };
  const old: Record<string, unknown> = current.status ?? {};
  for (const field of keep) {
    if (old[field] === undefined) delete status[field];
    else status[field] = old[field];
  }
  next.status = status as TenetObject['status'];
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
