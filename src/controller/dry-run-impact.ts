/**
 * The impact preview of a dry-run apply, computed here from the whole intent (admin and baseline
 * GlobalPolicies included) so every role that may apply gets it — a tenant-admin cannot read the
 * GlobalPolicies the verdicts depend on, and need not: only flows of tenants the apply touches (which
 * authorization already let it write) are answered.
 */
import type { Store } from '../store/store';
import { objectPrefix } from '../store/keys';
import type { ObjectOf, TenetObject } from '../core/model/object';
import type { KindName } from '../core/model/registry';
import { hostPeers, type PolicyIntent } from '../core/policy/intent';
import { impactTenants, overlayIntent, policyRelevant, previewImpact, type FlowChange } from '../core/policy/impact';
import { decodeObject } from './object-codec';

/** More flow changes than a person reads; the answer says when it was cut. */
export const MAX_IMPACT = 1000;

export async function dryRunImpact(
  store: Store,
  objects: readonly TenetObject[],
): Promise<{ impact: FlowChange[]; impactTruncated?: true } | undefined> {
  const relevant = policyRelevant(objects);
  if (relevant.length === 0) return undefined;
  const read = async <K extends KindName>(kind: K, tenant?: string): Promise<ObjectOf<K>[]> =>
    (await store.range(objectPrefix(kind, tenant))).items.map((kv) => decodeObject(kv) as ObjectOf<K>);
  const [tenants, globalPolicies, hostObjects] = await Promise.all([read('Tenant'), read('GlobalPolicy'), read('Host')]);
  const hosts = hostPeers(hostObjects);
  const impact: FlowChange[] = [];
  for (const tenant of impactTenants(
    relevant,
    tenants.map((t) => t.metadata.name),
  )) {
    const [scopes, groups, networks, policies, endpoints] = await Promise.all([
      read('Scope', tenant),
      read('Group', tenant),
      read('Network', tenant),
      read('Policy', tenant),
      read('Endpoint', tenant),
    ]);
    const before: PolicyIntent = { tenants, scopes, groups, networks, policies, globalPolicies, endpoints, hosts };
    impact.push(...previewImpact(before, overlayIntent(before, relevant, tenant)));
    if (impact.length > MAX_IMPACT) return { impact: impact.slice(0, MAX_IMPACT), impactTruncated: true };
  }
  return { impact };
}

/**
 * The impact preview of a dry-run rollback: the flows whose verdict changes between the intent now and
 * `wanted` (the whole intent the rollback restores), in the tenants the objects it `touched` belong to
 * (every tenant when a GlobalPolicy is among them). Unlike an apply, a rollback also deletes, so the
 * "after" side is the restored intent itself rather than the current one with objects laid over it.
 */
export async function rollbackImpact(
  store: Store,
  wanted: readonly TenetObject[],
  touched: readonly TenetObject[],
): Promise<{ impact: FlowChange[]; impactTruncated?: true } | undefined> {
  const relevant = policyRelevant(touched);
  if (relevant.length === 0) return undefined;
  const read = async <K extends KindName>(kind: K, tenant?: string): Promise<ObjectOf<K>[]> =>
    (await store.range(objectPrefix(kind, tenant))).items.map((kv) => decodeObject(kv) as ObjectOf<K>);
  const restored = <K extends KindName>(kind: K, tenant?: string): ObjectOf<K>[] =>
    wanted.filter((o) => o.kind === kind && (tenant === undefined || o.metadata.tenant === tenant)) as ObjectOf<K>[];
  const [tenants, globalPolicies, hostObjects] = await Promise.all([read('Tenant'), read('GlobalPolicy'), read('Host')]);
  const hosts = hostPeers(hostObjects);
  const names = [...new Set([...tenants, ...restored('Tenant')].map((t) => t.metadata.name))];
  const impact: FlowChange[] = [];
  for (const tenant of impactTenants(relevant, names)) {
    const [scopes, groups, networks, policies, endpoints] = await Promise.all([
      read('Scope', tenant),
      read('Group', tenant),
      read('Network', tenant),
      read('Policy', tenant),
      read('Endpoint', tenant),
    ]);
    const before: PolicyIntent = { tenants, scopes, groups, networks, policies, globalPolicies, endpoints, hosts };
    const after: PolicyIntent = {
      tenants: restored('Tenant'),
      scopes: restored('Scope', tenant),
      groups: restored('Group', tenant),
      networks: restored('Network', tenant),
      policies: restored('Policy', tenant),
      globalPolicies: restored('GlobalPolicy'),
      endpoints,
      hosts,
    };
    impact.push(...previewImpact(before, after));
    if (impact.length > MAX_IMPACT) return { impact: impact.slice(0, MAX_IMPACT), impactTruncated: true };
  }
  return { impact };
}
