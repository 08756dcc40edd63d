/** Reads back the state of one tenant router namespace (four processes: ip v4+links, ip v6 routes, bridge fdb, sysctl). */
import type { RawNamespaceReads } from '../core/dataplane/parse';
import { ipv6OfAddressDevice, mtuOfAddress } from '../core/dataplane/parse';
import { VXLAN_DEVICE_REGEX } from '../core/dataplane/names';
import { ROUTER_SYSCTLS } from '../core/dataplane/state';
import { bridgeJson, ipJsonBatch, readNetnsSysctls } from './ip';

export async function readNamespace(netns: string): Promise<RawNamespaceReads> {
  const [main, v6, fdb, sysctls] = await Promise.all([
    // `addr show` first: after a `link show` in the same batch, iproute2 6.1 prints addresses without addr_info.
    ipJsonBatch(['addr show dev lo', 'link show', 'route show table main', 'neigh show', 'neigh show proxy'], { netns, details: true }),
    ipJsonBatch(['route show table main'], { netns, family: 6 }),
    bridgeJson(['fdb', 'show'], netns),
    readNetnsSysctls(netns, Object.keys(ROUTER_SYSCTLS)),
  ]);
  return { loAddresses: main[0], links: main[1], routes4: main[2], neighbours: main[3], proxies: main[4], routes6: v6[0], fdb, sysctls };
}

/** VXLAN devices with Tenet's names in the current namespace (left there if the agent died between create and move). */
export async function readHostVxlans(): Promise<string[]> {
  const [links] = await ipJsonBatch(['link show type vxlan']);
  return links.map((link) => (link as { ifname?: string }).ifname ?? '').filter((name) => VXLAN_DEVICE_REGEX.test(name));
}

/** Name → ifindex of the links in a namespace (tests and the lab use it to prove links were not recreated). */
export async function linkIndexes(netns: string): Promise<Map<string, number>> {
  const [links] = await ipJsonBatch(['link show'], { netns });
  return new Map(links.map((l) => [(l as { ifname: string }).ifname, (l as { ifindex: number }).ifindex]));
}

/** The global IPv6 address of the device in the current namespace that holds `address` (the underlay), or undefined. */
export async function deviceIPv6Of(address: string): Promise<string | undefined> {
  const [links] = await ipJsonBatch(['addr show']);
  return ipv6OfAddressDevice(links, address);
}

/** MTU of the device in the current namespace that holds `address` (the underlay), or undefined. */
export async function deviceMtuOf(address: string): Promise<number | undefined> {
  const [links] = await ipJsonBatch(['addr show']);
  return mtuOfAddress(links, address);
}
