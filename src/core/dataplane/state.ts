/**
 * Kernel state of one tenant router namespace, in one normal form shared by the desired state
 * (computed from a HostView) and the actual state (read back with `ip -json`), so that diffing is a
 * plain comparison of keyed entries. Addresses are canonical text; host routes always carry /32 or /128.
 */

export interface VxlanState {
  name: string;
  vni: number;
  /** Underlay source address (the host's underlay IP). */
  local: string;
  port: number;
  mac: string;
  mtu: number;
  /** Learning of remote MACs from received packets: always off (every entry is programmed). */
  learning: boolean;
}

export interface VethState {
  /** Host-side name in the tenant namespace. */
  name: string;
  mac: string;
  mtu: number;
  /** Endpoint this veth belongs to (desired state only). */
  endpoint?: string;
  ifindex?: number;
  up?: boolean;
}

export interface RouteState {
  /** Host route: 10.1.0.5/32 or fd00::5/128. */
  dst: string;
  dev: string;
}

export interface NeighbourState {
  dst: string;
  lladdr: string;
  dev: string;
}

export interface ProxyState {
  dst: string;
  dev: string;
}

export interface FdbState {
  mac: string;
  dev: string;
  /** Remote underlay address. */
  dst: string;
}

export interface NamespaceState {
  name: string;
  tenant: string;
  vxlan?: VxlanState;
  veths: VethState[];
  /** Gateway addresses on lo, with prefix (/32, /128). */
  loAddresses: string[];
  routes: RouteState[];
  neighbours: NeighbourState[];
  proxies: ProxyState[];
  fdb: FdbState[];
}

export interface HostState {
  /** Tenant router namespaces, by name. */
  namespaces: NamespaceState[];
}

/**
 * Sysctls every tenant router namespace gets when it is created; full passes read them back and write
 * the ones that differ (a namespace is shared ground: an operator or a tool can change them).
 */
export const ROUTER_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_forward': '1',
  'net.ipv6.conf.all.forwarding': '1',
  'net.ipv4.conf.all.proxy_arp': '1',
  'net.ipv6.conf.all.proxy_ndp': '1',
  'net.ipv6.conf.default.accept_dad': '0',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
};

export const VXLAN_PORT = 4789;

export const routeKey = (r: RouteState): string => r.dst;
export const neighbourKey = (n: NeighbourState): string => `${n.dev}|${n.dst}`;
export const proxyKey = (p: ProxyState): string => `${p.dev}|${p.dst}`;
export const fdbKey = (f: FdbState): string => `${f.dev}|${f.mac}|${f.dst}`;
