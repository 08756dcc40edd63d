/**
 * Routed (non-NAT) external access (docs/external.md, "Routed networks"): which networks of a tenant
 * are routed, and the cluster-wide rule that no two tenants route overlapping subnets (the upstream
 * router would otherwise send one tenant's traffic to the other). Pure.
 */
import type { Tenant } from '../model/kinds/tenant';
import type { Network } from '../model/kinds/network';
import { cidrsOverlap, parseCidr } from '../net/ip';

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
