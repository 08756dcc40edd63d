/**
 * Routed (non-NAT) external access (docs/external.md, "Routed networks"): which networks of a tenant
 * are routed, and the cluster-wide rule that no two tenants route overlapping subnets (the upstream
 * router would otherwise send one tenant's traffic to the other). Pure.
 */
import type { Tenant } from '../model/kinds/tenant';
import type { Network } from '../model/kinds/network';
import { cidrContains, cidrsOverlap, parseCidr, parseIp } from '../net/ip';

/** One routed subnet, named by where it comes from. */
export interface RoutedSubnet {
  tenant: string;
  network: string;
  cidr: string;
}

/** Whether `network` of `tenant` is routed: the tenant opted in and lists it (or lists none: every network). */
export function isRoutedNetwork(tenant: Pick<Tenant, 'spec'>, network: string): boolean {
  const routed = tenant.spec.routed;
  return routed !== undefined && (routed.networks === undefined || routed.networks.includes(network));
}

/** The routed subnets of one tenant (every family: uniqueness holds for all of them). */
export function routedSubnets(tenant: Pick<Tenant, 'spec' | 'metadata'>, networks: readonly Network[]): RoutedSubnet[] {
  return networks
    .filter((n) => isRoutedNetwork(tenant, n.metadata.name))
    .flatMap((n) => n.spec.subnets.map((s) => ({ tenant: tenant.metadata.name, network: n.metadata.name, cidr: s.cidr })));
}

/**
 * Overlaps between a routed subnet of one of `touched` tenants and a routed subnet of any other
 * tenant, each as a sentence naming both sides (sorted, deterministic). Overlaps inside one tenant
 * are the network check's business (its networks never overlap).
 */
export function routedConflicts(subnets: readonly RoutedSubnet[], touched: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const parsed = subnets.map((s) => ({ ...s, parsed: parseCidr(s.cidr) }));
  for (const mine of parsed) {
    if (!touched.has(mine.tenant) || !mine.parsed) continue;
    for (const theirs of parsed) {
      if (theirs.tenant === mine.tenant || !theirs.parsed || !cidrsOverlap(mine.parsed, theirs.parsed)) continue;
      // A pair of touched tenants is reported once.
      if (touched.has(theirs.tenant) && theirs.tenant < mine.tenant) continue;
      problems.push(
        `routed network "${mine.tenant}/${mine.network}" (${mine.cidr}) overlaps routed network "${theirs.tenant}/${theirs.network}" (${theirs.cidr})`,
      );
    }
  }
  return [...new Set(problems)].sort();
}

/**
 * Address space a routed subnet may never cover: what the hosts and the cluster themselves use. A
 * routed tenant's endpoint there would be announced to the upstream router and routed by its host into
 * the tenant: a tenant network over the underlay would draw the hosts' own traffic (BGP, the overlay)
 * into the tenant; over a floating IP pool, another tenant's floating IPs or egress addresses.
 */
export const ROUTED_RESERVED: readonly { cidr: string; why: string }[] = [
  { cidr: '0.0.0.0/8', why: '"this network"' },
  { cidr: '100.64.0.0/10', why: 'the egress transit range' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '169.254.0.0/16', why: 'link-local (the transit gateways)' },
  { cidr: '224.0.0.0/3', why: 'multicast and reserved' },
];

/** Why each routed subnet may not be routed (reserved ranges, a host's underlay address, a floating IP pool); [] when all may. */
export function routedReservedProblems(
  subnets: readonly RoutedSubnet[],
  cluster: { hosts: readonly { name: string; underlayIP: string }[]; pools: readonly { name: string; cidrs: readonly string[] }[] },
): string[] {
  const problems: string[] = [];
  for (const s of subnets) {
    const mine = parseCidr(s.cidr);
    if (!mine || mine.family !== 4) continue;
    const what = `routed network "${s.tenant}/${s.network}" (${s.cidr})`;
    for (const r of ROUTED_RESERVED) if (cidrsOverlap(mine, parseCidr(r.cidr)!)) problems.push(`${what} overlaps ${r.cidr}, ${r.why}`);
    for (const h of cluster.hosts) {
      const ip = parseIp(h.underlayIP);
      if (ip && cidrContains(mine, ip)) problems.push(`${what} contains ${h.underlayIP}, the underlay address of host "${h.name}"`);
    }
    for (const p of cluster.pools) {
      for (const c of p.cidrs) {
        const theirs = parseCidr(c);
        if (theirs && cidrsOverlap(mine, theirs)) problems.push(`${what} overlaps ${c} of floating IP pool "${p.name}"`);
      }
    }
  }
  return problems;
}
