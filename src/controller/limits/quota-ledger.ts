/**
 * Enforces per-tenant object quotas (src/core/limits/quota.ts) on every write that creates objects.
 *
 * Counts per (tenant, kind) follow the store's watch of /objects/ (so they include what other
 * controllers on the same store wrote); Tenants' `spec.quota` are followed the same way. A request
 * that would create objects reserves them here before its txn is sent: concurrent requests in this
 * process see each other's reservations, so together they cannot pass the limit. A reservation is
 * released when its attempt fails or is abandoned, and after a commit it is kept until the watch has
 * delivered that revision (then the counts hold the new objects), so there is no window where a
 * committed object is counted neither way.
 *
 * Bound (docs/api.md, "Quotas"): exact with one controller. With several controllers on one etcd,
 * each sees the others' objects only once committed, so a tenant can pass its limit by at most the
 * creates in flight on the other controllers at that moment.
 */
import type { Store, StoreEvent, Watcher } from '../../store/store';
import { OBJECTS_PREFIX, parseObjectKey } from '../../store/keys';
import { ServiceError } from '../errors';
import type { TxnBuilder } from '../txn-builder';
import { decideQuota, effectiveLimits, isQuotaKind, overridesFromSpec, type QuotaKind, type QuotaOverrides } from '../../core/limits/quota';

/** What one planned write does, as the write engine reports it. */
export interface QuotaChange {
  kind: string;
  tenant?: string;
  action: string;
}

const slot = (tenant: string, kind: QuotaKind) => `${tenant}\u0000${kind}`;

export class QuotaLedger {
  private readonly counts = new Map<string, number>();
  private readonly quotas = new Map<string, QuotaOverrides>();
  private readonly inFlight = new Map<string, number>();
  private readonly awaitingWatch: { slot: string; count: number; revision: number }[] = [];
  private seenRevision = 0;
  private watcher: Watcher | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly clusterDefaults: QuotaOverrides = {},
  ) {}

  async start(): Promise<void> {
    const listed = await this.store.range(OBJECTS_PREFIX);
    this.counts.clear();
    this.quotas.clear();
    for (const kv of listed.items) this.apply('put', kv.key, kv.value, true);
    this.seenRevision = Math.max(this.seenRevision, listed.revision);
    this.dropSeen();
    this.watcher = await this.store.watch(OBJECTS_PREFIX, listed.revision, {
      onEvents: (events) => this.onEvents(events),
      onError: () => {
        // Fell behind or lost the store: keep the last counts and start over from a fresh list.
        if (!this.stopped) setTimeout(() => void this.start().catch(() => undefined), 1000).unref();
      },
    });
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.cancel();
  }

  /** Objects of `kind` the tenant holds, plus those reserved by requests in flight or committed but not yet seen. */
  used(tenant: string, kind: QuotaKind): number {
    const key = slot(tenant, kind);
    let n = (this.counts.get(key) ?? 0) + (this.inFlight.get(key) ?? 0);
    for (const held of this.awaitingWatch) if (held.slot === key) n += held.count;
    return n;
  }

  /**
   * Refuses (403, naming kind, tenant, used and limit) a planned write that would take a tenant past
   * a limit; otherwise reserves what it adds for as long as its attempt lives. `tenantQuotas` are
   * the `spec.quota` of Tenants created or changed by the same request (they apply to it already).
   */
  reserve(b: TxnBuilder, changes: readonly QuotaChange[], tenantQuotas: ReadonlyMap<string, unknown> = new Map()): void {
    const byTenant = new Map<string, Map<QuotaKind, number>>();
    for (const change of changes) {
      if (!isQuotaKind(change.kind) || !change.tenant) continue;
      const delta = change.action === 'created' ? 1 : change.action === 'deleted' ? -1 : 0;
      if (delta === 0) continue;
      let kinds = byTenant.get(change.tenant);
      if (!kinds) byTenant.set(change.tenant, (kinds = new Map()));
      kinds.set(change.kind, (kinds.get(change.kind) ?? 0) + delta);
    }
    for (const [tenant, kinds] of byTenant) {
      const spec = tenantQuotas.has(tenant) ? overridesFromSpec(tenantQuotas.get(tenant)) : (this.quotas.get(tenant) ?? {});
      const decision = decideQuota(tenant, effectiveLimits(this.clusterDefaults, spec), (kind) => this.used(tenant, kind), kinds);
      if (!decision.ok) throw new ServiceError(403, 'Forbidden', decision.message, decision.details);
    }
    for (const [tenant, kinds] of byTenant) {
      for (const [kind, count] of kinds) {
        if (count <= 0) continue;
        const key = slot(tenant, kind);
        this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + count);
        let open = true;
        const release = () => {
          if (!open) return;
          open = false;
          this.inFlight.set(key, (this.inFlight.get(key) ?? 0) - count);
        };
        b.propose(`quota:${key}`, release, release);
        b.onCommit((revision) => {
          release();
          if (revision > this.seenRevision) this.awaitingWatch.push({ slot: key, count, revision });
        });
      }
    }
  }

  private onEvents(events: StoreEvent[]): void {
    for (const event of events) {
      if (event.revision > this.seenRevision) this.seenRevision = event.revision;
      this.apply(event.type, event.key, event.value, event.type === 'put' && event.createRevision === event.revision);
    }
    this.dropSeen();
  }

  /** Reservations of commits the counts now hold. */
  private dropSeen(): void {
    for (let i = this.awaitingWatch.length - 1; i >= 0; i--)
      if (this.awaitingWatch[i].revision <= this.seenRevision) this.awaitingWatch.splice(i, 1);
  }

  /** `created`: a put that made the key (a put that changed an existing object leaves the count alone). */
  private apply(type: 'put' | 'delete', key: string, value: string, created: boolean): void {
    const ref = parseObjectKey(key);
    if (!ref) return;
    if (ref.kind === 'Tenant') {
      if (type === 'delete') this.quotas.delete(ref.name);
      else this.quotas.set(ref.name, overridesFromSpec(quotaOf(value)));
      return;
    }
    if (!isQuotaKind(ref.kind)) return;
    const key2 = slot(ref.tenant, ref.kind);
    const delta = type === 'delete' ? -1 : created ? 1 : 0;
    if (delta !== 0) this.counts.set(key2, Math.max(0, (this.counts.get(key2) ?? 0) + delta));
  }
}

function quotaOf(value: string): unknown {
  try {
    return (JSON.parse(value) as { spec?: { quota?: unknown } }).spec?.quota;
  } catch {
    return undefined;
  }
}

/** The `spec.quota` of every Tenant a request creates or changes: its new limits already apply to that request. */
export function tenantQuotasIn(
  changes: readonly { ref: { kind: string; name: string }; after: { spec?: unknown } | null }[],
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const change of changes) {
    if (change.ref.kind === 'Tenant' && change.after)
      out.set(change.ref.name, (change.after.spec as { quota?: unknown } | undefined)?.quota);
  }
  return out;
}
