/**
 * Endpoints: a runtime kind with its own create path (POST only, never apply) that allocates the
 * addresses and MAC in the same txn as the object; the server owns those status fields; network,
 * addresses and MAC never change after creation; a deletion frees them.
 */
import { randomUUID } from 'node:crypto';
import type { KeyValue } from '../../store/store';
import { guardKey, ipamKey, macKey, objectKey } from '../../store/keys';
import { refOf, refText, type TenetObject } from '../../core/model/object';
import { API_VERSION } from '../../core/model/common';
import type { Network } from '../../core/model/kinds/network';
import type { Endpoint, EndpointSpec } from '../../core/model/kinds/endpoint';
import { canonicalIp, parseIp } from '../../core/net/ip';
import { describeRefusal } from '../../core/ipam/subnet-pool';
import { generateMac, isMulticastMac, normalizeMac } from '../../core/ipam/mac';
import { summarizeChanges } from '../../core/auth/change-summary';
import { conflict, invalid, notFound } from '../errors';
import { canonicalJson, decodeObject, encodeObject } from '../object-codec';
import type { KindStrategy, WriteContext, WriteEngine } from '../write-engine';
import type { TxnBuilder } from '../txn-builder';

/** Networks are read on every endpoint create; parse each version once (per engine: each has its own store). */
const networkCaches = new WeakMap<WriteEngine, Map<string, { modRevision: number; network: Network }>>();

function decodeNetwork(engine: WriteEngine, kv: KeyValue): Network {
  let networkCache = networkCaches.get(engine);
  if (!networkCache) networkCaches.set(engine, (networkCache = new Map()));
  const cached = networkCache.get(kv.key);
  if (cached && cached.modRevision === kv.modRevision) return cached.network;
  const network = decodeObject(kv) as Network;
  if (networkCache.size > 10_000) networkCache.clear();
  networkCache.set(kv.key, { modRevision: kv.modRevision, network });
  return network;
}

export const endpointStrategy: KindStrategy = {
  serverStatus: ['ipv4', 'ipv6', 'mac'],
  // Where the agent re-attaches a lost interface: a tenant who could write it would steer the re-attach
  // into another container's namespace (the agent also checks the namespace, src/agent/reattach.ts).
  agentStatus: ['attachment'],
  applyRefusal: 'Endpoint is a runtime kind; create endpoints with POST (they need address allocation)',

  normalize(object) {
    const spec = object.spec as EndpointSpec;
    if (spec.ips) spec.ips = spec.ips.map((ip) => canonicalIp(ip) ?? ip);
    if (spec.mac) {
      spec.mac = normalizeMac(spec.mac);
      if (isMulticastMac(spec.mac)) throw invalid('invalid Endpoint', [`spec.mac: ${spec.mac} is a multicast address; use a unicast MAC`]);
    }
  },

  create: createEndpoint,

  async createEffects() {
    throw invalid('endpoints are created through POST on their collection');
  },

  async updateEffects(engine, b, before, after) {
    const a = before.spec as EndpointSpec;
    const z = after.spec as EndpointSpec;
    const problems: string[] = [];
    if (a.network !== z.network) problems.push('spec.network: cannot change; delete the endpoint and create it again');
    if (canonicalJson(a.ips ?? []) !== canonicalJson(z.ips ?? [])) problems.push('spec.ips: cannot change after creation');
    if ((a.mac ?? '') !== (z.mac ?? '')) problems.push('spec.mac: cannot change after creation');
    if (problems.length > 0) throw invalid(`invalid update of ${refText(refOf(before))}`, problems);
    if (isEndpointMove(a.host, z.host)) await requireContainerGone(engine, b, before, a.host!, z.host);
    // The attachment record names a namespace on the old host: no agent may re-attach from it elsewhere.
    if ((a.host ?? '') !== (z.host ?? '') && (after.status as { attachment?: unknown } | undefined)?.attachment !== undefined) {
      const { attachment: _dropped, ...rest } = after.status as Record<string, unknown>;
      after.status = rest as TenetObject['status'];
    }
  },

  async deleteEffects(_engine, b, object) {
    const tenant = object.metadata.tenant ?? '';
    const status = (object.status ?? {}) as { ipv4?: string; ipv6?: string; mac?: string };
    const network = (object.spec as EndpointSpec).network;
    for (const ip of [status.ipv4, status.ipv6]) if (ip) b.delete(ipamKey(tenant, network, ip));
    if (status.mac) b.delete(macKey(tenant, network, status.mac));
  },
};

