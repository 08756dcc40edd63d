/**
 * The batches that plumb one container interface: host side (in the tenant router namespace) and
 * container side (in the container's namespace). Pure; the agent runs them with ip -batch.
 * Addresses keep their subnet prefix but get `noprefixroute`: every packet goes to the gateway, whose
 * MAC is a permanent neighbour entry in the container, so the container never resolves a peer. That
 * makes a new remote endpoint reachable the moment its route exists (a peer ARP sent a moment too early
 * would otherwise fail for a second). Proxy ARP and a proxy-NDP entry for the gateway stay on the host
 * end for runtimes that configure the interface themselves with a plain subnet route.
 */
import type { AttachResult } from './attach-types';
import type { EndpointView, NetworkView } from './host-view';
import { hostRoute } from './desired';
import { hostVethMac } from './names';
import { shapingLines, type Bandwidth } from './bandwidth';
import { containerDns } from '../dns/records';

export interface AttachPlan {
  /** Everything on the host side, in the router namespace: linkLines, then hostAddressLines. */
  hostLines: string[];
  /** The veth pair: needs no address, so it can be made while the controller allocates them. */
  linkLines: string[];
  /** Addresses, routes and neighbours of the host end. */
  hostAddressLines: string[];
  /** `tc -batch` lines for rate limits (empty without any): host end, then the container's end. */
  shapingHostLines: string[];
  shapingContainerLines: string[];
  containerLines: string[];
  result: AttachResult;
}

/** The veth pair of a container interface: host end up in the router namespace, the container's end still down. */
export function vethLines(veth: string, ifName: string, containerNetns: string, mtu: number): string[] {
  return [
    `link add ${veth} type veth peer name ${ifName} netns ${containerNetns}`,
    `link set ${veth} address ${hostVethMac(veth)} mtu ${mtu} up`,
    // Proxy ARP/NDP answers at once instead of after up to 0.8 s (tenet-ipd writes the sysctl; `ip
    // ntable` would dump every link of the namespace to find the device).
    `ntable change name arp_cache dev ${veth} proxy_delay 0`,
    `ntable change name ndisc_cache dev ${veth} proxy_delay 0`,
  ];
}

/** `clusterDomain`: the result names the tenant's resolver (its gateways on this network) and search list. */
export function attachPlan(
  endpoint: EndpointView,
  network: NetworkView,
  containerNetns: string,
  ifName: string,
  bandwidth?: Bandwidth,
  clusterDomain?: string,
): AttachPlan {
  const veth = endpoint.hostIfName;
  if (!veth) throw new Error(`endpoint ${endpoint.name} is not local`);
  const hostMac = hostVethMac(veth);
  const mtu = network.mtu;
  const linkLines = vethLines(veth, ifName, containerNetns, mtu);
  const hostAddressLines: string[] = [];
  const containerLines = [`link set ${ifName} address ${endpoint.mac} mtu ${mtu} up`];
  const addresses: AttachResult['addresses'] = [];
  const routes: AttachResult['routes'] = [];
  for (const subnet of network.subnets) {
    const address = subnet.family === 4 ? endpoint.ipv4 : endpoint.ipv6;
    if (!address) continue;
    hostAddressLines.push(`addr replace ${hostRoute(subnet.gateway)} dev lo`);
    hostAddressLines.push(`route replace ${hostRoute(address)} dev ${veth}`);
    hostAddressLines.push(`neigh replace ${address} lladdr ${endpoint.mac} dev ${veth} nud permanent`);
    if (subnet.family === 6) {
      hostAddressLines.push(`neigh replace proxy ${subnet.gateway} dev ${veth}`);
      containerLines.push(`addr add ${address}/${subnet.prefix} dev ${ifName} nodad noprefixroute`);
    } else {
      containerLines.push(`addr add ${address}/${subnet.prefix} dev ${ifName} noprefixroute`);
    }
    // `add`, never `replace`: a namespace that has a default route already keeps it and the attach fails
    // (tenet-ipd refuses a second default route of the family at any metric).
    containerLines.push(`route add default via ${subnet.gateway} dev ${ifName} onlink`);
    containerLines.push(`neigh replace ${subnet.gateway} lladdr ${hostMac} dev ${ifName} nud permanent`);
    addresses.push({ address: `${address}/${subnet.prefix}`, gateway: subnet.gateway, family: subnet.family });
    routes.push({ destination: subnet.family === 4 ? '0.0.0.0/0' : '::/0', gateway: subnet.gateway });
  }
  // Last: until here a failed attach leaves the namespace as it was once the veth is deleted again.
  containerLines.push('link set lo up');
  const shaping = shapingLines(bandwidth, veth, ifName);
  return {
    hostLines: [...linkLines, ...hostAddressLines],
    linkLines,
    hostAddressLines,
    shapingHostLines: shaping.host,
    shapingContainerLines: shaping.container,
    containerLines,
    result: {
      endpoint: endpoint.name,
      tenant: endpoint.tenant,
      network: endpoint.network,
      ifName,
      mac: endpoint.mac,
      mtu,
      addresses,
      routes,
      hostIfName: veth,
      ...(clusterDomain && addresses.length > 0
        ? {
            dns: containerDns(
              endpoint.tenant,
              endpoint.network,
              addresses.map((a) => a.gateway),
              clusterDomain,
            ),
          }
        : {}),
    },
  };
}
