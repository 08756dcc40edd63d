/**
 * Service NAT: the part of a tenant router namespace's nft table that sends a connection to a
 * service's virtual IP to one of its ready backends. Pure: the agent's producer
 * (src/agent/services.ts) feeds it the host view's tenant.
 *
 * Shape. Every service port has a fixed table of slots per family, filled Maglev-style from its
 * backends (each backend's own permutation of the slots, taken in turns): the shares differ by at most
 * one slot, and a backend joining or leaving moves few slots of the others. The table's size is the
 * port's slot class (slotClass: the smallest of SLOT_CLASSES with 4 slots a backend; SLOTS for a
 * ClientIP service). All slot tables live in one data map per family keyed by
 * `VIP . protocol . port . slot`, so:
 *  - the rules never change with services or backends: backend churn is element updates of that
 *    service's own keys (its slots, and its dispatch element when it changes class), a new or deleted
 *    service adds or removes its own elements;
 *  - the slot is picked into the connection's ct mark (1..size; the map is keyed by it): a port without
 *    affinity is in the verdict map `sv_cls4` (`VIP . proto . port` → the chain of its class, which
 *    draws `numgen random mod size offset 1` and DNATs); a ClientIP-affinity service (its VIP/port in
 *    the verdict map `sv_affd4`, which sends it to the chain of its timeout) takes the slot the client
 *    got last time from `sv_affmem4` (`client . VIP . proto . port` → slot, filled by the packet path,
 *    each element expiring after the service's timeout of silence), else a random one of SLOTS,
 *    remembered. The memory holds a slot, not a backend: a backend that leaves loses its slots to
 *    others, so affinity never keeps a client on a removed backend; and an affinity service's table
 *    is always SLOTS large, so a remembered slot always exists;
 *  - a VIP whose service has no backend (or a port it does not serve) misses the map: a filter chain
 *    right after dstnat sees the destination still a VIP and rejects (TCP reset, else ICMP port
 *    unreachable), at once;
 *  - a backend reaching its own service lands on itself: `sv_hairpin4` maps `address . address` of
 *    every local backend to its network's gateway, and postrouting SNATs such a packet to the gateway.
 * DNAT runs in prerouting (priority dstnat, after antispoofing's raw chain), so the policy program
 * (forward hook) sees the backend as the destination: policy applies after translation.
 *
 * Every name starts with `sv_`: the producer owns them in the shared table (src/agent/nft/table.ts).
 */
import { createHash } from 'node:crypto';
import type { EndpointView, TenantView } from '../dataplane/host-view';
import { DEFAULT_AFFINITY_TIMEOUT_SECONDS, type Service, type ServicePort } from '../model/kinds/service';
import { canonicalIp, parseIp } from '../net/ip';
import {
  groupedMap,
  groupsChanged,
  L4_NUMBER,
  TABLE_NAME,
  type NftChain,
  type NftProgram,
  type NftRule,
  type NftVmap,
} from '../policy/program';
import { selectorMatches } from '../model/selectors';
import { SelectorIndex } from '../model/selector-index';
import { serviceBackends, targetPortOf } from './backends';

/**
 * Slots of a ClientIP-affinity service port (and of a floating IP bound to a service): fixed, so a
 * remembered slot (the affinity memory holds slot numbers) always names a slot of the service.
 */
export const SLOTS = 61;

/**
 * Slot-table sizes of services without affinity (primes, as Maglev wants): a port takes the smallest
 * class of at least SLOTS_PER_BACKEND slots per backend, so a backend's share is within 1/4 of its fair
 * share (3 backends: 13 slots, 5/4/4) while 10,000 services × 3 backends are 130,000 slot elements,
 * not 610,000. More backends than the largest class: only that many get a share. Every class is below
 * 0x100, where the policy's rule ids in the ct mark begin (src/core/policy/flow-mark.ts).
 */
export const SLOT_CLASSES = [7, 13, 31, 61, 127, 251] as const;
export const SLOTS_PER_BACKEND = 4;
/** The largest slot number any service writes into the ct mark. */
export const MAX_SLOT = SLOT_CLASSES[SLOT_CLASSES.length - 1];

