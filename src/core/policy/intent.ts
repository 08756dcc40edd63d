/**
 * The intent the policy compiler reads, and the pure questions it asks of it:
 * which endpoints a selector, group or peer stands for, and which policies apply
 * to an endpoint. Both the compiler and the impact preview use these.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import type { Group } from '../model/kinds/group';
import type { Host } from '../model/kinds/host';
import type { Network } from '../model/kinds/network';
import type { GlobalPolicy, Policy, PolicySpec } from '../model/kinds/policy';
import type { Scope } from '../model/kinds/scope';
import type { Tenant } from '../model/kinds/tenant';
import { selectorMatches, type Labels, type LabelSelector } from '../model/selectors';
import { canonicalIp } from '../net/ip';
import type { Direction, TierName } from './program';

export interface PolicyIntent {
  tenants: Tenant[];
  scopes: Scope[];
  groups: Group[];
  networks: Network[];
  policies: Policy[];
  globalPolicies: GlobalPolicy[];
  endpoints: Endpoint[];
  /** Hosts, for GlobalPolicy `hostSelector` peers; absent: such peers match nothing. */
  hosts?: HostPeer[];
}

/** The Hosts as `hostSelector` peers see them. */
export function hostPeers(hosts: readonly Host[]): HostPeer[] {
  return hosts.map((h) => {
    const ip = canonicalIp(h.spec.underlayIP);
    return { name: h.metadata.name, labels: { ...(h.metadata.labels ?? {}) }, addresses: ip ? [ip] : [] };
  });
}

/** Does any policy of the intent have a `hostSelector` peer (so its verdicts need the Hosts)? */
export function usesHostPeers(policies: readonly AnyPolicy[]): boolean {
  return policies.some((p) =>
    [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])].some((r) =>
      [...(r.from ?? []), ...(r.to ?? [])].some((peer) => peer.hostSelector !== undefined),
    ),
  );
}

/** What a `hostSelector` peer reads of a Host: its labels and the addresses it stands for. */
export interface HostPeer {
  name: string;
  labels: Labels;
  /** Canonical addresses: the Host's underlay IP. */
  addresses: string[];
}

export const DEFAULT_PRIORITY = 1000;

export type AnyPolicy = Policy | GlobalPolicy;

export function policyTier(policy: AnyPolicy): TierName {
  if (policy.kind === 'Policy') return 'tenant';
  return policy.spec.tier === 'baseline' ? 'baseline' : 'admin';
}

export function policyLabel(policy: AnyPolicy): string {
  return policy.kind === 'Policy' ? `Policy ${policy.metadata.tenant}/${policy.metadata.name}` : `GlobalPolicy ${policy.metadata.name}`;
}

const addressCache = new WeakMap<Endpoint, string[]>();

/** Both addresses of an endpoint, canonical text; status wins over the requested spec.ips. (Objects are treated as immutable.) */
export function endpointAddresses(endpoint: Endpoint): string[] {
  const cached = addressCache.get(endpoint);
  if (cached) return cached;
  const list = computeAddresses(endpoint);
  addressCache.set(endpoint, list);
  return list;
}

function computeAddresses(endpoint: Endpoint): string[] {
  const out = new Set<string>();
  for (const text of [endpoint.status?.ipv4, endpoint.status?.ipv6, ...(endpoint.spec.ips ?? [])]) {
    if (!text) continue;
    const ip = canonicalIp(text);
    if (ip) out.add(ip);
  }
  return [...out];
}

/** Directions a policy isolates (tenant tier): policyTypes if given, else the directions that have rule lists. */
export function isolatedDirections(spec: PolicySpec): Set<Direction> {
  if (spec.policyTypes) return new Set(spec.policyTypes.map((t) => (t === 'Ingress' ? 'ingress' : 'egress')));
  const out = new Set<Direction>();
  if (spec.ingress !== undefined) out.add('ingress');
  if (spec.egress !== undefined) out.add('egress');
  return out;
}

/** Everything about one tenant that selection needs, indexed once per compile. */
export class TenantIntent {
  readonly tenant: Tenant;
  readonly endpoints: Endpoint[];
  private readonly scopeLabels = new Map<string, Labels>();
  private readonly groups = new Map<string, Group>();
  private readonly networks = new Map<string, Network>();
  readonly hosts: HostPeer[];

