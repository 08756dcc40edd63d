/**
 * Tenants: the server owns the VNI (allocated on create, released on delete); a tenant's guard key
 * is what its children compare against; a tenant is deleted only when empty, or with its children
 * by `?cascade=true`.
 */
import { KINDS } from '../../core/model/registry';
import { refKey, type ObjectRef } from '../../core/model/object';
import { fipKey, guardKey, networkSetKey, objectPrefix, parseObjectKey, vipTenantPrefix, vniKey } from '../../store/keys';
import type { FloatingIPPool } from '../../core/model/kinds/floating-ip';
import type { Tenant } from '../../core/model/kinds/tenant';
import { canonicalIp, cidrContains, parseCidr, parseIp } from '../../core/net/ip';
import { decodeObject } from '../object-codec';
import type { TxnBuilder } from '../txn-builder';
import type { WriteEngine } from '../write-engine';
import { canonicalJson } from '../object-codec';
import { conflict } from '../errors';
import { GUARD_LIVE, type DesiredChange, type KindStrategy } from '../write-engine';
import { retireTenantVni } from '../vni-retirement';
import { checkRouted } from './routed';

export const tenantStrategy: KindStrategy = {
  serverStatus: ['vni'],
  guard: (ref) => guardKey('Tenant', '', ref.name),

  normalize(object) {
    const egress = (object as Tenant).spec.egress;
    if (egress?.address) egress.address = canonicalIp(egress.address) ?? egress.address;
  },

  // Listed inside each attempt, after the tenant is marked as being deleted, so nothing created meanwhile can be missed.
  async cascade(engine, ref) {
    const found: DesiredChange[] = [];
    for (const k of KINDS.filter((k) => k.tenantScoped).reverse()) {
      for (const item of (await engine.store.range(objectPrefix(k.kind, ref.name))).items) {
        const child = parseObjectKey(item.key);
        if (child) found.push({ ref: child, after: null });
      }
    }
    return found;
  },

  async createEffects(engine, b, object) {
    const vni = engine.index.vnis.allocate();
    if (vni === undefined) throw conflict('no VXLAN network identifier is free for a new tenant');
    const key = vniKey(vni);
    b.propose(key, () => engine.index.vnis.release(vni));
    b.compare(key, 0);
    b.put(key, object.metadata.name);
    object.status = { vni };
    const guard = guardKey('Tenant', '', object.metadata.name);
    b.compare(guard, 0);
    b.put(guard, GUARD_LIVE);
    await claimEgressAddress(engine, b, object as Tenant, undefined);
  },

  // VIPs are never renumbered: the range is fixed while any service holds one (the set key orders this against allocations).
  async updateEffects(engine, b, before, after) {
    await claimEgressAddress(engine, b, after as Tenant, before as Tenant);
    const range = (o: typeof before) => canonicalJson((o.spec as { serviceRange?: unknown }).serviceRange ?? {});
    if (range(before) === range(after)) return;
    const name = before.metadata.name;
    const setKey = networkSetKey(name);
    b.compare(setKey, (await engine.store.get(setKey))?.modRevision ?? 0);
    b.put(setKey, String(Date.now()));
    if ((await engine.store.range(vipTenantPrefix(name), { limit: 1 })).items.length > 0) {
      throw conflict(`tenant "${name}" has services holding virtual IPs; spec.serviceRange cannot change until they are deleted`);
    }
  },

  // Routed subnets are unique cluster-wide (./routed.ts).
  async check(engine, b, changes) {
    await checkRouted(engine, b, changes);
  },

  async deleteEffects(engine, b, object, deleting, marked) {
    const name = object.metadata.name;
    const guard = guardKey('Tenant', '', name);
    b.compare(guard, marked.get(guard) ?? (await engine.store.get(guard))?.modRevision ?? 0);
    b.delete(guard);
    b.delete(networkSetKey(name));
    const address = (object as Tenant).spec.egress?.address;
    if (address) b.delete(fipKey(address));
    // The VNI stays taken until every host confirms it dropped the tenant (vni-retirement.ts).
    await retireTenantVni(engine.store, b, object);
    const left: string[] = [];
    for (const info of KINDS.filter((k) => k.tenantScoped)) {
      const items = (await engine.store.range(objectPrefix(info.kind, name))).items.filter((kv) => {
        const ref: ObjectRef | undefined = parseObjectKey(kv.key);
        return ref !== undefined && !deleting.has(refKey(ref));
      });
      if (items.length > 0) left.push(`${items.length} ${items.length === 1 ? info.kind : info.plural}`);
    }
    if (left.length > 0) {
      throw conflict(`tenant "${name}" is not empty: it still has ${left.join(', ')}; delete them first or use ?cascade=true`);
    }
  },
};

/**
 * The tenant's egress address (docs/external.md, "Egress address") is claimed under the floating IPs'
 * cluster-wide key (`/fip/<ip>`), so no floating IP and no other tenant's egress holds it; it must be
 * an address of a FloatingIPPool announced over BGP (the admin's address space). A changed address
 * releases the old one in the same txn.
 */
async function claimEgressAddress(engine: WriteEngine, b: TxnBuilder, after: Tenant, before: Tenant | undefined): Promise<void> {
  const old = before?.spec.egress?.address;
  const wanted = after.spec.egress?.address;
  if (old === wanted) return;
  const holder = `egress:${after.metadata.name}`;
  if (old) {
    const kv = await engine.store.get(fipKey(old));
    if (kv?.value === holder) {
      b.compare(fipKey(old), kv.modRevision);
      b.delete(fipKey(old));
    }
  }
  if (!wanted) return;
  const ip = parseIp(wanted);
  const pools = (await engine.store.range(objectPrefix('FloatingIPPool'))).items.map((kv) => decodeObject(kv) as FloatingIPPool);
  const pool = pools.find(
    (p) =>
      ip !== undefined &&
      p.spec.cidrs.some((c) => {
        const cidr = parseCidr(c);
        return cidr !== undefined && cidr.family === ip.family && cidrContains(cidr, ip);
      }),
  );
  if (!pool)
    throw conflict(
      `egress address refused: ${wanted} is in no floating IP pool (an admin defines the address space with a FloatingIPPool)`,
    );
  if ((pool.spec.advertise ?? 'bgp') !== 'bgp')
    throw conflict(
      `egress address refused: pool "${pool.metadata.name}" is advertised on layer 2; egress addresses are announced over BGP`,
    );
  // Held by whom is not the requester's business.
  if (await engine.store.get(fipKey(wanted))) throw conflict(`egress address refused: ${wanted} is already held`);
  b.compare(fipKey(wanted), 0);
  b.put(fipKey(wanted), holder);
}
