/**
 * Turns what `ip -json` / `bridge -json` print into NamespaceState. Pure, so it is unit-tested on
 * captured output. Only objects Tenet owns are kept: links named by names.ts, host routes and permanent
 * neighbours on those links, global addresses on lo, proxy entries and FDB entries with a remote.
 */
import { canonicalIp } from '../net/ip';
import { HOST_VETH_REGEX, VXLAN_DEVICE_REGEX, isOwnedLinkName } from './names';
import type { FdbState, NamespaceState, NeighbourState, ProxyState, RouteState, VethState, VxlanState } from './state';

export interface RawNamespaceReads {
  links: unknown[];
  loAddresses: unknown[];
  routes4: unknown[];
  routes6: unknown[];
  neighbours: unknown[];
  proxies: unknown[];
  fdb: unknown[];
  /** `sysctl KEY...` output (`key = value` lines) for the router sysctls; absent: not read. */
  sysctls?: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

export function parseLinks(links: unknown[]): { vxlan?: VxlanState; veths: VethState[]; strayVxlans: string[]; other: string[] } {
  const veths: VethState[] = [];
  const vxlans: VxlanState[] = [];
  const other: string[] = [];
  for (const link of links.filter(isObject)) {
    const name = str(link.ifname);
    if (!name || !isOwnedLinkName(name)) continue;
    const flags = Array.isArray(link.flags) ? link.flags : [];
    const info = isObject(link.linkinfo) ? link.linkinfo : {};
    const kind = str(info.info_kind);
    const data = isObject(info.info_data) ? info.info_data : {};
    const mac = (str(link.address) ?? '').toLowerCase();
    const mtu = num(link.mtu) ?? 0;
    if (kind === 'vxlan' && VXLAN_DEVICE_REGEX.test(name)) {
      vxlans.push({
        name,
        vni: num(data.id) ?? 0,
        local: canonicalIp(str(data.local) ?? '') ?? '',
        port: num(data.port) ?? 0,
        mac,
        mtu,
        learning: data.learning === true,
      });
    } else if (kind === 'veth' && HOST_VETH_REGEX.test(name)) {
      veths.push({ name, mac, mtu, ifindex: num(link.ifindex), up: flags.includes('UP') });
    } else {
      other.push(name);
    }
  }
  // A namespace holds one VXLAN device; any extra is stale and gets deleted.
  const [vxlan, ...stray] = vxlans;
  return { vxlan, veths, strayVxlans: stray.map((v) => v.name), other };
}

/** Whether a link JSON entry is up, for the VXLAN device whose flags the state does not keep. */
export function linkIsUp(links: unknown[], name: string): boolean {
  const link = links.filter(isObject).find((l) => l.ifname === name);
  return !!link && Array.isArray(link.flags) && link.flags.includes('UP');
}

export function parseLoAddresses(addresses: unknown[]): string[] {
  const out: string[] = [];
  for (const link of addresses.filter(isObject)) {
    const infos = Array.isArray(link.addr_info) ? link.addr_info : [];
    for (const info of infos.filter(isObject)) {
      if (info.scope !== 'global') continue;
      const local = canonicalIp(str(info.local) ?? '');
      const prefix = num(info.prefixlen);
      if (local && prefix !== undefined) out.push(`${local}/${prefix}`);
    }
  }
  return out.sort();
}

export function parseHostRoutes(routes: unknown[]): RouteState[] {
  const out: RouteState[] = [];
  for (const route of routes.filter(isObject)) {
    const dev = str(route.dev);
    const dst = str(route.dst);
    if (!dev || !dst || !isOwnedLinkName(dev) || route.gateway !== undefined) continue;
    if (route.protocol !== undefined && route.protocol !== 'boot' && route.protocol !== 'static') continue;
    if (route.type !== undefined && route.type !== 'unicast') continue;
    const [address, prefix] = dst.split('/');
    const canonical = canonicalIp(address);
    if (!canonical) continue;
    const full = canonical.includes(':') ? 128 : 32;
    if (prefix !== undefined && Number(prefix) !== full) continue;
    out.push({ dst: `${canonical}/${full}`, dev });
  }
  return out;
}

export function parseNeighbours(neighbours: unknown[]): NeighbourState[] {
  const out: NeighbourState[] = [];
  for (const entry of neighbours.filter(isObject)) {
    const dev = str(entry.dev);
    const dst = canonicalIp(str(entry.dst) ?? '');
    const lladdr = str(entry.lladdr);
    const state = Array.isArray(entry.state) ? entry.state : [];
    if (!dev || !dst || !lladdr || !isOwnedLinkName(dev) || !state.includes('PERMANENT')) continue;
    out.push({ dst, lladdr: lladdr.toLowerCase(), dev });
  }
  return out;
}

export function parseProxies(proxies: unknown[]): ProxyState[] {
  const out: ProxyState[] = [];
  for (const entry of proxies.filter(isObject)) {
    const dev = str(entry.dev);
    const dst = canonicalIp(str(entry.dst) ?? '');
    if (dev && dst && isOwnedLinkName(dev)) out.push({ dst, dev });
  }
  return out;
}

export function parseFdb(entries: unknown[]): FdbState[] {
  const out: FdbState[] = [];
  for (const entry of entries.filter(isObject)) {
    const dev = str(entry.ifname) ?? str(entry.dev);
    const mac = str(entry.mac);
    const dst = canonicalIp(str(entry.dst) ?? '');
    if (!dev || !mac || !dst || !VXLAN_DEVICE_REGEX.test(dev)) continue;
    out.push({ mac: mac.toLowerCase(), dev, dst });
  }
  return out;
}

/** `sysctl a.b c.d` output → key → value (keys with dots, as written). */
export function parseSysctls(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z0-9_./-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) out[match[1]] = match[2];
  }
  return out;
}