/** The slot-table size of a port without affinity served by `backends` backends (0: no table, no dispatch). */
export function slotClass(backends: number): number {
  if (backends === 0) return 0;
  return SLOT_CLASSES.find((size) => size >= backends * SLOTS_PER_BACKEND) ?? MAX_SLOT;
}

export const SERVICE_NAMES = {
  vip: { 4: 'sv_vip4', 6: 'sv_vip6' },
  /** Verdict map `VIP . proto . port` → goto the affinity chain of the service's timeout. */
  affinity: { 4: 'sv_affd4', 6: 'sv_affd6' },
  /** Dynamic map `client . VIP . proto . port` → slot (ct mark), elements expiring after the timeout. */
  memory: { 4: 'sv_affmem4', 6: 'sv_affmem6' },
  /** Keyed by the slot in the ct mark (1..size); `sv_slots4` (keyed by numgen) was the name before affinity had a timeout. */
  slots: { 4: 'sv_slot4', 6: 'sv_slot6' },
  /** Verdict map `VIP . proto . port` → goto the chain of the port's slot class (services without affinity). */
  dispatch: { 4: 'sv_cls4', 6: 'sv_cls6' },
  hairpin: { 4: 'sv_hairpin4', 6: 'sv_hairpin6' },
  dnat: 'sv_dnat',
  reject: 'sv_reject',
  snat: 'sv_hairpin',
} as const;

/** Clients remembered per family and tenant router namespace; when full, a new client gets a random slot unremembered. */
export const AFFINITY_MEMORY_SIZE = 65_536;

/** The chain of one slot class: a random slot of that many, then DNAT through it (shared by every port of the class). */
export function classChainName(family: 4 | 6, size: number): string {
  return `sv_cls${family}_${size}`;
}

/** The chain of one affinity timeout (shared by every service with that timeout). */
export function affinityChainName(family: 4 | 6, timeoutSeconds: number): string {
  return `sv_aff${family}_${timeoutSeconds}`;
}

/** nft priorities: dstnat (-100), just after it, srcnat (100). */
export const DNAT_PRIORITY = -100;
export const REJECT_PRIORITY = -99;
export const SNAT_PRIORITY = 100;

type Family = 4 | 6;
const FAMILIES: readonly Family[] = [4, 6];

/** One backend of one service port and family: where a slot sends the connection. */
export interface SlotBackend {
  endpoint: string;
  address: string;
  port: number;
}

