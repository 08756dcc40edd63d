/**
 * Antispoofing: the part of a tenant router namespace's nft table that drops, before routing, policy
 * and connection tracking, every packet from a local container's interface whose source MAC is not the
 * endpoint's or whose source address is not one of the endpoint's addresses (IPv6 link-local sources
 * and the unspecified address of duplicate address detection aside, with the endpoint's MAC: they
 * cannot be routed, so policy, which keys on routable addresses, never sees them as anyone).
 *
 * Shape (the design note's): one prerouting base chain (priority raw, -300: before conntrack's -200)
 * with one lookup keyed by `iifname . ether saddr . ip saddr` (and `ip6 saddr`) in sets holding one
 * element per endpoint and address; a packet from an endpoint's interface that matches nothing is
 * dropped and counted under its interface in a dynamic set with a counter per element (the
 * per-endpoint drop figure). Packets from other interfaces (the VXLAN device, lo) are not an
 * endpoint's: accepted at once (they were checked on the host they came from). An attach or detach
 * changes elements only (no chain: a table with thousands of chains makes every chain change slow).
 * Honest packets cost two hash lookups; nothing here uses conntrack, so a namespace that runs without
 * policy hooks (src/core/policy/unhooked.ts) still tracks nothing. The chain's policy is drop and its
 * last rule drops: a hand flush of the table leaves a hook that drops everything (fail closed).
 *
 * Every name starts with `as_`: the producer owns them in the shared table (src/agent/nft/table.ts).
 * Pure: the agent feeds it the host view's tenant.
 */
import type { EndpointView, TenantView } from './host-view';
import { MAX_REPORTED_SPOOF_DROPS, type SpoofDropReport } from '../model/kinds/host';
import { MAC_REGEX } from '../model/names';
import { canonicalIp } from '../net/ip';
import { TABLE_NAME, withLazyInterfaces, type NftChain, type NftProgram, type NftRule, type NftSet } from '../policy/program';
import { derivedElements } from '../policy/elements';

export const ANTISPOOF_BASE = 'as_prerouting';
/** Interfaces of local endpoints. */
export const ANTISPOOF_IFACES = 'as_ifaces';
export const ANTISPOOF_SOURCES_4 = 'as_src4';
export const ANTISPOOF_SOURCES_6 = 'as_src6';
/** Interface and MAC, for the IPv6 sources every endpoint may use (link-local, ::). */
export const ANTISPOOF_MACS = 'as_mac';
/** Dropped packets per input interface (filled by the packet path). */
export const ANTISPOOF_DROPS = 'as_drops';
/** Before conntrack (-200): a forged packet never creates a connection-tracking entry. */
export const ANTISPOOF_PRIORITY = -300;
/** Comment of the drop rule. */
export const ANTISPOOF_COMMENT = 'antispoof';

/** IPv6 sources a container may use besides its address: link-local (NDP, router solicitation) and `::` (DAD). */
const IPV6_LOCAL_SOURCES = ['fe80::/10', '::'];

/** Host veth names (tv + hex): safe unquoted in a concatenation. */
const INTERFACE = /^[a-z][a-z0-9_-]{0,14}$/;

/** The set elements of one endpoint; throws on a value that must not reach the kernel. */
export function antispoofElements(
  endpoint: Pick<EndpointView, 'name' | 'mac' | 'ipv4' | 'ipv6'>,
  iface: string,
): { iface: string; mac: string; v4?: string; v6?: string } {
  if (!INTERFACE.test(iface)) throw new Error(`antispoof: refusing interface name "${iface}"`);
  const mac = endpoint.mac.toLowerCase();
  if (!MAC_REGEX.test(mac)) throw new Error(`antispoof: endpoint ${endpoint.name} has no valid MAC ("${endpoint.mac}")`);
  const v4 = endpoint.ipv4 === undefined ? undefined : canonicalIp(endpoint.ipv4);
  const v6 = endpoint.ipv6 === undefined ? undefined : canonicalIp(endpoint.ipv6);
  if ((endpoint.ipv4 !== undefined && (!v4 || v4.includes(':'))) || (endpoint.ipv6 !== undefined && (!v6 || !v6.includes(':')))) {
    throw new Error(`antispoof: endpoint ${endpoint.name} has an invalid address`);
  }
  return { iface, mac, v4, v6 };
}

