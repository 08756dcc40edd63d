/**
 * Antispoofing: the part of a tenant router namespace's nft table that drops, before routing, policy
 * and connection tracking, every packet from a local container's interface whose source MAC is not the
 * endpoint's or whose source address is not one of the endpoint's addresses (IPv6 link-local sources
 * and the unspecified address of duplicate address detection aside; they cannot be routed, so policy,
 * which keys on routable addresses, never sees them as anyone).
 *
 * Shape: one prerouting base chain (priority -300, before conntrack's -200) dispatching on the input
 * interface through a verdict map, one element per local endpoint, into that endpoint's own chain,
 * whose rules drop what is not the endpoint's (each with a counter named after the endpoint: the
 * per-endpoint drop figure). A packet from any other interface (the VXLAN device, lo) misses the map
 * and is accepted by the chain's policy: it was checked on the host it came from. Honest packets cost
 * one map lookup and two or three comparisons; nothing here uses conntrack, so a namespace that runs
 * without hooks (src/core/policy/unhooked.ts) still tracks nothing.
 *
 * Every name starts with `as_`: the producer owns them in the shared table (src/agent/nft/table.ts).
 * Pure: the agent feeds it the host view's tenant.
 */
import type { EndpointView, TenantView } from './host-view';
import { MAX_REPORTED_SPOOF_DROPS, type SpoofDropReport } from '../model/kinds/host';
import { MAC_REGEX } from '../model/names';
import { canonicalIp } from '../net/ip';
import { failClosedChain } from '../policy/fail-closed';
import { stableHash } from '../policy/names';
import { TABLE_NAME, type NftChain, type NftProgram, type NftRule } from '../policy/program';

export const ANTISPOOF_BASE = 'as_prerouting';
export const ANTISPOOF_MAP = 'as_dispatch';
/** Before conntrack (-200): a forged packet never creates a connection-tracking entry. */
export const ANTISPOOF_PRIORITY = -300;
/** Comment of every drop rule: `antispoof:<endpoint>`; its counters are the endpoint's drops. */
export const ANTISPOOF_COMMENT_PREFIX = 'antispoof:';

/** IPv6 sources a container may use besides its address: link-local (NDP, router solicitation) and `::` (DAD). */
const IPV6_LOCAL_SOURCES = ['fe80::/10', '::'];

const INTERFACE = /^[A-Za-z0-9_.-]{1,15}$/;

/** The chain of one endpoint: named after its content, so a changed address or MAC makes a new chain. */
export function antispoofChainName(iface: string, mac: string, ipv4?: string, ipv6?: string): string {
  return `as_${stableHash(`${iface}|${mac}|${ipv4 ?? ''}|${ipv6 ?? ''}`).slice(0, 12)}`;
}

/** The rules of one endpoint's chain; throws on a value that must not reach the kernel. */
export function antispoofRules(endpoint: Pick<EndpointView, 'name' | 'mac' | 'ipv4' | 'ipv6'>): NftRule[] {
  const mac = endpoint.mac.toLowerCase();
  if (!MAC_REGEX.test(mac)) throw new Error(`antispoof: endpoint ${endpoint.name} has no valid MAC ("${endpoint.mac}")`);
  const v4 = endpoint.ipv4 === undefined ? undefined : canonicalIp(endpoint.ipv4);
  const v6 = endpoint.ipv6 === undefined ? undefined : canonicalIp(endpoint.ipv6);
  if ((endpoint.ipv4 !== undefined && (!v4 || v4.includes(':'))) || (endpoint.ipv6 !== undefined && (!v6 || !v6.includes(':')))) {
    throw new Error(`antispoof: endpoint ${endpoint.name} has an invalid address`);
  }
  const comment = `${ANTISPOOF_COMMENT_PREFIX}${endpoint.name}`;
  const drop = { kind: 'drop' } as const;
  const accept = { kind: 'accept' } as const;
  // Single values only, no anonymous sets: this chain is made in the attach's transaction.
  return [
    { matches: [{ kind: 'etherSaddr', mac, negate: true }], verdict: drop, comment },
    // No IPv4 address: nothing it sends over IPv4 is its own.
    { matches: v4 ? [{ kind: 'family', family: 4 }, { kind: 'saddrIn', family: 4, addresses: [v4], negate: true }] : [{ kind: 'family', family: 4 }], verdict: drop, comment },
    ...[...(v6 ? [v6] : []), ...IPV6_LOCAL_SOURCES].map((source): NftRule => ({ matches: [{ kind: 'saddrIn', family: 6, addresses: [source] }], verdict: accept, comment: 'antispoof-ok' })),
    { matches: [{ kind: 'family', family: 6 }], verdict: drop, comment },
    // Reached by goto: falling off the end would apply the base chain's policy, which is drop (fail closed).
    { matches: [], verdict: accept, comment: 'antispoof-ok' },
  ];
}