/** Creates an endpoint and allocates its addresses and MAC in the same txn. */
async function createEndpoint(engine: WriteEngine, object: TenetObject, ctx: WriteContext): Promise<TenetObject> {
  const tenant = object.metadata.tenant ?? '';
  const name = object.metadata.name;
  const spec = object.spec as EndpointSpec;
  const key = objectKey('Endpoint', tenant, name);
  let macAttempt = 0;
  const { result } = await engine.mutate(
    async (b) => {
      // These reads do not depend on each other: issued together they share one round trip on etcd.
      const reads = [
        key,
        objectKey('Network', tenant, spec.network),
        guardKey('Tenant', '', tenant),
        guardKey('Network', tenant, spec.network),
      ].map((k) => engine.store.get(k));
      for (const read of reads) read.catch(() => undefined);
      const [existingRead, networkRead, tenantGuard, networkGuard] = reads;
      const existing = await existingRead;
      if (existing) throw conflict(`${refText(refOf(object))} already exists`);
      b.compare(key, 0);
      const networkKv = await networkRead;
      if (!networkKv) {
        const tenantKv = await engine.store.get(objectKey('Tenant', '', tenant));
        if (!tenantKv) throw notFound(`tenant "${tenant}" not found; create it first`);
        throw notFound(`network "${spec.network}" not found in tenant "${tenant}"`);
      }
      await engine.requireLive(b, 'Tenant', '', tenant, tenantGuard);
      await engine.requireLive(b, 'Network', tenant, spec.network, networkGuard);
      engine.quotas?.reserve(b, [{ kind: 'Endpoint', tenant, action: 'created' }]); // [limits]
      const network = decodeNetwork(engine, networkKv);
      const pool = engine.index.pool(network);
      const status: Record<string, unknown> = { ...(object.status ?? {}) };
      delete status.ipv4;
      delete status.ipv6;
      delete status.mac;
      delete status.attachment;
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
        const holder = await engine.store.get(ipKey);
        if (holder)
          throw conflict(`requested address refused: ${ip} is already used by endpoint "${holder.value}" in network "${spec.network}"`);
        b.compare(ipKey, 0);
        b.put(ipKey, name);
        requested.set(address.family, ip);
      }
      for (const subnet of pool.subnets) {
        let ip = requested.get(subnet.family);
        if (ip === undefined) {
          ip = subnet.allocate();
          if (ip === undefined) {
            throw conflict(
              `network "${tenant}/${spec.network}" has no free IPv${subnet.family} address (${subnet.text}: ${subnet.usedCount} of ${subnet.capacity} in use)`,
            );
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
        const holder = await engine.store.get(macKey(tenant, spec.network, mac));
        if (holder) throw conflict(`requested MAC ${mac} is already used by endpoint "${holder.value}" in network "${spec.network}"`);
      } else {
        mac = generateMac(`${tenant}/${spec.network}/${name}`, macAttempt);
        // A (rare) clash of a generated MAC fails its compare; the retry uses the next attempt number.
        b.propose(
          macKey(tenant, spec.network, mac),
          () => undefined,
          () => macAttempt++,
        );
      }
      const macStoreKey = macKey(tenant, spec.network, mac);
      b.compare(macStoreKey, 0);
      b.put(macStoreKey, name);
      status.mac = mac;
      if (status.phase === undefined) status.phase = 'pending';
      const stored: Endpoint = {
        apiVersion: API_VERSION,
        kind: 'Endpoint',
        metadata: { ...object.metadata, uid: randomUUID(), createdAt: new Date().toISOString() },
        spec,
        status: status as Endpoint['status'],
      };
      delete stored.metadata.resourceVersion;
      b.put(key, encodeObject(stored));
      b.stamp(stored);
      return stored;
    },
    false,
    { sink: ctx.audit, summary: (r) => summarizeChanges([{ kind: 'Endpoint', tenant, name, action: 'created' }], [], r.status) },
  );
  return result;
}

/** A host that has not reported for this long is taken as gone, with the containers it ran (agents report every 10 s). */
export const HOST_SILENT_MS = 60_000;

/** A change of spec.host of an endpoint that was placed (removing it counts: the container loses its interface too). */
export function isEndpointMove(before: string | undefined, after: string | undefined): boolean {
  return before !== undefined && before !== after;
}

/**
 * Why the container of an endpoint placed on `host` is gone, or undefined while it may still run:
 * gone means the old host cannot be running it as far as the controller can know — its Host object
 * does not exist, or says it is not ready, or has not reported for HOST_SILENT_MS.
 */
export function goneReason(host: string, hostObject: TenetObject | undefined, now = Date.now()): string | undefined {
  if (!hostObject) return `host "${host}" does not exist`;
  const status = (hostObject.status ?? {}) as { ready?: boolean; heartbeatAt?: string };
  if (status.ready !== true) return `host "${host}" is not ready`;
  const at = status.heartbeatAt === undefined ? NaN : Date.parse(status.heartbeatAt);
  if (!Number.isFinite(at)) return `host "${host}" has never reported`;
  if (now - at > HOST_SILENT_MS) return `host "${host}" has not reported for ${Math.round((now - at) / 1000)} s`;
  return undefined;
}

/**
 * Moving a running container's endpoint would take its interface away while the endpoint still
 * says ready, so only an endpoint whose container is gone may move (admins only; authorization
 * refuses everyone else). The Host key joins the txn: a heartbeat that lands meanwhile retries the write.
 */
async function requireContainerGone(
  engine: WriteEngine,
  b: TxnBuilder,
  endpoint: TenetObject,
  host: string,
  to: string | undefined,
): Promise<void> {
  const key = objectKey('Host', '', host);
  const kv = await engine.store.get(key);
  b.compare(key, kv?.modRevision ?? 0);
  if (goneReason(host, kv ? decodeObject(kv) : undefined) === undefined) {
    throw conflict(
      `${refText(refOf(endpoint))} runs on host "${host}", which is ready and reporting: its container is not gone, so the endpoint cannot move${to ? ` to "${to}"` : ''}; ` +
        `delete it and create it on the new host instead (a move is allowed once host "${host}" is deleted, not ready, or silent for ${HOST_SILENT_MS / 1000} s)`,
    );
  }
}
