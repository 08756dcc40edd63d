/**
 * HostView: everything one host's agent knows, filtered from the controller's objects by the pure
 * function buildHostView(). The agent computes its kernel state from it, and the policy enforcer
 * (src/agent/policy/) compiles nftables from it. Pure so it can move server-side later unchanged.
 *
 * Scope: the tenants that have at least one endpoint on this host; for each, its networks, scopes,
 * groups, policies, services and ALL its endpoints (local and remote); all GlobalPolicies; all hosts.
 */
import type { Tenant } from '../model/kinds/tenant';
import type { Network } from '../model/kinds/network';
import type { Scope } from '../model/kinds/scope';
import type { Group } from '../model/kinds/group';
import type { GlobalPolicy, Policy } from '../model/kinds/policy';
import type { Service } from '../model/kinds/service';
import type { Endpoint } from '../model/kinds/endpoint';
import type { Host } from '../model/kinds/host';
import type { FloatingIP, FloatingIPPool } from '../model/kinds/floating-ip';
import type { TenetObject } from '../model/object';
import { canonicalIp, formatIp, parseCidr, parseIp, type IpFamily } from '../net/ip';
import { endpointMac, hostVethName, tenantNamespaceName, vxlanDeviceName } from './names';

/**
 * Bytes VXLAN adds in front of an inner Ethernet frame: outer IP header (20 for IPv4, 40 for IPv6),
 * UDP 8, VXLAN 8 and the inner Ethernet header 14. The MTU of an interface counts from the IP header
 * on, so the inner IP packet may be this much smaller than the underlay device's MTU.
 */
export const VXLAN_OVERHEAD: Readonly<Record<IpFamily, number>> = { 4: 50, 6: 70 };

/** The smallest MTU an IPv6 interface may have (RFC 8200); an overlay below it would lose IPv6. */
export const MIN_OVERLAY_MTU = 1280;

/** Overlay MTU of an underlay device: its MTU minus the VXLAN overhead for the underlay's address family. */
export function overlayMtu(underlayMtu: number, family: IpFamily): number {
  if (!Number.isInteger(underlayMtu) || underlayMtu <= 0) throw new Error(`underlay MTU ${underlayMtu} is not a positive integer`);
  const mtu = underlayMtu - VXLAN_OVERHEAD[family];
  if (mtu < MIN_OVERLAY_MTU)
    throw new Error(
      `underlay MTU ${underlayMtu} leaves ${mtu} bytes for containers over VXLAN/IPv${family}, less than IPv6's minimum ${MIN_OVERLAY_MTU}`,
    );
  return mtu;
}

/** Overlay MTU when the underlay device is unknown: a 1500-byte IPv4 underlay. */
export const DEFAULT_OVERLAY_MTU = overlayMtu(1500, 4);

export interface HostInfo {
  name: string;
  underlayIP: string;
  underlayIPv6?: string;
  ready: boolean;
  /** The Host's labels: what GlobalPolicy `hostSelector` peers select by. */
  labels: Record<string, string>;
}

export interface SubnetView {
  family: IpFamily;
  /** Canonical CIDR, e.g. 10.1.0.0/24. */
  cidr: string;
  prefix: number;
  /** The gateway (explicit or the first address after the network address). */
  gateway: string;
}

export interface NetworkView {
  name: string;
  tenant: string;
  subnets: SubnetView[];
  mtu: number;
  object: Network;
}