  constructor(intent: PolicyIntent, tenantName: string) {
    const tenant = intent.tenants.find((t) => t.metadata.name === tenantName);
    this.tenant = tenant ?? { apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: tenantName }, spec: {} };
    this.endpoints = intent.endpoints.filter((e) => e.metadata.tenant === tenantName);
    for (const scope of intent.scopes)
      if (scope.metadata.tenant === tenantName) this.scopeLabels.set(scope.metadata.name, scope.metadata.labels ?? {});
    for (const group of intent.groups) if (group.metadata.tenant === tenantName) this.groups.set(group.metadata.name, group);
    for (const network of intent.networks) if (network.metadata.tenant === tenantName) this.networks.set(network.metadata.name, network);
    this.hosts = intent.hosts ?? [];
  }

  /** Addresses of the hosts whose labels match (a `hostSelector` peer). */
  hostAddresses(selector: LabelSelector): string[] {
    return this.hosts.filter((h) => selectorMatches(selector, h.labels)).flatMap((h) => h.addresses);
  }

  get name(): string {
    return this.tenant.metadata.name;
  }

  group(name: string): Group | undefined {
    return this.groups.get(name);
  }

  network(name: string): Network | undefined {
    return this.networks.get(name);
  }

  /** Labels of the endpoint's scope; undefined when it has none (then no scopeSelector matches it). */
  scopeLabelsOf(endpoint: Endpoint): Labels | undefined {
    if (endpoint.spec.scope === undefined) return undefined;
    return this.scopeLabels.get(endpoint.spec.scope) ?? {};
  }

  /** GlobalPolicy tenant restriction: absent means every tenant. */
  admitsTenant(tenants: string[] | undefined, tenantSelector: LabelSelector | undefined): boolean {
    if (tenants !== undefined && !tenants.includes(this.name)) return false;
    if (tenantSelector !== undefined && !selectorMatches(tenantSelector, this.tenant.metadata.labels ?? {})) return false;
    return true;
  }

  /** Endpoint predicate of selector + scopeSelector + group (all optional; absent parts do not restrict). */
  endpointMatches(endpoint: Endpoint, sel: { group?: string; selector?: LabelSelector; scopeSelector?: LabelSelector }): boolean {
    const labels = endpoint.metadata.labels ?? {};
    if (sel.group !== undefined) {
      const group = this.groups.get(sel.group);
      if (!group || !selectorMatches(group.spec.selector, labels)) return false;
    }
    if (sel.selector !== undefined && !selectorMatches(sel.selector, labels)) return false;
    if (sel.scopeSelector !== undefined) {
      const scope = this.scopeLabelsOf(endpoint);
      if (scope === undefined || !selectorMatches(sel.scopeSelector, scope)) return false;
    }
    return true;
  }

  /** Does the policy select this endpoint (its appliesTo)? */
  applies(policy: AnyPolicy, endpoint: Endpoint): boolean {
    const a = policy.spec.appliesTo;
    if (policy.kind === 'GlobalPolicy' && !this.admitsTenant(a.tenants, a.tenantSelector)) return false;
    if (policy.kind === 'Policy' && policy.metadata.tenant !== this.name) return false;
    return this.endpointMatches(endpoint, a);
  }
}

/** Policies relevant to a tenant: its own Policy objects and GlobalPolicies that admit it. */
export function policiesForTenant(intent: PolicyIntent, view: TenantIntent): AnyPolicy[] {
  const own: AnyPolicy[] = intent.policies.filter((p) => p.metadata.tenant === view.name);
  const global: AnyPolicy[] = intent.globalPolicies.filter((p) =>
    view.admitsTenant(p.spec.appliesTo.tenants, p.spec.appliesTo.tenantSelector),
  );
  return [...own, ...global];
}

export function comparePolicies(a: AnyPolicy, b: AnyPolicy): number {
  const pa = a.spec.priority ?? DEFAULT_PRIORITY;
  const pb = b.spec.priority ?? DEFAULT_PRIORITY;
  if (pa !== pb) return pa - pb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
