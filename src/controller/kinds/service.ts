/**
 * Services: the server owns the virtual IPs (one per family the tenant's addresses use, from the
 * tenant's service range, allocated in the same txn as the service and released with it) and the
 * DNS name. A VIP is a `/vip/<tenant>/<ip>` key created with modRevision 0, so two services never
 * hold one VIP; the tenant's network set key joins the txn, so a network created meanwhile cannot
 * come to contain a new VIP (networks.ts refuses subnets holding a VIP of the tenant).
 */
import { networkSetKey, objectKey, objectPrefix, vipKey, vipTenantPrefix } from '../../store/keys';
import type { Network } from '../../core/model/kinds/network';
import type { ServiceSpec } from '../../core/model/kinds/service';
import type { Tenant } from '../../core/model/kinds/tenant';
import type { TenetObject } from '../../core/model/object';
import { canonicalIp, cidrLast, formatCidr, formatIp, parseCidr, parseIp, type Cidr, type IpFamily } from '../../core/net/ip';
import { insideAny, serviceRange, usableInRange, vipCandidate } from '../../core/services/vip';
import { serviceDnsName } from '../../core/dns/records';
import { conflict, invalid, notFound } from '../errors';
import { decodeObject } from '../object-codec';
import type { TxnBuilder } from '../txn-builder';
import type { KindStrategy, WriteEngine } from '../write-engine';

/** Hash candidates tried before a full scan of the range (which only a nearly full range needs). */
const HASH_ATTEMPTS = 32;
/** A scan looks at no more addresses than this (a range that large is never nearly full within the quotas). */
const MAX_SCAN = 1 << 20;

export const serviceStrategy: KindStrategy = {
  serverStatus: ['virtualIPs', 'dnsName'],

  normalize(object) {
    const spec = object.spec as ServiceSpec;
    if (spec.virtualIPs) spec.virtualIPs = spec.virtualIPs.map((ip) => canonicalIp(ip) ?? ip);
  },

  async createEffects(engine, b, object) {
    const tenant = object.metadata.tenant ?? '';
    const name = object.metadata.name;
    const spec = object.spec as ServiceSpec;
    // Absent only when the same write creates the tenant (the engine checked the tenant otherwise): its range is then the default.
    const tenantKv = await engine.store.get(objectKey('Tenant', '', tenant));
    const tenantObject = tenantKv ? (decodeObject(tenantKv) as Tenant) : undefined;
    const setKey = networkSetKey(tenant);
    const setKv = await engine.store.get(setKey);
    b.compare(setKey, setKv?.modRevision ?? 0);
    const networks = (await engine.store.range(objectPrefix('Network', tenant))).items.map((kv) => decodeObject(kv) as Network);
    if (tenantKv && spec.network !== undefined && !networks.some((n) => n.metadata.name === spec.network)) {
      throw notFound(`network "${spec.network}" not found in tenant "${tenant}"`);
    }
    const subnets: Cidr[] = networks.flatMap((n) => n.spec.subnets.map((s) => parseCidr(s.cidr)).filter((c): c is Cidr => c !== undefined));
    const families = vipFamilies(networks, spec);
    const vips: string[] = [];
    for (const family of families) {
      const range = serviceRange(tenantObject?.spec.serviceRange, family);
      const requested = (spec.virtualIPs ?? []).find((ip) => parseIp(ip)?.family === family);
      const ip =
        requested !== undefined
          ? await claimRequested(engine, b, tenant, range, subnets, requested)
          : await allocate(engine, b, tenant, name, range, subnets);
      b.compare(vipKey(tenant, ip), 0);
      b.put(vipKey(tenant, ip), name);
      vips.push(ip);
    }
    object.status = {
      ...((object.status as object | undefined) ?? {}),
      virtualIPs: vips,
      dnsName: serviceDnsName(name, tenant, engine.clusterDomain),
    };
  },

  async updateEffects(_engine, _b, before, after) {
    const held = ((before.status ?? {}) as { virtualIPs?: string[] }).virtualIPs ?? [];
    const wanted = (after.spec as ServiceSpec).virtualIPs ?? [];
    const stray = wanted.filter((ip) => !held.includes(ip));
    if (stray.length > 0) {
      throw invalid(`invalid update of service "${before.metadata.tenant}/${before.metadata.name}"`, [
        `spec.virtualIPs: ${stray.join(', ')} is not a virtual IP of this service (it holds ${held.join(', ') || 'none'}); virtual IPs are fixed at creation: delete the service and create it again`,
      ]);
    }
    after.status = { ...((after.status as object | undefined) ?? {}), ...pickServerStatus(before) };
  },

  async deleteEffects(_engine, b, object) {
    const tenant = object.metadata.tenant ?? '';
    for (const ip of ((object.status ?? {}) as { virtualIPs?: string[] }).virtualIPs ?? []) b.delete(vipKey(tenant, ip));
  },
};