export interface EndpointView {
  name: string;
  tenant: string;
  network: string;
  /** Host the endpoint lives on (spec.host); undefined when not yet placed. */
  host?: string;
  local: boolean;
  labels: Record<string, string>;
  scope?: string;
  containerId?: string;
  ifName?: string;
  /** Addresses from status (allocated by the controller), canonical text without prefix. */
  ipv4?: string;
  ipv6?: string;
  /** status.mac, else spec.mac, else the deterministic MAC the agent uses. */
  mac: string;
  phase?: 'pending' | 'ready' | 'error' | 'lost';
  ports: { name?: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
  /** Local endpoints only: tenant router namespace and host-side interface name. */
  routerNamespace?: string;
  hostIfName?: string;
  object: Endpoint;
}

export interface TenantView {
  name: string;
  /** metadata.uid: part of the VXLAN MAC, so a tenant's frames never reach another tenant that had the same VNI. */
  uid: string;
  /** VXLAN network identifier (status.vni); undefined until the controller allocated it. */
  vni?: number;
  defaultPolicy: 'allow' | 'deny';
  labels: Record<string, string>;
  /** Tenant router namespace on this host. */
  routerNamespace: string;
  /** VXLAN device in that namespace (only when vni is known). */
  vxlanDevice?: string;
  networks: NetworkView[];
  scopes: Scope[];
  groups: Group[];
  policies: Policy[];
  services: Service[];
  /** The tenant's floating IPs, sorted by name (docs/external.md). */
  floatingIPs: FloatingIP[];
  /** All endpoints of the tenant, local and remote, sorted by name. */
  endpoints: EndpointView[];
  object: Tenant;
}

export interface HostView {
  hostName: string;
  /** This host's underlay address (from its Host object, else the agent's flag). */
  underlayIP?: string;
  /** This host's IPv6 underlay address, when it has one (its Host object, else what the agent found). */
  underlayIPv6?: string;
  netnsPrefix: string;
  /** Tenants with at least one endpoint on this host, sorted by name. */
  tenants: TenantView[];
  globalPolicies: GlobalPolicy[];
  /** Every host, sorted by name. */
  hosts: HostInfo[];
  /** Every floating IP pool, sorted by name. */
  floatingIPPools: FloatingIPPool[];
  /** MTU of the VXLAN devices and the largest of container interfaces (see overlayMtu). */
  overlayMtu: number;
  /**
   * The egress addresses this host holds (Tenant spec.egress.address with spec.egress.host naming it),
   * of any tenant, with endpoints here or not (docs/external.md, "Egress address"). Sorted by tenant.
   */
  egressHeld: { tenant: string; uid: string; vni: number; address: string }[];
}

export interface HostViewOptions {
  hostName: string;
  netnsPrefix: string;
  /** Used when the Host object is not (yet) in the list. */
  underlayIP?: string;
  underlayIPv6?: string;
  /** From the underlay device (overlayMtu()); default DEFAULT_OVERLAY_MTU. */
  overlayMtu?: number;
}

/** The kinds an agent lists and watches to build its view. */
export const HOST_VIEW_KINDS = [
  'Tenant',
  'Network',
  'Scope',
  'Group',
  'Policy',
  'GlobalPolicy',
  'Service',
  'Endpoint',
  'Host',
  'FloatingIPPool',
  'FloatingIP',
] as const;

/** The order localeCompare gives, with one collator instead of one lookup per comparison. */
const collator = new Intl.Collator();
export const byName = <T extends { metadata: { name: string } }>(a: T, b: T): number => collator.compare(a.metadata.name, b.metadata.name);

export function subnetViews(network: Network): SubnetView[] {
  const views: SubnetView[] = [];
  for (const subnet of network.spec.subnets) {
    const cidr = parseCidr(subnet.cidr);
    if (!cidr) continue;
    const gateway =
      subnet.gateway !== undefined ? canonicalIp(subnet.gateway) : formatIp({ family: cidr.family, value: cidr.network + 1n });
    if (!gateway) continue;
    views.push({
      family: cidr.family,
      cidr: `${formatIp({ family: cidr.family, value: cidr.network })}/${cidr.prefix}`,
      prefix: cidr.prefix,
      gateway,
    });
  }
  return views;
}

/**
 * Views of unchanged endpoint objects are reused: an agent rebuilds its host view on every watch event,
 * and with thousands of endpoints parsing their addresses and hashing their names each time cost
 * ~10 ms per event. Objects are replaced, never changed, when they change; views are read-only.
 */
const endpointViews = new WeakMap<Endpoint, { key: string; view: EndpointView }>();

function endpointView(endpoint: Endpoint, tenant: string, options: HostViewOptions): EndpointView {
  const key = `${tenant}|${options.hostName}|${options.netnsPrefix}`;
  const cached = endpointViews.get(endpoint);
  if (cached?.key === key) return cached.view;
  const view = makeEndpointView(endpoint, tenant, options);
  endpointViews.set(endpoint, { key, view });
  return view;
}

function makeEndpointView(endpoint: Endpoint, tenant: string, options: HostViewOptions): EndpointView {
  const status = endpoint.status ?? {};
  const local = endpoint.spec.host === options.hostName;
  const ipv4 = status.ipv4 !== undefined ? canonicalIp(status.ipv4) : undefined;
  const ipv6 = status.ipv6 !== undefined ? canonicalIp(status.ipv6) : undefined;
  const view: EndpointView = {
    name: endpoint.metadata.name,
    tenant,
    network: endpoint.spec.network,
    host: endpoint.spec.host,
    local,
    labels: { ...(endpoint.metadata.labels ?? {}) },
    scope: endpoint.spec.scope,
    containerId: endpoint.spec.containerId,
    ifName: endpoint.spec.ifName,
    ipv4: ipv4 && parseIp(ipv4)?.family === 4 ? ipv4 : undefined,
    ipv6: ipv6 && parseIp(ipv6)?.family === 6 ? ipv6 : undefined,
    mac: (status.mac ?? endpoint.spec.mac ?? endpointMac(tenant, endpoint.metadata.name)).toLowerCase(),
    phase: status.phase,
    ports: [...(endpoint.spec.ports ?? [])],
    object: endpoint,
  };
  if (local) {
    view.routerNamespace = tenantNamespaceName(options.netnsPrefix, tenant);
    view.hostIfName = hostVethName(tenant, endpoint.metadata.name);
  }
  return view;
}

/** A tenant's objects of each tenant-scoped kind, as the view is made from them. */
export interface TenantObjects {
  networks: Network[];
  scopes: Scope[];
  groups: Group[];
  policies: Policy[];
  services: Service[];
  floatingIPs: FloatingIP[];
  endpoints: Endpoint[];
}

/** Where each tenant-scoped kind is collected while filtering. */
export const TENANT_FIELD: Partial<Record<TenetObject['kind'], keyof TenantObjects>> = {
  Network: 'networks',
  Scope: 'scopes',
  Group: 'groups',
  Policy: 'policies',
  Service: 'services',
  FloatingIP: 'floatingIPs',
  Endpoint: 'endpoints',
};

/**
 * The last sorted endpoint list per host and tenant: a view is rebuilt on every watch event, and sorting
 * thousands of endpoints by collation each time was a large part of it. The next list is the last one
 * without the objects that left, plus the new ones each put in place by a binary search: the order a
 * full sort gives (names are unique within a tenant), at a cost per change. Bounded.
 */
const lastSorted = new Map<string, Endpoint[]>();
const SORT_MEMO_LIMIT = 4096;

function sortedEndpoints(key: string, endpoints: readonly Endpoint[]): Endpoint[] {
  const before = lastSorted.get(key);
  let sorted: Endpoint[] | undefined;
  if (before) {
    const now = new Set(endpoints);
    const kept = before.filter((e) => now.has(e));
    const known = new Set(kept);
    const added = endpoints.filter((e) => !known.has(e));
    // Many new ones (a first list, a relist) are cheaper to sort whole.
    if (kept.length + added.length === endpoints.length && added.length <= 64) {
      sorted = kept;
      for (const e of added) {
        let lo = 0;
        let hi = sorted.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (byName(sorted[mid], e) <= 0) lo = mid + 1;
          else hi = mid;
        }
        sorted.splice(lo, 0, e);
      }
    }
  }
  sorted ??= [...endpoints].sort(byName);
  if (lastSorted.size >= SORT_MEMO_LIMIT && !lastSorted.has(key)) lastSorted.clear();
  lastSorted.set(key, sorted);
  // Not handed out as it is: the caller maps it to views.
  return sorted;
}

