/**
 * Per-tenant object quotas: how many objects of each tenant-scoped kind one tenant may hold. Pure:
 * the controller supplies what it counted and what a request would add, and gets a decision.
 *
 * Limits come from the tenant's `spec.quota` (admins only: tenant roles cannot change Tenants),
 * falling back per kind to the cluster defaults (`tenet controller --quota-default`), falling back to
 * DEFAULT_QUOTA. A limit only stops growth: lowering it below what a tenant holds refuses new
 * objects of that kind but never deletes any, and updates and deletes are always allowed.
 */
import type { KindName } from '../model/registry';

export type QuotaKind = 'Network' | 'Scope' | 'Group' | 'Policy' | 'Service' | 'Endpoint' | 'FloatingIP';

/** The `spec.quota` field of each kind (the kind's plural, as in the URL). */
export const QUOTA_FIELDS: Readonly<Record<QuotaKind, string>> = {
  Network: 'networks',
  Scope: 'scopes',
  Group: 'groups',
  Policy: 'policies',
  Service: 'services',
  Endpoint: 'endpoints',
  FloatingIP: 'floatingips',
};

export const QUOTA_KINDS = Object.keys(QUOTA_FIELDS) as QuotaKind[];

/**
 * Generous for any lab and every test and bench in the tree (the largest: 20,000 endpoints over 40
 * networks in one tenant in bench/controller-endpoints, 10,000 policies in one apply in
 * bench/noisy-neighbour), and small enough that one tenant cannot fill the store by itself.
 */
export const DEFAULT_QUOTA: Readonly<Record<QuotaKind, number>> = {
  Network: 1_000,
  Scope: 1_000,
  Group: 20_000,
  Policy: 20_000,
  Service: 5_000,
  Endpoint: 50_000,
  // Floating IPs come from address space all tenants share: one tenant must not drain a pool.
  FloatingIP: 64,
};

export const MAX_QUOTA = 10_000_000;

export type QuotaLimits = Record<QuotaKind, number>;
export type QuotaOverrides = Partial<Record<QuotaKind, number>>;

export function isQuotaKind(kind: KindName | string): kind is QuotaKind {
  return Object.prototype.hasOwnProperty.call(QUOTA_FIELDS, kind);
}

/** A tenant's `spec.quota` (validated by the Tenant schema) as per-kind overrides; unknown fields are ignored. */
export function overridesFromSpec(quota: unknown): QuotaOverrides {
  const out: QuotaOverrides = {};
  if (quota === null || typeof quota !== 'object') return out;
  for (const kind of QUOTA_KINDS) {
    const value = (quota as Record<string, unknown>)[QUOTA_FIELDS[kind]];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) out[kind] = value;
  }
  return out;
}

export function effectiveLimits(clusterDefaults: QuotaOverrides, tenant: QuotaOverrides): QuotaLimits {
  const out = { ...DEFAULT_QUOTA };
  for (const kind of QUOTA_KINDS) out[kind] = tenant[kind] ?? clusterDefaults[kind] ?? DEFAULT_QUOTA[kind];
  return out;
}

/** Parses `networks=500,endpoints=100000` (the `--quota-default` option); throws with a message naming the problem. */
export function parseQuotaList(text: string): QuotaOverrides {
  const out: QuotaOverrides = {};
  const byField = new Map(QUOTA_KINDS.map((k) => [QUOTA_FIELDS[k], k]));
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^([a-z]+)=([0-9]{1,8})$/.exec(part);
    const kind = match ? byField.get(match[1]) : undefined;
    if (!match || !kind) throw new Error(`"${part}": expected FIELD=N with FIELD one of ${[...byField.keys()].join(', ')}`);
    const value = Number(match[2]);
    if (value > MAX_QUOTA) throw new Error(`"${part}": at most ${MAX_QUOTA}`);
    out[kind] = value;
  }
  return out;
}

export interface QuotaExcess {
  kind: QuotaKind;
  used: number;
  requested: number;
  limit: number;
}

export type QuotaDecision = { ok: true } | { ok: false; message: string; details: string[]; exceeded: QuotaExcess[] };

/**
 * Whether a request adding `requested[kind]` objects (net of what it deletes) fits under `limits`
 * given `used[kind]` already held (or reserved by requests in flight). Only kinds that grow are checked.
 */
export function decideQuota(
  tenant: string,
  limits: QuotaLimits,
  used: (kind: QuotaKind) => number,
  requested: ReadonlyMap<QuotaKind, number>,
): QuotaDecision {
  const exceeded: QuotaExcess[] = [];
  for (const [kind, count] of requested) {
    if (count <= 0) continue;
    const held = used(kind);
    if (held + count > limits[kind]) exceeded.push({ kind, used: held, requested: count, limit: limits[kind] });
  }
  if (exceeded.length === 0) return { ok: true };
  const details = exceeded.map(
    (e) => `${QUOTA_FIELDS[e.kind]}: tenant "${tenant}" holds ${e.used} of at most ${e.limit}; this request adds ${e.requested}`,
  );
  const first = exceeded[0];
  const more = exceeded.length > 1 ? ` (and ${exceeded.length - 1} more kind(s))` : '';
  const message =
    `exceeded quota: tenant "${tenant}" ${QUOTA_FIELDS[first.kind]}: used ${first.used}, requested ${first.requested}, limit ${first.limit}${more}; ` +
    `nothing was changed (an admin can raise spec.quota.${QUOTA_FIELDS[first.kind]} of the tenant)`;
  return { ok: false, message, details, exceeded };
}