/** The chain's rules (the same for every tenant: endpoints are set elements). */
export function antispoofRules(): NftRule[] {
  const accept = { kind: 'accept' } as const;
  return [
    {
      matches: [{ kind: 'lookup', keys: ['iifname'], set: ANTISPOOF_IFACES, negate: true }],
      verdict: accept,
      comment: 'not an endpoint interface',
    },
    {
      matches: [
        { kind: 'family', family: 4 },
        { kind: 'lookup', keys: ['iifname', 'ether saddr', 'ip saddr'], set: ANTISPOOF_SOURCES_4 },
      ],
      verdict: accept,
      comment: 'own ipv4',
    },
    {
      matches: [
        { kind: 'family', family: 6 },
        { kind: 'lookup', keys: ['iifname', 'ether saddr', 'ip6 saddr'], set: ANTISPOOF_SOURCES_6 },
      ],
      verdict: accept,
      comment: 'own ipv6',
    },
    ...IPV6_LOCAL_SOURCES.map((address): NftRule => ({
      matches: [
        { kind: 'saddrIs', family: 6, address },
        { kind: 'lookup', keys: ['iifname', 'ether saddr'], set: ANTISPOOF_MACS },
      ],
      verdict: accept,
      comment: 'own mac, link-local',
    })),
    { matches: [], effects: [{ kind: 'countByInterface', set: ANTISPOOF_DROPS }], verdict: { kind: 'drop' }, comment: ANTISPOOF_COMMENT },
  ];
}

/** One local endpoint's elements, as the sets hold them. */
export interface AntispoofEntry {
  iface: string;
  endpoint: string;
  /** `iface . mac` */
  mac: string;
  /** `iface . mac . ipv4` */
  v4?: string;
  /** `iface . mac . ipv6` */
  v6?: string;
}

/** What an endpoint's entry is made from: equal signatures give equal entries (the agent keeps them). */
export function antispoofSignature(endpoint: Pick<EndpointView, 'name' | 'mac' | 'ipv4' | 'ipv6'>, iface: string): string {
  return `${endpoint.name}|${iface}|${endpoint.mac}|${endpoint.ipv4 ?? ''}|${endpoint.ipv6 ?? ''}`;
}

export function antispoofEntry(endpoint: Pick<EndpointView, 'name' | 'mac' | 'ipv4' | 'ipv6'>, iface: string): AntispoofEntry {
  const e = antispoofElements(endpoint, iface);
  const mac = `${iface} . ${e.mac}`;
  return { iface, endpoint: endpoint.name, mac, ...(e.v4 ? { v4: `${mac} . ${e.v4}` } : {}), ...(e.v6 ? { v6: `${mac} . ${e.v6}` } : {}) };
}

/** The local endpoints with a host interface whose entries the fragment holds. */
export function antispoofSubjects(
  tenant: Pick<TenantView, 'endpoints'>,
  excluded?: string,
): Array<{ endpoint: EndpointView; iface: string }> {
  const out: Array<{ endpoint: EndpointView; iface: string }> = [];
  for (const endpoint of tenant.endpoints) {
    const iface = endpoint.local ? endpoint.hostIfName : undefined;
    if (iface && endpoint.name !== excluded) out.push({ endpoint, iface });
  }
  return out;
}