function hash32(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/**
 * Maglev's table population: each backend walks its own permutation of the slots (offset and skip
 * from its name) and takes its next free slot in turn. Equal inputs give equal tables on every host.
 */
export function maglevSlots(key: string, backends: readonly SlotBackend[], slots = SLOTS): (SlotBackend | undefined)[] {
  const table: (SlotBackend | undefined)[] = new Array(slots).fill(undefined);
  if (backends.length === 0) return table;
  const sorted = [...backends].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  const offset = sorted.map((b) => hash32(`${key}|o|${b.endpoint}`) % slots);
  const skip = sorted.map((b) => (hash32(`${key}|s|${b.endpoint}`) % (slots - 1)) + 1);
  const next = sorted.map(() => 0);
  let filled = 0;
  while (filled < slots) {
    for (let i = 0; i < sorted.length && filled < slots; i++) {
      let slot = (offset[i] + next[i] * skip[i]) % slots;
      while (table[slot] !== undefined) {
        next[i]++;
        slot = (offset[i] + next[i] * skip[i]) % slots;
      }
      table[slot] = sorted[i];
      next[i]++;
      filled++;
    }
  }
  return table;
}

function vipOf(service: Service, family: Family): string | undefined {
  return (service.status?.virtualIPs ?? [])
    .map((ip) => canonicalIp(ip))
    .find((ip): ip is string => ip !== undefined && parseIp(ip)?.family === family);
}

function protoNumber(port: ServicePort): number {
  return L4_NUMBER[port.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp'];
}

/** What one service gives the maps of one family: its slot elements and its ports' class dispatch. */
export interface ServiceSlots {
  /** The slot map's elements of the service (its own keys only). */
  slots: Readonly<Record<string, string>>;
  /** `VIP . proto . port` → the class chain (ports without affinity that have backends). */
  dispatch: Readonly<Record<string, string>>;
}

/**
 * A memo of each service's slot elements by what they are made from, kept by the caller between
 * compiles (the producer, per router namespace): an unchanged service hands back the same objects, so
 * the table's diff skips it without looking inside.
 */
export type SlotMemo = Map<string, { input: string; result: ServiceSlots }>;

const NO_SLOTS: ServiceSlots = { slots: {}, dispatch: {} };

/**
 * The service's slot elements and class dispatch in one family. `fixedSlots`: every port gets that
 * many slots and no dispatch (a ClientIP service, a floating IP bound to a service).
 */
export function serviceSlots(
  tenant: Pick<TenantView, 'name' | 'endpoints'>,
  service: Service,
  family: Family,
  options: {
    excluded?: string;
    memo?: SlotMemo;
    views?: ReadonlyMap<string, EndpointView>;
    fixedSlots?: number;
  } = {},
): ServiceSlots {
  const vip = vipOf(service, family);
  if (vip === undefined) return NO_SLOTS;
  const views = options.views ?? new Map(tenant.endpoints.filter((e) => e.name !== options.excluded).map((e) => [e.name, e]));
  const backends = serviceBackends(
    tenant.name,
    service.spec,
    [...views.values()].map((e) => e.object),
  );
  const affinity = options.fixedSlots ?? (service.spec.sessionAffinity === 'ClientIP' ? SLOTS : undefined);
  const perPort: { proto: number; port: number; members: SlotBackend[] }[] = [];
  for (const port of service.spec.ports) {
    const members: SlotBackend[] = [];
    for (const backend of backends) {
      const address = family === 4 ? backend.ipv4 : backend.ipv6;
      const target = targetPortOf(port, views.get(backend.endpoint)!.object);
      if (address !== undefined && target !== undefined)
        members.push({ endpoint: backend.endpoint, address: canonicalIp(address)!, port: target });
    }
    perPort.push({ proto: protoNumber(port), port: port.port, members });
  }
  const key = `${service.metadata.name}|${family}`;
  const input = JSON.stringify([vip, affinity ?? 0, perPort]);
  const known = options.memo?.get(key);
  if (known?.input === input) return known.result;
  const slots: Record<string, string> = {};
  const dispatch: Record<string, string> = {};
  for (const { proto, port, members } of perPort) {
    const size = affinity ?? slotClass(members.length);
    if (size === 0) continue;
    if (affinity === undefined) dispatch[`${vip} . ${proto} . ${port}`] = classChainName(family, size);
    maglevSlots(`${service.metadata.name}|${proto}|${port}`, members, size).forEach((member, slot) => {
      // Keys 1..size: a ct mark of 0 means "no slot picked yet".
      if (member) slots[`${vip} . ${proto} . ${port} . ${slot + 1}`] = `${member.address} . ${member.port}`;
    });
  }
  const result = { slots, dispatch };
  options.memo?.set(key, { input, result });
  return result;
}

/** The slot elements of a service with SLOTS slots a port (a floating IP bound to it picks them with RANDOM_SLOT). */
export function serviceSlotElements(
  tenant: Pick<TenantView, 'name' | 'endpoints'>,
  service: Service,
  family: Family,
  excluded?: string,
): Readonly<Record<string, string>> {
  return serviceSlots(tenant, service, family, { excluded, fixedSlots: SLOTS }).slots;
}

/** Local endpoints' `address . address` → their network's gateway, for hairpin SNAT. */
function hairpinElements(tenant: Pick<TenantView, 'endpoints' | 'networks'>, family: Family, excluded?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const endpoint of tenant.endpoints) {
    if (!endpoint.local || endpoint.name === excluded) continue;
    const address = family === 4 ? endpoint.ipv4 : endpoint.ipv6;
    const gateway = tenant.networks.find((n) => n.name === endpoint.network)?.subnets.find((s) => s.family === family)?.gateway;
    if (address === undefined || gateway === undefined) continue;
    const ip = canonicalIp(address)!;
    out[`${ip} . ${ip}`] = canonicalIp(gateway)!;
  }
  return out;
}

const SLOT_KEY = (ip: string) => `${ip} daddr . meta l4proto . th dport . ct mark`;
/** A uniformly random slot number, 1..size (the keys of a slot table of that size). */
export const randomSlot = (size: number): string => `numgen random mod ${size} offset 1`;
/** A uniformly random slot of an affinity service's (or a floating IP's) table: 1..SLOTS. */
export const RANDOM_SLOT = randomSlot(SLOTS);
/**
 * The affinity memory's key: client, VIP, protocol, port. nft 1.0.6 aborts on a dynamic update whose
 * concatenated key is longer than 16 bytes, so the IPv6 key is a 32-bit jhash of the tuple (fixed seed:
 * equal on every rewrite); a collision only makes two clients share a remembered slot. The IPv4 key
 * fits and is exact.
 */
const MEMORY_KEY = (ip: string) =>
  ip === 'ip'
    ? 'ip saddr . ip daddr . meta l4proto . th dport'
    : 'jhash ip6 saddr . ip6 daddr . meta l4proto . th dport mod 4294967295 seed 0x74656e65';
/** Its declaration (a `typeof jhash …` map crashes `nft list`; numgen declares the same 32-bit integer key). */
const MEMORY_DECLARATION = (ip: string) =>
  ip === 'ip' ? 'ip saddr . ip daddr . meta l4proto . th dport : ct mark' : 'numgen random mod 2 : ct mark';

/** The chain of one slot class: a random slot among `size`, DNAT through it. */
export function classChain(family: Family, size: number): NftChain {
  const ip = family === 4 ? 'ip' : 'ip6';
  return {
    name: classChainName(family, size),
    rules: [
      {
        matches: [],
        effects: [
          { kind: 'ctMarkSet', expr: randomSlot(size) },
          { kind: 'natMap', nat: 'dnat', family, withPort: true, key: SLOT_KEY(ip), map: SERVICE_NAMES.slots[family] },
        ],
        comment: `service ${size} slots`,
      },
    ],
  };
}

function rules(): { dnat: NftRule[]; reject: NftRule[]; snat: NftRule[] } {
  const dnat: NftRule[] = [];
  const reject: NftRule[] = [];
  const snat: NftRule[] = [];
  for (const family of FAMILIES) {
    const ip = family === 4 ? 'ip' : 'ip6';
    dnat.push(
      {
        matches: [{ kind: 'vmapLookup', keys: [`${ip} daddr`, 'meta l4proto', 'th dport'], map: SERVICE_NAMES.affinity[family] }],
        comment: `service affinity ipv${family}`,
      },
      {
        matches: [{ kind: 'vmapLookup', keys: [`${ip} daddr`, 'meta l4proto', 'th dport'], map: SERVICE_NAMES.dispatch[family] }],
        comment: `service ipv${family}`,
      },
    );
    reject.push(
      {
        matches: [
          { kind: 'addr', family, field: 'daddr', set: SERVICE_NAMES.vip[family] },
          { kind: 'l4', proto: 'tcp' },
        ],
        verdict: { kind: 'reject', tcpReset: true },
        comment: `service without backend ipv${family} tcp`,
      },
      {
        matches: [{ kind: 'addr', family, field: 'daddr', set: SERVICE_NAMES.vip[family] }],
        verdict: { kind: 'reject' },
        comment: `service without backend ipv${family}`,
      },
    );
    snat.push({
      matches: [{ kind: 'family', family }],
      effects: [
        { kind: 'natMap', nat: 'snat', family, withPort: false, key: `${ip} saddr . ${ip} daddr`, map: SERVICE_NAMES.hairpin[family] },
      ],
      comment: `service hairpin ipv${family}`,
    });
  }
  return { dnat, reject, snat };
}

/**
 * The chain of ClientIP affinity with one timeout: the remembered slot, else a random one; the memory
 * is refreshed with every new connection (the timeout counts silence), then DNAT through the slot.
 */
export function affinityChain(family: Family, timeoutSeconds: number): NftChain {
  const ip = family === 4 ? 'ip' : 'ip6';
  return {
    name: affinityChainName(family, timeoutSeconds),
    rules: [
      {
        matches: [],
        effects: [{ kind: 'ctMarkSet', expr: `${MEMORY_KEY(ip)} map @${SERVICE_NAMES.memory[family]}` }],
        comment: 'remembered slot',
      },
      { matches: [{ kind: 'ctMark', value: 0 }], effects: [{ kind: 'ctMarkSet', expr: RANDOM_SLOT }], comment: 'new client' },
      {
        matches: [],
        effects: [{ kind: 'mapUpdate', map: SERVICE_NAMES.memory[family], key: MEMORY_KEY(ip), timeoutSeconds, data: 'ct mark' }],
        comment: 'remember',
      },
      {
        matches: [],
        effects: [{ kind: 'natMap', nat: 'dnat', family, withPort: true, key: SLOT_KEY(ip), map: SERVICE_NAMES.slots[family] }],
        comment: `service affinity ${timeoutSeconds}s`,
      },
    ],
  };
}

const RULES = rules();
/** Built once: an unchanged chain is the same object in every program (the diff skips it without fingerprinting). */
const CLASS_CHAINS = new Map(
  SLOT_CLASSES.flatMap((size) => FAMILIES.map((family) => [`${family}|${size}`, classChain(family, size)] as const)),
);

/** What one service gives one family's sets and maps. */
interface FamilyPart {
  vip: string;
  /** `VIP . proto . port` → its affinity chain (ClientIP), else empty. */
  affinity: Readonly<Record<string, string>>;
  timeout?: number;
  own: ServiceSlots;
}

type ServiceParts = Partial<Record<Family, FamilyPart>>;

function serviceParts(
  tenant: Pick<TenantView, 'name' | 'endpoints'>,
  service: Service,
  excluded: string | undefined,
  memo: SlotMemo | undefined,
  views: ReadonlyMap<string, EndpointView>,
): ServiceParts {
  const parts: ServiceParts = {};
  for (const family of FAMILIES) {
    const vip = vipOf(service, family);
    if (vip === undefined) continue;
    const affinity: Record<string, string> = {};
    let timeout: number | undefined;
    if (service.spec.sessionAffinity === 'ClientIP') {
      timeout = service.spec.sessionAffinityTimeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
      for (const port of service.spec.ports) affinity[`${vip} . ${protoNumber(port)} . ${port.port}`] = affinityChainName(family, timeout);
    }
    parts[family] = { vip, affinity, timeout, own: serviceSlots(tenant, service, family, { excluded, memo, views }) };
  }
  return parts;
}

function sameParts(a: ServiceParts, b: ServiceParts): boolean {
  return FAMILIES.every((family) => {
    const x = a[family];
    const y = b[family];
    if (x === undefined || y === undefined) return x === y;
    return x.vip === y.vip && x.timeout === y.timeout && x.own === y.own && JSON.stringify(x.affinity) === JSON.stringify(y.affinity);
  });
}

/** Whether a service has its virtual IPs yet (only then is it realized). */
export const hasVip = (s: Service): boolean => (s.status?.virtualIPs ?? []).length > 0;

/**
 * The fragment from each service's parts (in the order of `services`). `previous`: the last fragment
 * and what changed since (the services whose parts changed, came or went; whether the VIP set and the
 * affinity dispatch stayed): its slot and dispatch groups are then changed in those services only, and
 * its unchanged sets and maps are reused, so the diff looks at the changed services only.
 */
function assemble(
  tenant: Pick<TenantView, 'endpoints' | 'networks'>,
  list: ReadonlyArray<{ name: string; parts: ServiceParts }> | (() => ReadonlyArray<{ name: string; parts: ServiceParts }>),
  excluded: string | undefined,
  previous?: { program: NftProgram; vipsSame: boolean; affinitySame: boolean; changes: ReadonlyMap<string, ServiceParts | undefined> },
): NftProgram {
  const program: NftProgram = { family: 'inet', table: TABLE_NAME, sets: [], maps: [], chains: [], interfaces: {} };
  // Made only when walked (not on the incremental path, where the last groups are changed instead).
  let made: ReadonlyArray<{ name: string; parts: ServiceParts }> | undefined = typeof list === 'function' ? undefined : list;
  const services = (): ReadonlyArray<{ name: string; parts: ServiceParts }> => (made ??= (list as () => typeof made)()!);
  if (typeof list !== 'function' && list.length === 0) return program;
  const before = previous && previous.program.chains.length > 0 ? previous : undefined;
  const lastMap = (name: string): NftVmap | undefined => before?.program.maps.find((m) => m.name === name);
  const timeouts = new Set<number>();
  for (const family of FAMILIES) {
    const ip = family === 4 ? 'ip' : 'ip6';
    const vips: string[] = [];
    const affinity: Record<string, string> = {};
    let slots: ReadonlyMap<string, Readonly<Record<string, string>>>;
    let dispatch: ReadonlyMap<string, Readonly<Record<string, string>>>;
    const lastSlots = lastMap(SERVICE_NAMES.slots[family])?.groups;
    const lastDispatch = lastMap(SERVICE_NAMES.dispatch[family])?.groups;
    const walkAll = !before?.vipsSame || !before.affinitySame || !lastSlots || !lastDispatch;
    if (walkAll) {
      for (const { parts } of services()) {
        const part = parts[family];
        if (part === undefined) continue;
        vips.push(part.vip);
        if (part.timeout !== undefined) {
          timeouts.add(part.timeout);
          Object.assign(affinity, part.affinity);
        }
      }
    }
    if (before && lastSlots && lastDispatch) {
      const slotChanges = new Map<string, Readonly<Record<string, string>> | undefined>();
      const dispatchChanges = new Map<string, Readonly<Record<string, string>> | undefined>();
      for (const [name, parts] of before.changes) {
        slotChanges.set(name, parts?.[family]?.own.slots);
        dispatchChanges.set(name, parts?.[family]?.own.dispatch);
      }
      slots = groupsChanged(lastSlots, slotChanges);
      dispatch = groupsChanged(lastDispatch, dispatchChanges);
    } else {
      const allSlots = new Map<string, Readonly<Record<string, string>>>();
      const allDispatch = new Map<string, Readonly<Record<string, string>>>();
      for (const { name, parts } of services()) {
        const part = parts[family];
        if (part === undefined) continue;
        allSlots.set(name, part.own.slots);
        allDispatch.set(name, part.own.dispatch);
      }
      slots = allSlots;
      dispatch = allDispatch;
    }
    const type = family === 4 ? 'ipv4_addr' : 'ipv6_addr';
    // The same VIPs as last time: the same array, which the diff skips without comparing.
    const lastVips = before?.vipsSame ? before.program.sets.find((x) => x.name === SERVICE_NAMES.vip[family]) : undefined;
    // The sets and maps that grow with the services are trusted: never listed back while the agent has a record (NftVmap.trusted).
    program.sets.push(lastVips ?? { name: SERVICE_NAMES.vip[family], type, interval: false, elements: vips, trusted: true });
    // Declared by datatype: rules that look them up can be added in a later transaction (see NftVmap.declare).
    const map = (name: string, declared: string, elements: Record<string, string>): NftVmap => ({
      name,
      declare: 'type',
      typeof: declared,
      elements,
    });
    const lastAffinity = before?.affinitySame ? lastMap(SERVICE_NAMES.affinity[family]) : undefined;
    program.maps.push(
      lastAffinity ?? {
        name: SERVICE_NAMES.affinity[family],
        keyType: `${type} . inet_proto . inet_service`,
        elements: affinity,
        trusted: true,
      },
      groupedMap({ name: SERVICE_NAMES.dispatch[family], keyType: `${type} . inet_proto . inet_service`, trusted: true }, dispatch),
      {
        name: SERVICE_NAMES.memory[family],
        typeof: MEMORY_DECLARATION(ip),
        elements: {},
        dynamicSize: AFFINITY_MEMORY_SIZE,
      },
      groupedMap(
        {
          name: SERVICE_NAMES.slots[family],
          declare: 'type',
          typeof: `${type} . inet_proto . inet_service . mark : ${type} . inet_service`,
          trusted: true,
        },
        slots,
      ),
      map(SERVICE_NAMES.hairpin[family], `${type} . ${type} : ${type}`, hairpinElements(tenant, family, excluded)),
    );
  }
  // A chain per family and distinct timeout, and one per slot class (all of them, always: a service
  // changing class adds no chain), made before the dispatch maps that lead to them.
  if (before?.affinitySame) program.chains.push(...before.program.chains.filter((c) => c.name.startsWith('sv_aff')));
  else
    for (const timeout of [...timeouts].sort((a, b) => a - b))
      for (const family of FAMILIES) program.chains.push(affinityChain(family, timeout));
  for (const size of SLOT_CLASSES) for (const family of FAMILIES) program.chains.push(CLASS_CHAINS.get(`${family}|${size}`)!);
  program.chains.push(
    { name: SERVICE_NAMES.dnat, base: { hook: 'prerouting', type: 'nat', priority: DNAT_PRIORITY, policy: 'accept' }, rules: RULES.dnat },
    { name: SERVICE_NAMES.reject, base: { hook: 'prerouting', priority: REJECT_PRIORITY, policy: 'accept' }, rules: RULES.reject },
    { name: SERVICE_NAMES.snat, base: { hook: 'postrouting', type: 'nat', priority: SNAT_PRIORITY, policy: 'accept' }, rules: RULES.snat },
  );
  return program;
}

/** The service fragment of a tenant's table; empty when no service of the tenant has a VIP (no NAT hooks, no conntrack for it). */
export function servicesProgram(
  tenant: Pick<TenantView, 'name' | 'services' | 'endpoints' | 'networks'>,
  excluded?: string,
  memo?: SlotMemo,
): NftProgram {
  const views = new Map(tenant.endpoints.filter((e) => e.name !== excluded).map((e) => [e.name, e]));
  const services = tenant.services.filter(hasVip).map((service) => ({
    name: service.metadata.name,
    parts: serviceParts(tenant, service, excluded, memo, views),
  }));
  // Services gone: their memo goes with them.
  if (memo) {
    const live = new Set(services.flatMap(({ name, parts }) => FAMILIES.filter((f) => parts[f]).map((f) => `${name}|${f}`)));
    for (const key of memo.keys()) if (!live.has(key)) memo.delete(key);
  }
  return assemble(tenant, services, excluded);
}

const serviceKeys = new WeakMap<Service, string>();

/** What of a service its slots depend on (once per object: after a relist every object is new, most of them equal). */
function serviceKey(service: Service): string {
  let key = serviceKeys.get(service);
  if (key === undefined) serviceKeys.set(service, (key = JSON.stringify([service.spec, service.status?.virtualIPs ?? []])));
  return key;
}

const backendKeys = new WeakMap<EndpointView, string>();

/** What of an endpoint its being a backend, its address and its target ports depend on (once per view). */
function backendKey(e: EndpointView): string {
  let key = backendKeys.get(e);
  if (key === undefined) {
    const o = e.object;
    key = JSON.stringify([o.metadata.labels ?? {}, o.spec.network, o.status?.phase, o.status?.ipv4, o.status?.ipv6, o.spec.ports ?? []]);
    backendKeys.set(e, key);
  }
  return key;
}

/** Whether `endpoint` can be a backend of `service` whatever its readiness (its change may change the service's backends). */
function mayServe(service: Service, endpoint: EndpointView): boolean {
  return (
    (service.spec.network === undefined || endpoint.network === service.spec.network) &&
    selectorMatches(service.spec.selector, endpoint.object.metadata.labels ?? {})
  );
}

/**
 * The service fragment of one router namespace's table, compiled again at the cost of what changed:
 * a service is recompiled only when its object changed or an endpoint it may select did (added,
 * removed, relabelled, readied, readdressed), and an unchanged compile hands back the same program.
 * With 10,000 services a backend change then costs a selector test of the services one of the
 * endpoint's labels names (SelectorIndex), and the slot and dispatch groups of the changed services
 * (groupsChanged shares the rest). Holds no I/O: the producer keeps one per router namespace.
 */
export class ServiceNatCompiler {
  private readonly memo: SlotMemo = new Map();
  private parts = new Map<string, { service: Service; parts: ServiceParts }>();
  private views = new Map<string, EndpointView>();
  /** The tenant's services of the last compile (the very objects, in order). */
  private services: readonly Service[] = [];
  private last?: { program: NftProgram; excluded?: string; hairpin: string; order: string };
  /** The selectors of the services in `parts`, by the label values they require. */
  private readonly selectors = new SelectorIndex();

  /** The services whose selector may match one of `endpoints` (before or after their change). */
  private touched(endpoints: readonly EndpointView[]): Set<string> {
    const names = new Set<string>();
    for (const e of endpoints) this.selectors.candidates(e.object.metadata.labels ?? {}, names);
    return names;
  }

  compile(tenant: Pick<TenantView, 'name' | 'services' | 'endpoints' | 'networks'>, excluded?: string): NftProgram {
    const views = new Map(tenant.endpoints.filter((e) => e.name !== excluded).map((e) => [e.name, e]));
    // Endpoints changed in what selects, addresses or ports them (a new object for a status write
    // elsewhere — the agent's own, a heartbeat — changes nothing here).
    const changed: EndpointView[] = [];
    for (const [name, view] of views) {
      const old = this.views.get(name);
      if (old === view || (old && backendKey(old) === backendKey(view))) continue;
      changed.push(view);
      if (old) changed.push(old);
    }
    for (const [name, old] of this.views) if (!views.has(name)) changed.push(old);
    this.views = views;

    /** Services whose parts changed, came (their parts) or went (undefined). */
    const changes = new Map<string, ServiceParts | undefined>();
    let vipsSame = this.last !== undefined;
    let affinitySame = this.last !== undefined;
    const hasAffinity = (parts: ServiceParts): boolean => FAMILIES.some((f) => parts[f]?.timeout !== undefined);
    const recompile = (name: string, service: Service, known: { service: Service; parts: ServiceParts } | undefined) => {
      const parts = serviceParts(tenant, service, excluded, this.memo, views);
      if (known && sameParts(known.parts, parts)) return { service, parts: known.parts };
      changes.set(name, parts);
      if (!known || FAMILIES.some((f) => known.parts[f]?.vip !== parts[f]?.vip)) vipsSame = false;
      if ((known && hasAffinity(known.parts)) || hasAffinity(parts)) affinitySame = false;
      return { service, parts };
    };
    const order = tenant.services.length.toString();
    if (this.last && this.services.length === tenant.services.length && tenant.services.every((x, i) => x === this.services[i])) {
      // The very same services as last time (the usual pass: an endpoint changed, or nothing): only
      // those an endpoint change may touch are looked at, in place: the services one of the changed
      // endpoints' labels names (SelectorIndex), not every service.
      for (const name of this.touched(changed)) {
        const known = this.parts.get(name);
        if (!known || !changed.some((e) => mayServe(known.service, e))) continue;
        this.parts.set(name, recompile(name, known.service, known));
      }
    } else {
      const touched = this.touched(changed);
      const next = new Map<string, { service: Service; parts: ServiceParts }>();
      for (const service of tenant.services) {
        if (!hasVip(service)) continue;
        const name = service.metadata.name;
        let known = this.parts.get(name);
        // An equal service in a new object (after a relist every object is new): kept, under the new object.
        if (known && known.service !== service && serviceKey(known.service) === serviceKey(service))
          known = { service, parts: known.parts };
        const entry =
          !known || known.service !== service || (touched.has(name) && changed.some((e) => mayServe(service, e)))
            ? recompile(name, service, known)
            : known;
        next.set(name, entry);
        this.selectors.set(name, service.spec.selector);
      }
      for (const [name, known] of this.parts) {
        if (next.has(name)) continue;
        this.selectors.delete(name);
        changes.set(name, undefined);
        vipsSame = false;
        if (hasAffinity(known.parts)) affinitySame = false;
        for (const family of FAMILIES) this.memo.delete(`${name}|${family}`);
      }
      this.parts = next;
      this.services = [...tenant.services];
    }
    const hairpin = FAMILIES.map((f) => JSON.stringify(hairpinElements(tenant, f, excluded))).join('|');
    const last = this.last;
    if (last && changes.size === 0 && last.hairpin === hairpin && last.order === order) return last.program;
    const parts = this.parts;
    const program = assemble(
      tenant,
      parts.size === 0 ? [] : () => [...parts].map(([name, { parts: p }]) => ({ name, parts: p })),
      excluded,
      last ? { program: last.program, vipsSame: vipsSame && last.order === order, affinitySame, changes } : undefined,
    );
    this.last = { program, excluded, hairpin, order };
    return program;
  }
}

/** The endpoints a service's traffic can land on from this tenant view (for explain and describe). */
export function serviceBackendViews(tenant: Pick<TenantView, 'name' | 'endpoints'>, service: Service): EndpointView[] {
  const names = new Set(
    serviceBackends(
      tenant.name,
      service.spec,
      tenant.endpoints.map((e) => e.object),
    ).map((b) => b.endpoint),
  );
  return tenant.endpoints.filter((e) => names.has(e.name));
}
