/**
 * Routed networks are unique cluster-wide (docs/external.md, "Routed networks"): a write that makes a
 * tenant routed, changes which of its networks are, or changes a network of a routed tenant is
 * checked against every other tenant's routed subnets, in the state the txn commits on.
 *
 * Ordering: such writes compare and bump one cluster key (ROUTED_SET_KEY), so two of them never
 * commit on the same reads; a tenant whose routed setting changes also bumps its network set key, so
 * a network created meanwhile (whose check read the tenant as not routed) is retried and checked.
 */
import type { Tenant } from '../../core/model/kinds/tenant';
import type { Network } from '../../core/model/kinds/network';
import { routedConflicts, routedReservedProblems, routedSubnets, type RoutedSubnet } from '../../core/egress/routed';
import type { Host } from '../../core/model/kinds/host';
import type { FloatingIPPool } from '../../core/model/kinds/floating-ip';
import { ROUTED_SET_KEY, networkSetKey, objectKey, objectPrefix } from '../../store/keys';
import { canonicalJson, decodeObject } from '../object-codec';
import { conflict } from '../errors';
import type { TxnBuilder } from '../txn-builder';
import type { DesiredChange, WriteEngine } from '../write-engine';

/** One check per txn even when both the Tenant and the Network strategy call it. */
const checked = new WeakSet<TxnBuilder>();

export async function checkRouted(engine: WriteEngine, b: TxnBuilder, changes: DesiredChange[]): Promise<void> {
  if (checked.has(b)) return;
  checked.add(b);
  const routedOf = (t: Tenant | undefined | null): string => canonicalJson(t?.spec.routed ?? null);
  const storedTenant = async (name: string): Promise<Tenant | undefined> => {
    const kv = await engine.store.get(objectKey('Tenant', '', name));
    return kv ? (decodeObject(kv) as Tenant) : undefined;
  };
  const changedTenants = new Map<string, Tenant | null>();
  for (const c of changes) if (c.ref.kind === 'Tenant') changedTenants.set(c.ref.name, c.after as Tenant | null);

  // Tenants whose routed subnets this txn may change.
  const touched = new Set<string>();
  for (const [name, after] of changedTenants) {
    // A deleted tenant routes nothing any more: it cannot conflict (and its set key goes with it).
    if (!after) continue;
    const before = await storedTenant(name);
    if (routedOf(before) === routedOf(after)) continue;
    touched.add(name);
    // A network created concurrently read this tenant as it was: make its txn retry.
    const setKey = networkSetKey(name);
    b.compare(setKey, (await engine.store.get(setKey))?.modRevision ?? 0);
    b.put(setKey, String(Date.now()));
  }
  for (const c of changes) {
    if (c.ref.kind !== 'Network' || touched.has(c.ref.tenant)) continue;
    const tenant = changedTenants.has(c.ref.tenant) ? changedTenants.get(c.ref.tenant) : await storedTenant(c.ref.tenant);
    if (tenant?.spec.routed) touched.add(c.ref.tenant);
  }
  if (touched.size === 0) return;

  const routedKv = await engine.store.get(ROUTED_SET_KEY);
  b.compare(ROUTED_SET_KEY, routedKv?.modRevision ?? 0);
  b.put(ROUTED_SET_KEY, String(Date.now()));

  // Every routed tenant as the txn leaves it, with its networks as the txn leaves them.
  const tenants = new Map<string, Tenant>();
  for (const kv of (await engine.store.range(objectPrefix('Tenant'))).items) {
    const t = decodeObject(kv) as Tenant;
    tenants.set(t.metadata.name, t);
  }
  for (const [name, after] of changedTenants) {
    if (after) tenants.set(name, after);
    else tenants.delete(name);
  }
  const subnets: RoutedSubnet[] = [];
  for (const tenant of tenants.values()) {
    if (!tenant.spec.routed) continue;
    const name = tenant.metadata.name;
    const networks = new Map<string, Network>();
    for (const kv of (await engine.store.range(objectPrefix('Network', name))).items) {
      const n = decodeObject(kv) as Network;
      networks.set(n.metadata.name, n);
    }
    for (const c of changes) {
      if (c.ref.kind !== 'Network' || c.ref.tenant !== name) continue;
      if (c.after === null) networks.delete(c.ref.name);
      else networks.set(c.ref.name, c.after as Network);
    }
    subnets.push(...routedSubnets(tenant, [...networks.values()]));
  }
  // What the cluster itself uses is never routed into a tenant (reserved ranges, hosts, floating IP pools).
  const hosts = (await engine.store.range(objectPrefix('Host'))).items.map((kv) => decodeObject(kv) as Host);
  const pools = (await engine.store.range(objectPrefix('FloatingIPPool'))).items.map((kv) => decodeObject(kv) as FloatingIPPool);
  const reserved = routedReservedProblems(
    subnets.filter((s) => touched.has(s.tenant)),
    {
      hosts: hosts.map((h) => ({ name: h.metadata.name, underlayIP: h.spec.underlayIP })),
      pools: pools.map((p) => ({ name: p.metadata.name, cidrs: p.spec.cidrs })),
    },
  );
  if (reserved.length > 0) {
    const more = reserved.length > 1 ? ` (and ${reserved.length - 1} more)` : '';
    throw conflict(`a routed network may not cover what the cluster uses: ${reserved[0]}${more}`, reserved);
  }
  const problems = routedConflicts(subnets, touched);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw conflict(`routed networks must be unique cluster-wide: ${problems[0]}${more}`, problems);
  }
}
