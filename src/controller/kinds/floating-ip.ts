/**
 * Floating IPs: the server owns the address (from a FloatingIPPool, claimed in the same txn as the
 * FloatingIP and released with it). Addresses are cluster-wide: an `/fip/<ip>` key created with
 * modRevision 0, so two floating IPs (of any tenants) never hold one address. The target names an
 * endpoint or a service of the FloatingIP's own tenant: a tenant can bind only what is its own.
 */
import { fipKey, objectPrefix } from '../../store/keys';
import type { FloatingIPPool, FloatingIPSpec } from '../../core/model/kinds/floating-ip';
import { canonicalIp, cidrContains, cidrLast, formatIp, parseCidr, parseIp, type Cidr } from '../../core/net/ip';
import { conflict, invalid, notFound } from '../errors';
import { decodeObject } from '../object-codec';
import type { KindStrategy, WriteEngine } from '../write-engine';
import type { TxnBuilder } from '../txn-builder';

/** A scan of a pool looks at no more addresses than this. */
const MAX_SCAN = 1 << 16;

export const floatingIPStrategy: KindStrategy = {
  serverStatus: ['address', 'pool'],

  normalize(object) {
    const spec = object.spec as FloatingIPSpec;
    if (spec.address) spec.address = canonicalIp(spec.address) ?? spec.address;
  },

  async createEffects(engine, b, object) {
    const spec = object.spec as FloatingIPSpec;
    const pools = (await engine.store.range(objectPrefix('FloatingIPPool'))).items
      .map((kv) => decodeObject(kv) as FloatingIPPool)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const ranges = (pool: FloatingIPPool): Cidr[] => pool.spec.cidrs.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== undefined);
    let pool: FloatingIPPool | undefined;
    if (spec.pool !== undefined) {
      pool = pools.find((p) => p.metadata.name === spec.pool);
      if (!pool) throw notFound(`floating IP pool "${spec.pool}" not found`);
    } else if (spec.address !== undefined) {
      const ip = parseIp(spec.address);
      pool = pools.find((p) => ip !== undefined && ranges(p).some((c) => cidrContains(c, ip)));
      if (!pool) throw conflict(`requested floating IP refused: ${spec.address} is in no floating IP pool`);
    } else {
      pool = pools[0];
      if (!pool) throw conflict('no floating IP pool exists: an admin defines one (kind FloatingIPPool)');
    }
    const address =
      spec.address !== undefined ? await claim(engine, b, pool, ranges(pool), spec.address) : await allocate(engine, b, pool, ranges(pool));
    b.compare(fipKey(address), 0);
    b.put(fipKey(address), `${object.metadata.tenant ?? ''}/${object.metadata.name}`);
    object.status = { ...((object.status as object | undefined) ?? {}), address, pool: pool.metadata.name };
  },

  async updateEffects(_engine, _b, before, after) {
    const held = (before.status ?? {}) as { address?: string; pool?: string };
    const spec = after.spec as FloatingIPSpec;
    const problems: string[] = [];
    if (spec.address !== undefined && spec.address !== held.address)
      problems.push(
        `spec.address: ${spec.address} is not this floating IP's address (${held.address ?? 'none'}); an address is fixed at creation`,
      );
    if (spec.pool !== undefined && spec.pool !== held.pool)
      problems.push(`spec.pool: the pool is fixed at creation (${held.pool ?? 'none'})`);
    if (problems.length > 0) throw invalid(`invalid update of floating IP "${before.metadata.tenant}/${before.metadata.name}"`, problems);
    after.status = { ...((after.status as object | undefined) ?? {}), address: held.address, pool: held.pool };
  },

  async deleteEffects(_engine, b, object) {
    const address = ((object.status ?? {}) as { address?: string }).address;
    if (address) b.delete(fipKey(address));
  },
};

async function claim(engine: WriteEngine, b: TxnBuilder, pool: FloatingIPPool, ranges: Cidr[], address: string): Promise<string> {
  const ip = parseIp(address);
  if (!ip || !ranges.some((c) => c.family === ip.family && usable(c, ip.value))) {
    throw conflict(
      `requested floating IP refused: ${address} is not a usable address of pool "${pool.metadata.name}" (${pool.spec.cidrs.join(', ')})`,
    );
  }
  // Held by whom is not the requester's business (it may be another tenant's).
  if (b.writes(fipKey(address)) || (await engine.store.get(fipKey(address))))
    throw conflict(`requested floating IP refused: ${address} is already held`);
  return address;
}

/**
 * IPv4: a /31 or /32 is usable whole; otherwise the network and broadcast addresses are not. IPv6: all
 * but the subnet-router anycast address (the network's own) of prefixes shorter than /127.
 */
function usable(cidr: Cidr, value: bigint): boolean {
  if (value < cidr.network || value > cidrLast(cidr)) return false;
  if (cidr.family === 6) return cidr.prefix >= 127 || value !== cidr.network;
  return cidr.prefix >= 31 || (value !== cidr.network && value !== cidrLast(cidr));
}

async function allocate(engine: WriteEngine, b: TxnBuilder, pool: FloatingIPPool, ranges: Cidr[]): Promise<string> {
  for (const cidr of ranges) {
    for (let value = cidr.network, walked = 0; value <= cidrLast(cidr) && walked < MAX_SCAN; value++, walked++) {
      if (!usable(cidr, value)) continue;
      const ip = formatIp({ family: cidr.family, value });
      // Free in the store and not taken by another floating IP of the same apply.
      if (!b.writes(fipKey(ip)) && !(await engine.store.get(fipKey(ip)))) return ip;
    }
  }
  throw conflict(`floating IP pool "${pool.metadata.name}" has no free address`);
}