/** Filters the controller's objects down to what host `options.hostName` needs. */
export function buildHostView(objects: readonly TenetObject[], options: HostViewOptions): HostView {
  const tenants = new Map<string, Tenant>();
  const hosts: Host[] = [];
  const globalPolicies: GlobalPolicy[] = [];
  const pools: FloatingIPPool[] = [];
  const perTenant = new Map<string, TenantObjects>();
  const bucket = (tenant: string): TenantObjects => {
    let entry = perTenant.get(tenant);
    if (!entry) {
      entry = { networks: [], scopes: [], groups: [], policies: [], services: [], floatingIPs: [], endpoints: [] };
      perTenant.set(tenant, entry);
    }
    return entry;
  };
  for (const object of objects) {
    const field = TENANT_FIELD[object.kind];
    if (field) (bucket(object.metadata.tenant ?? '')[field] as TenetObject[]).push(object);
    else if (object.kind === 'Tenant') tenants.set(object.metadata.name, object as Tenant);
    else if (object.kind === 'Host') hosts.push(object as Host);
    else if (object.kind === 'GlobalPolicy') globalPolicies.push(object as GlobalPolicy);
    else if (object.kind === 'FloatingIPPool') pools.push(object as FloatingIPPool);
  }

  const tenantViews: TenantView[] = [];
  for (const [name, tenant] of [...tenants].sort(([a], [b]) => a.localeCompare(b))) {
    const entry = perTenant.get(name);
    const view = entry && buildTenantView(tenant, entry, options);
    if (view) tenantViews.push(view);
  }
  return assembleHostView(tenantViews, { tenants: [...tenants.values()], hosts, globalPolicies, pools }, options);
}