/** The antispoof fragment of a tenant's table: every local endpoint with a host interface. */
export function antispoofProgram(tenant: Pick<TenantView, 'endpoints'>, excluded?: string): NftProgram {
  const elements: Record<string, string> = {};
  const chains: NftChain[] = [];
  const interfaces: Record<string, string> = {};
  for (const endpoint of tenant.endpoints) {
    const iface = endpoint.local ? endpoint.hostIfName : undefined;
    if (!iface || endpoint.name === excluded) continue;
    if (!INTERFACE.test(iface)) throw new Error(`antispoof: refusing interface name "${iface}"`);
    const name = antispoofChainName(iface, endpoint.mac.toLowerCase(), endpoint.ipv4, endpoint.ipv6);
    elements[iface] = name;
    interfaces[iface] = endpoint.name;
    chains.push({ name, rules: antispoofRules(endpoint) });
  }
  return {
    family: 'inet',
    table: TABLE_NAME,
    sets: [],
    maps: [{ name: ANTISPOOF_MAP, elements }],
    chains: [
      // Fail closed: a hand flush of the table leaves this chain with its policy, drop (src/core/policy/fail-closed.ts).
      failClosedChain({
        name: ANTISPOOF_BASE,
        base: { hook: 'prerouting', priority: ANTISPOOF_PRIORITY, policy: 'accept' },
        rules: [{ matches: [{ kind: 'vmap', field: 'iifname', map: ANTISPOOF_MAP }] }],
      }),
      ...chains,
    ],
    interfaces,
  };
}

export interface SpoofCounter {
  chain: string;
  comment: string;
  packets: number;
  bytes: number;
}

/** Drops per endpoint name, from the table's rule counters (only endpoints that dropped anything). */
export function spoofDrops(counters: readonly SpoofCounter[]): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const c of counters) {
    if (!c.comment.startsWith(ANTISPOOF_COMMENT_PREFIX) || (c.packets === 0 && c.bytes === 0)) continue;
    const name = c.comment.slice(ANTISPOOF_COMMENT_PREFIX.length);
    const entry = out.get(name) ?? { packets: 0, bytes: 0 };
    entry.packets += c.packets;
    entry.bytes += c.bytes;
    out.set(name, entry);
  }
  return out;
}

/** One host's report: drops per endpoint of every tenant namespace, sorted, at most `limit` entries. */
export function hostSpoofDrops(
  perTenant: ReadonlyArray<{ tenant: string; drops: ReadonlyMap<string, { packets: number; bytes: number }> }>,
  limit = MAX_REPORTED_SPOOF_DROPS,
): SpoofDropReport[] {
  const out: SpoofDropReport[] = [];
  for (const { tenant, drops } of perTenant) for (const [endpoint, c] of drops) out.push({ tenant, endpoint, packets: c.packets, bytes: c.bytes });
  out.sort((a, b) => (a.tenant === b.tenant ? (a.endpoint < b.endpoint ? -1 : 1) : a.tenant < b.tenant ? -1 : 1));
  return out.slice(0, limit);
}