function pickServerStatus(object: TenetObject): Record<string, unknown> {
  const status = (object.status ?? {}) as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const field of ['virtualIPs', 'dnsName']) if (status[field] !== undefined) kept[field] = status[field];
  return kept;
}

/** The families of the service's network, else of every network of the tenant; IPv4 for a tenant without networks. */
export function vipFamilies(networks: readonly Network[], spec: ServiceSpec): IpFamily[] {
  const scope = spec.network !== undefined ? networks.filter((n) => n.metadata.name === spec.network) : networks;
  const families = new Set<IpFamily>();
  for (const network of scope) for (const subnet of network.spec.subnets) families.add(parseCidr(subnet.cidr)?.family ?? 4);
  for (const ip of spec.virtualIPs ?? []) families.add(parseIp(ip)?.family ?? 4);
  if (families.size === 0) families.add(4);
  return [...families].sort();
}

async function claimRequested(
  engine: WriteEngine,
  b: TxnBuilder,
  tenant: string,
  range: Cidr,
  subnets: Cidr[],
  ip: string,
): Promise<string> {
  if (!usableInRange(range, ip)) {
    throw conflict(`requested virtual IP refused: ${ip} is not a usable address of the tenant's service range ${formatCidr(range)}`);
  }
  if (insideAny(ip, subnets)) throw conflict(`requested virtual IP refused: ${ip} lies inside a network of tenant "${tenant}"`);
  const holder = await engine.store.get(vipKey(tenant, ip));
  if (holder) throw conflict(`requested virtual IP refused: ${ip} is already held by service "${holder.value}" of tenant "${tenant}"`);
  if (b.puts(vipKey(tenant, ip))) throw conflict(`requested virtual IP refused: ${ip} is taken by another service of the same write`);
  return ip;
}

async function allocate(engine: WriteEngine, b: TxnBuilder, tenant: string, name: string, range: Cidr, subnets: Cidr[]): Promise<string> {
  // Services created by one write (an apply of many) share its transaction: an address another of them
  // took is not in the store yet, and both would hold it (two services' slots under one VIP).
  for (let attempt = 0; attempt < HASH_ATTEMPTS; attempt++) {
    const ip = vipCandidate(range, name, attempt);
    if (insideAny(ip, subnets) || b.puts(vipKey(tenant, ip))) continue;
    if (!(await engine.store.get(vipKey(tenant, ip)))) return ip;
  }
  // Nearly full (or mostly covered by networks): walk the range once for a free address.
  const taken = new Set((await engine.store.range(vipTenantPrefix(tenant))).items.map((kv) => kv.key));
  const last = cidrLast(range);
  for (let value = range.network + 1n, walked = 0; value < last && walked < MAX_SCAN; value++, walked++) {
    const ip = formatIp({ family: range.family, value });
    if (!taken.has(vipKey(tenant, ip)) && !b.puts(vipKey(tenant, ip)) && !insideAny(ip, subnets)) return ip;
  }
  throw conflict(`the service range ${formatCidr(range)} of tenant "${tenant}" has no free virtual IP`);
}