/**
 * One tenant's view, or undefined when the tenant has no endpoint on this host. `sorted`: every list of
 * `entry` is already in name order (a caller that keeps them so, src/core/dataplane/host-view-cache.ts).
 */
export function buildTenantView(tenant: Tenant, entry: TenantObjects, options: HostViewOptions, sorted = false): TenantView | undefined {
  if (!entry.endpoints.some((e) => e.spec.host === options.hostName)) return undefined;
  const name = tenant.metadata.name;
  const order = <T extends { metadata: { name: string } }>(list: T[]): T[] => (sorted ? list : [...list].sort(byName));
  const mtu = options.overlayMtu ?? DEFAULT_OVERLAY_MTU;
  const vni = tenant.status?.vni;
  return {
    name,
    uid: tenant.metadata.uid ?? '',
    vni,
    defaultPolicy: tenant.spec.defaultPolicy ?? 'allow',
    labels: { ...(tenant.metadata.labels ?? {}) },
    routerNamespace: tenantNamespaceName(options.netnsPrefix, name),
    vxlanDevice: vni !== undefined ? vxlanDeviceName(vni) : undefined,
    networks: order(entry.networks).map((network) => ({
      name: network.metadata.name,
      tenant: name,
      subnets: subnetViews(network),
      mtu: network.spec.mtu !== undefined ? Math.min(network.spec.mtu, mtu) : mtu,
      object: network,
    })),
    scopes: order(entry.scopes),
    groups: order(entry.groups),
    policies: order(entry.policies),
    services: order(entry.services),
    floatingIPs: order(entry.floatingIPs),
    endpoints: (sorted ? entry.endpoints : sortedEndpoints(`${options.hostName}|${name}`, entry.endpoints)).map((e) =>
      endpointView(e, name, options),
    ),
    object: tenant,
  };
}

/** The objects of no tenant a view needs. */
export interface ClusterObjects {
  tenants: Tenant[];
  hosts: Host[];
  globalPolicies: GlobalPolicy[];
  pools: FloatingIPPool[];
}

/** The host view from its tenants' views (in name order) and the cluster's objects. */
export function assembleHostView(tenantViews: TenantView[], cluster: ClusterObjects, options: HostViewOptions): HostView {
  const { tenants, hosts, globalPolicies, pools } = cluster;
  const mtu = options.overlayMtu ?? DEFAULT_OVERLAY_MTU;
  const hostInfos = [...hosts].sort(byName).map((h) => ({
    name: h.metadata.name,
    underlayIP: canonicalIp(h.spec.underlayIP) ?? h.spec.underlayIP,
    ...(h.spec.underlayIPv6 ? { underlayIPv6: canonicalIp(h.spec.underlayIPv6) ?? h.spec.underlayIPv6 } : {}),
    ready: h.status?.ready ?? false,
    labels: { ...(h.metadata.labels ?? {}) },
  }));
  const self = hostInfos.find((h) => h.name === options.hostName);
  const egressHeld = tenants
    .filter((t) => t.spec.egress?.address && t.spec.egress.host === options.hostName && t.status?.vni !== undefined)
    .map((t) => ({
      tenant: t.metadata.name,
      uid: t.metadata.uid ?? '',
      vni: t.status!.vni!,
      address: canonicalIp(t.spec.egress!.address!) ?? t.spec.egress!.address!,
    }))
    .sort((a, b) => collator.compare(a.tenant, b.tenant));
  return {
    hostName: options.hostName,
    underlayIP: self?.underlayIP ?? options.underlayIP,
    ...((self?.underlayIPv6 ?? options.underlayIPv6) ? { underlayIPv6: self?.underlayIPv6 ?? options.underlayIPv6 } : {}),
    netnsPrefix: options.netnsPrefix,
    tenants: tenantViews,
    globalPolicies: [...globalPolicies].sort(byName),
    hosts: hostInfos,
    floatingIPPools: [...pools].sort(byName),
    overlayMtu: mtu,
    egressHeld,
  };
}

/** The local endpoints of a view, across tenants. */
export function localEndpoints(view: HostView): EndpointView[] {
  return view.tenants.flatMap((t) => t.endpoints.filter((e) => e.local));
}
