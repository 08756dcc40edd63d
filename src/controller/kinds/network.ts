/**
 * Networks: the server owns the gateways (derived from the subnets); the subnets cannot change
 * while endpoints hold addresses; a network's guard key is what endpoint creates compare against;
 * a network is deleted only without endpoints; networks of one tenant never overlap.
 */
import { refKey } from '../../core/model/object';
import { networkOverlapProblems } from '../../core/model/validate';
import type { Network } from '../../core/model/kinds/network';
import { guardKey, ipamNetworkPrefix, networkSetKey, objectPrefix, vipTenantPrefix } from '../../store/keys';
import { parseCidr } from '../../core/net/ip';
import { insideAny } from '../../core/services/vip';
import { conflict, invalid } from '../errors';
import { canonicalJson, decodeObject } from '../object-codec';
import type { TxnBuilder } from '../txn-builder';
import { checkRouted } from './routed';
import { GUARD_LIVE, type DesiredChange, type KindStrategy, type WriteEngine } from '../write-engine';

export const networkStrategy: KindStrategy = {
  serverStatus: ['gateways'],
  guard: (ref) => guardKey('Network', ref.tenant, ref.name),

  async createEffects(engine, b, object) {
    const guard = guardKey('Network', object.metadata.tenant ?? '', object.metadata.name);
    b.compare(guard, 0);
    b.put(guard, GUARD_LIVE);
    object.status = { gateways: engine.index.pool(object as Network).subnets.map((s) => s.gatewayText()) };
  },

  async updateEffects(engine, _b, before, after) {
    const tenant = before.metadata.tenant ?? '';
    const plan = (n: Network) => canonicalJson(n.spec.subnets.map((s) => [s.cidr, s.gateway ?? '']));
    if (plan(before as Network) !== plan(after as Network)) {
      const inUse = await engine.store.range(ipamNetworkPrefix(tenant, before.metadata.name), { limit: 1 });
      if (inUse.items.length > 0) {
        throw conflict(
          `network "${tenant}/${before.metadata.name}" has endpoints; its subnets and gateways cannot change until they are deleted`,
        );
      }
    }
    after.status = { ...(after.status ?? {}), gateways: engine.index.pool(after as Network).subnets.map((s) => s.gatewayText()) };
  },

  async deleteEffects(engine, b, object, deleting, marked) {
    const tenant = object.metadata.tenant ?? '';
    const name = object.metadata.name;
    const guard = guardKey('Network', tenant, name);
    b.compare(guard, marked.get(guard) ?? (await engine.store.get(guard))?.modRevision ?? 0);
    b.delete(guard);
    const allocations = await engine.store.range(ipamNetworkPrefix(tenant, name));
    const remaining = new Set<string>();
    for (const kv of allocations.items) {
      if (!deleting.has(refKey({ kind: 'Endpoint', tenant, name: kv.value }))) remaining.add(kv.value);
    }
    if (remaining.size > 0) {
      const names = [...remaining].slice(0, 5).join(', ');
      throw conflict(
        `network "${tenant}/${name}" still has ${remaining.size} endpoint(s) (${names}${remaining.size > 5 ? ', ...' : ''}); delete them first`,
      );
    }
  },

  async check(engine, b, changes, written) {
    const tenants = new Set(written.filter((r) => r.kind === 'Network').map((r) => r.tenant));
    for (const tenant of tenants) await checkOverlaps(engine, b, tenant, changes);
    await checkRouted(engine, b, changes);
  },
};

/** The tenant's network set key joins the txn, so two writers cannot each add an overlapping network. */
async function checkOverlaps(engine: WriteEngine, b: TxnBuilder, tenant: string, changes: DesiredChange[]): Promise<void> {
  const setKey = networkSetKey(tenant);
  const setKv = await engine.store.get(setKey);
  b.compare(setKey, setKv?.modRevision ?? 0);
  b.put(setKey, String(Date.now()));
  const final = new Map<string, Network>();
  for (const kv of (await engine.store.range(objectPrefix('Network', tenant))).items) {
    const network = decodeObject(kv) as Network;
    final.set(network.metadata.name, network);
  }
  const touched: Network[] = [];
  for (const change of changes) {
    if (change.ref.kind !== 'Network' || change.ref.tenant !== tenant) continue;
    if (change.after === null) final.delete(change.ref.name);
    else {
      final.set(change.ref.name, change.after as Network);
      touched.push(change.after as Network);
    }
  }
  const problems: string[] = [];
  for (const network of touched) {
    const others = [...final.values()].filter((n) => n.metadata.name !== network.metadata.name);
    for (const problem of networkOverlapProblems(network, others)) problems.push(`network "${network.metadata.name}": ${problem}`);
  }
  // A network must never come to contain a service's virtual IP (the set key above orders this against VIP allocations).
  if (touched.length > 0) {
    const vips = (await engine.store.range(vipTenantPrefix(tenant))).items;
    for (const network of touched) {
      const cidrs = network.spec.subnets.map((s) => parseCidr(s.cidr)).filter((c) => c !== undefined);
      for (const kv of vips) {
        const ip = kv.key.slice(vipTenantPrefix(tenant).length);
        if (insideAny(ip, cidrs)) {
          throw conflict(
            `network "${tenant}/${network.metadata.name}" would contain ${ip}, the virtual IP of service "${kv.value}"; choose other subnets or delete the service first`,
          );
        }
      }
    }
  }
  // Overlap is a property of the input (the issue lists it with other bad input), not a race: 400, like a gateway outside its subnet.
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more overlap(s))` : '';
    throw invalid(`subnets overlap other networks of tenant "${tenant}": ${problems[0]}${more}`, problems);
  }
}
