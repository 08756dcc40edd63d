/**
 * IPv4/IPv6 address and CIDR arithmetic on bigints. Written by hand rather than
 * pulled from a library because IPAM and the policy compiler need exact integer
 * math on both families (offsets, ranges, containment) and nothing more.
 */

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

export interface Cidr {
  family: IpFamily;
  /** Network address (host bits cleared). */
  network: bigint;
  prefix: number;
}

const V4_BITS = 32;
const V6_BITS = 128;

export function familyBits(family: IpFamily): number {
  return family === 4 ? V4_BITS : V6_BITS;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const doubleColon = text.indexOf('::');
  if (doubleColon !== text.lastIndexOf('::')) return undefined;
  const splitGroups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let head: string[];
  let tail: string[];
  if (doubleColon >= 0) {
    head = splitGroups(text.slice(0, doubleColon));
    tail = splitGroups(text.slice(doubleColon + 2));
  } else {
    head = splitGroups(text);
    tail = [];
  }
  const groups: bigint[] = [];
  const pushGroups = (list: string[], out: bigint[]): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (g.includes('.')) {
        // Embedded IPv4 is only valid as the last group.
        if (i !== list.length - 1) return false;
        const v4 = parseV4(g);
        if (v4 === undefined) return false;
        out.push(v4 >> 16n, v4 & 0xffffn);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      out.push(BigInt(parseInt(g, 16)));
    }
    return true;
  };
  const headValues: bigint[] = [];
  const tailValues: bigint[] = [];
  if (!pushGroups(head, headValues) || !pushGroups(tail, tailValues)) return undefined;
  const total = headValues.length + tailValues.length;
  if (doubleColon >= 0) {
    if (total > 7) return undefined;
    groups.push(...headValues, ...new Array<bigint>(8 - total).fill(0n), ...tailValues);
  } else {
    if (total !== 8) return undefined;
    groups.push(...headValues);
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | g;
  return value;
}

export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.length > 45) return undefined;
  if (text.includes(':')) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export function formatIp(address: IpAddress): string {
  return address.family === 4 ? formatV4(address.value) : formatV6(address.value);
}

function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

function formatV6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

export function hostMask(family: IpFamily, prefix: number): bigint {
  return (1n << BigInt(familyBits(family) - prefix)) - 1n;
}

export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!address || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > familyBits(address.family)) return undefined;
  return { family: address.family, network: address.value & ~hostMask(address.family, prefix), prefix };
}

/** True when the text names a network address exactly (no host bits set). */
export function isCanonicalCidr(text: string): boolean {
  const cidr = parseCidr(text);
  if (!cidr) return false;
  const address = parseIp(text.slice(0, text.indexOf('/')));
  return address !== undefined && address.value === cidr.network;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.network })}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr): bigint {
  return hostMask(cidr.family, cidr.prefix) + 1n;
}

export function cidrLast(cidr: Cidr): bigint {
  return cidr.network + hostMask(cidr.family, cidr.prefix);
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  return address.family === cidr.family && (address.value & ~hostMask(cidr.family, cidr.prefix)) === cidr.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = ~hostMask(a.family, prefix);
  return (a.network & mask) === (b.network & mask);
}

export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Canonical text form of an address given as text, or undefined when it is not an address. */
export function canonicalIp(text: string): string | undefined {
  const address = parseIp(text);
  return address ? formatIp(address) : undefined;
}
