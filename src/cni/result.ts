/**
 * ADD results in the version the runtime asked for (SPEC.md v1.1.0 section 5, and v0.4.0 "Result"):
 * 0.4.0 carries `version` in every ips entry; 1.0.0 dropped it; 1.1.0 added the interface `mtu`.
 * podman 4.3 rejects a 1.1.0 result, so the request's version is always the answer's.
 */
import type { AttachResult } from '../attach/protocol';
import { compareVersions, type CniVersion } from './versions';
import { isObject, type Json } from './config';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIp {
  version?: '4' | '6';
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: Json;
}

/**
 * The result of an ADD: the host-side interface (which lives in the tenant's router namespace,
 * hence no sandbox), the container interface with its MAC and sandbox, and its addresses.
 * A prevResult (Tenet not first in the chain) is passed on with ours appended.
 */
export function addResult(version: CniVersion, attached: AttachResult, netns: string, prevResult?: Json): CniResult {
  const base = prevResult ? fromPrevious(version, prevResult) : { cniVersion: version, interfaces: [], ips: [], routes: [], dns: {} };
  const withMtu = compareVersions(version, '1.1.0') >= 0;
  const host: CniInterface = { name: attached.hostIfName };
  const container: CniInterface = { name: attached.ifName, mac: attached.mac, sandbox: netns };
  if (withMtu && attached.mtu > 0) container.mtu = attached.mtu;
  base.interfaces.push(host, container);
  const index = base.interfaces.length - 1;
  for (const address of attached.addresses) {
    const ip: CniIp = { address: address.address, gateway: address.gateway, interface: index };
    if (version === '0.4.0') ip.version = address.family === 6 ? '6' : '4';
    base.ips.push(ip);
  }
  for (const route of attached.routes)
    base.routes.push(route.gateway ? { dst: route.destination, gw: route.gateway } : { dst: route.destination });
  // The tenant's resolver at its gateway: the runtime writes the container's resolv.conf from this (podman does).
  if (attached.dns)
    base.dns = { nameservers: [...attached.dns.nameservers], domain: attached.dns.domain, search: [...attached.dns.search] };
  return base;
}

function fromPrevious(version: CniVersion, prev: Json): CniResult {
  const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value.filter(isObject) as T[]) : []);
  return {
    cniVersion: version,
    interfaces: list<CniInterface>(prev.interfaces).map((i) => ({ ...i })),
    ips: list<CniIp>(prev.ips).map((ip) => {
      const copy = { ...ip };
      // The runtime converts prevResult to the request's version; keep `version` consistent anyway.
      if (version === '0.4.0' && !copy.version) copy.version = copy.address?.includes(':') ? '6' : '4';
      if (version !== '0.4.0') delete copy.version;
      return copy;
    }),
    routes: list<CniRoute>(prev.routes).map((r) => ({ ...r })),
    dns: isObject(prev.dns) ? prev.dns : {},
  };
}

/** Our container interface and addresses as a prevResult lists them (for CHECK). */
export function expectedFromPrevious(prev: Json, ifName: string, netns: string): { mac?: string; addresses: string[] } | undefined {
  const interfaces = Array.isArray(prev.interfaces) ? prev.interfaces : [];
  const index = interfaces.findIndex((i) => isObject(i) && i.name === ifName && (i.sandbox === undefined || i.sandbox === netns));
  if (index < 0) return undefined;
  const iface = interfaces[index] as Json;
  const ips = Array.isArray(prev.ips) ? prev.ips : [];
  const addresses = ips
    .filter((ip): ip is Json => isObject(ip) && ip.interface === index && typeof ip.address === 'string')
    .map((ip) => String(ip.address));
  return { mac: typeof iface.mac === 'string' ? iface.mac : undefined, addresses };
}