/** Each set's elements of an entry. */
const SET_ELEMENTS: ReadonlyArray<[string, NftSet['type'], (e: AntispoofEntry) => string | undefined]> = [
  [ANTISPOOF_IFACES, 'ifname', (e) => e.iface],
  [ANTISPOOF_MACS, 'ifname . ether_addr', (e) => e.mac],
  [ANTISPOOF_SOURCES_4, 'ifname . ether_addr . ipv4_addr', (e) => e.v4],
  [ANTISPOOF_SOURCES_6, 'ifname . ether_addr . ipv6_addr', (e) => e.v6],
];

/** Entries that changed since `previous` (a fragment made by this function): its sets record the change for the diff. */
export interface AntispoofChange {
  previous: NftProgram;
  added: readonly AntispoofEntry[];
  removed: readonly AntispoofEntry[];
}

/** The chain is the same for every fragment: one object, so the diff sees it unchanged without hashing its rules. */
let baseChain: NftChain | undefined;

/** The antispoof fragment of a tenant's table from its endpoints' entries. */
export function antispoofProgramOf(entries: readonly AntispoofEntry[], change?: AntispoofChange): NftProgram {
  const sets = SET_ELEMENTS.map(([name, type, of]): NftSet => {
    const elements: string[] = [];
    for (const entry of entries) {
      const element = of(entry);
      if (element !== undefined) elements.push(element);
    }
    const before = change?.previous.sets.find((s) => s.name === name)?.elements;
    if (change && before) {
      const pick = (list: readonly AntispoofEntry[]): string[] => list.flatMap((e) => of(e) ?? []);
      derivedElements(before, elements, pick(change.added), pick(change.removed));
    }
    return { name, type, interval: false, elements };
  });
  return withLazyInterfaces(
    {
      family: 'inet',
      table: TABLE_NAME,
      sets: [...sets, { name: ANTISPOOF_DROPS, type: 'ifname', interval: false, elements: [], dynamicCounters: true }],
      maps: [],
      chains: [
        (baseChain ??= {
          name: ANTISPOOF_BASE,
          base: { hook: 'prerouting', priority: ANTISPOOF_PRIORITY, policy: 'drop' },
          rules: antispoofRules(),
        }),
      ],
    },
    () => Object.fromEntries(entries.map((e) => [e.iface, e.endpoint])),
  );
}

/** The antispoof fragment of a tenant's table: every local endpoint with a host interface. */
export function antispoofProgram(tenant: Pick<TenantView, 'endpoints'>, excluded?: string): NftProgram {
  return antispoofProgramOf(antispoofSubjects(tenant, excluded).map(({ endpoint, iface }) => antispoofEntry(endpoint, iface)));
}

/** Drops per endpoint name, from the drop set's counters per interface (only endpoints that dropped anything). */
export function spoofDrops(
  perInterface: ReadonlyMap<string, { packets: number; bytes: number }>,
  endpointOf: ReadonlyMap<string, string>,
): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const [iface, c] of perInterface) {
    const name = endpointOf.get(iface);
    // An interface no endpoint has any more (its element outlives it) is nobody's.
    if (name === undefined || (c.packets === 0 && c.bytes === 0)) continue;
    out.set(name, { packets: c.packets, bytes: c.bytes });
  }
  return out;
}

/** One host's report: drops per endpoint of every tenant namespace, sorted, at most `limit` entries. */
export function hostSpoofDrops(
  perTenant: ReadonlyArray<{ tenant: string; drops: ReadonlyMap<string, { packets: number; bytes: number }> }>,
  limit = MAX_REPORTED_SPOOF_DROPS,
): SpoofDropReport[] {
  const out: SpoofDropReport[] = [];
  for (const { tenant, drops } of perTenant)
    for (const [endpoint, c] of drops) out.push({ tenant, endpoint, packets: c.packets, bytes: c.bytes });
  out.sort((a, b) => (a.tenant === b.tenant ? (a.endpoint < b.endpoint ? -1 : 1) : a.tenant < b.tenant ? -1 : 1));
  return out.slice(0, limit);
}