/**
 * The MTU of the device holding `address`, from `ip -json addr show`: the underlay device, whose MTU
 * bounds the overlay's. Undefined when no device has it.
 */
export function mtuOfAddress(links: unknown[], address: string): number | undefined {
  const want = canonicalIp(address);
  if (!want) return undefined;
  for (const link of links.filter(isObject)) {
    const infos = Array.isArray(link.addr_info) ? link.addr_info : [];
    if (infos.filter(isObject).some((info) => canonicalIp(str(info.local) ?? '') === want)) return num(link.mtu);
  }
  return undefined;
}

/**
 * The first usable global IPv6 address of the device that holds `address` (the underlay), or undefined:
 * not link-local, not tentative, deprecated or failed duplicate detection.
 */
export function ipv6OfAddressDevice(links: unknown[], address: string): string | undefined {
  const want = canonicalIp(address);
  if (!want) return undefined;
  for (const link of links.filter(isObject)) {
    const infos = (Array.isArray(link.addr_info) ? link.addr_info : []).filter(isObject);
    if (!infos.some((info) => canonicalIp(str(info.local) ?? '') === want)) continue;
    const usable = infos.find(
      (info) =>
        info.family === 'inet6' &&
        info.scope === 'global' &&
        !info.tentative &&
        !info.deprecated &&
        !info.dadfailed &&
        str(info.local) !== undefined,
    );
    return usable ? canonicalIp(str(usable.local)!) : undefined;
  }
  return undefined;
}

export function parseNamespace(
  name: string,
  tenant: string,
  raw: RawNamespaceReads,
): NamespaceState & { strayLinks: string[]; vxlanUp: boolean; sysctls?: Record<string, string> } {
  const links = parseLinks(raw.links);
  return {
    name,
    tenant,
    vxlan: links.vxlan,
    veths: links.veths,
    loAddresses: parseLoAddresses(raw.loAddresses),
    routes: [...parseHostRoutes(raw.routes4), ...parseHostRoutes(raw.routes6)],
    neighbours: parseNeighbours(raw.neighbours),
    proxies: parseProxies(raw.proxies),
    fdb: parseFdb(raw.fdb),
    strayLinks: [...links.strayVxlans, ...links.other],
    vxlanUp: links.vxlan ? linkIsUp(raw.links, links.vxlan.name) : false,
    ...(raw.sysctls !== undefined ? { sysctls: parseSysctls(raw.sysctls) } : {}),
  };
}
