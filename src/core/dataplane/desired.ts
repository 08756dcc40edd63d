/**
 * Desired kernel state of a host, computed from its HostView. Pure.
 *
 * Per tenant with endpoints here: one router namespace holding the gateways on lo, one host-side veth
 * per local endpoint with a /32 and /128 route, a permanent neighbour entry and a proxy-NDP entry for
 * each gateway of its network; one VXLAN device (when the tenant has a VNI and the host an underlay
 * address) with, per remote endpoint, a host route and a permanent neighbour entry pointing at the
 * remote host's VXLAN MAC, and per remote host one FDB entry to its underlay address.
 */
import type { EndpointView, HostView, NetworkView, TenantView } from './host-view';
import { hostVethMac, vxlanMac } from './names';
import type { FdbState, HostState, NamespaceState, NeighbourState, ProxyState, RouteState, VethState } from './state';
import { VXLAN_PORT } from './state';

export function hostRoute(address: string): string {
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

function gatewaysOf(network: NetworkView | undefined): string[] {
  return network ? network.subnets.map((s) => s.gateway) : [];
}

function endpointAddresses(endpoint: EndpointView): string[] {
  return [endpoint.ipv4, endpoint.ipv6].filter((a): a is string => a !== undefined);
}

export function desiredNamespace(view: HostView, tenant: TenantView): NamespaceState {
  const networks = new Map(tenant.networks.map((n) => [n.name, n]));
  const veths: VethState[] = [];
  const routes: RouteState[] = [];
  const neighbours: NeighbourState[] = [];
  const proxies: ProxyState[] = [];
  const fdb: FdbState[] = [];
  const loAddresses = new Set<string>();
  for (const network of tenant.networks) for (const gateway of gatewaysOf(network)) loAddresses.add(hostRoute(gateway));

  const hostsByName = new Map(view.hosts.map((h) => [h.name, h]));
  const vxlan =
    tenant.vni !== undefined && tenant.vxlanDevice && view.underlayIP
      ? {
          name: tenant.vxlanDevice,
          vni: tenant.vni,
          local: view.underlayIP,
          port: VXLAN_PORT,
          mac: vxlanMac(view.hostName, tenant.vni, tenant.uid),
          mtu: view.overlayMtu,
          learning: false,
        }
      : undefined;
  const remoteHosts = new Set<string>();

  for (const endpoint of tenant.endpoints) {
    if (endpoint.local && endpoint.hostIfName) {
      const network = networks.get(endpoint.network);
      const dev = endpoint.hostIfName;
      veths.push({ name: dev, mac: hostVethMac(dev), mtu: network?.mtu ?? view.overlayMtu, endpoint: endpoint.name });
      for (const address of endpointAddresses(endpoint)) {
        routes.push({ dst: hostRoute(address), dev });
        neighbours.push({ dst: address, lladdr: endpoint.mac, dev });
      }
      for (const gateway of gatewaysOf(network)) if (gateway.includes(':')) proxies.push({ dst: gateway, dev });
      continue;
    }
    if (endpoint.local || !vxlan || !endpoint.host) continue;
    const host = hostsByName.get(endpoint.host);
    if (!host || host.name === view.hostName) continue;
    const remoteMac = vxlanMac(host.name, vxlan.vni, tenant.uid);
    for (const address of endpointAddresses(endpoint)) {
      routes.push({ dst: hostRoute(address), dev: vxlan.name });
      neighbours.push({ dst: address, lladdr: remoteMac, dev: vxlan.name });
    }
    if (!remoteHosts.has(host.name) && endpointAddresses(endpoint).length > 0) {
      remoteHosts.add(host.name);
      fdb.push({ mac: remoteMac, dev: vxlan.name, dst: host.underlayIP });
    }
  }

  return {
    name: tenant.routerNamespace,
    tenant: tenant.name,
    vxlan,
    veths,
    loAddresses: [...loAddresses].sort(),
    routes: dedupe(routes, (r) => r.dst),
    neighbours: dedupe(neighbours, (n) => `${n.dev}|${n.dst}`),
    proxies,
    fdb,
  };
}

/**
 * The entries of one local veth in desiredNamespace(view, tenant), and only those (with the namespace's
 * name, VXLAN device and lo addresses): what an attach records after plumbing it. The same as filtering
 * desiredNamespace's lists by the veth, without deriving every other endpoint's entries — per attach
 * that was work in proportion to the namespace. A route whose address an earlier endpoint claims is
 * left out, as dedupe() does there.
 */
export function desiredVethState(view: HostView, tenant: TenantView, veth: string): NamespaceState {
  const own = tenant.endpoints.findIndex((e) => e.local && e.hostIfName === veth);
  const state: NamespaceState = {
    name: tenant.routerNamespace,
    tenant: tenant.name,
    vxlan: undefined,
    veths: [],
    loAddresses: [],
    routes: [],
    neighbours: [],
    proxies: [],
    fdb: [],
  };
  if (own < 0) return state;
  const endpoint = tenant.endpoints[own];
  const network = tenant.networks.find((n) => n.name === endpoint.network);
  const wanted = new Set(endpointAddresses(endpoint).map(hostRoute));
  const claimed = new Set<string>();
  if (wanted.size > 0) {
    const vxlan = tenant.vni !== undefined && tenant.vxlanDevice && view.underlayIP;
    const hosts = new Set(view.hosts.map((h) => h.name));
    for (let i = 0; i < own; i++) {
      const other = tenant.endpoints[i];
      // The endpoints desiredNamespace gives routes: local ones with a veth, remote ones on a known other host.
      const routed = other.local
        ? other.hostIfName !== undefined
        : vxlan && other.host !== undefined && other.host !== view.hostName && hosts.has(other.host);
      if (!routed) continue;
      for (const address of endpointAddresses(other)) if (wanted.has(hostRoute(address))) claimed.add(hostRoute(address));
    }
  }
  state.veths.push({ name: veth, mac: hostVethMac(veth), mtu: network?.mtu ?? view.overlayMtu, endpoint: endpoint.name });
  for (const address of endpointAddresses(endpoint)) {
    if (!claimed.has(hostRoute(address))) state.routes.push({ dst: hostRoute(address), dev: veth });
    state.neighbours.push({ dst: address, lladdr: endpoint.mac, dev: veth });
  }
  state.routes = dedupe(state.routes, (r) => r.dst);
  state.neighbours = dedupe(state.neighbours, (n) => `${n.dev}|${n.dst}`);
  for (const gateway of gatewaysOf(network)) if (gateway.includes(':')) state.proxies.push({ dst: gateway, dev: veth });
  return state;
}

/** First entry wins when two endpoints claim the same address (the controller's IPAM should prevent it). */
function dedupe<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function desiredHostState(view: HostView): HostState {
  return { namespaces: view.tenants.map((tenant) => desiredNamespace(view, tenant)) };
}
