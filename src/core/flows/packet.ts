/**
 * The headers of a packet the kernel handed over through nflog (its first bytes, from the network
 * header, as hex): enough to say who sent what to whom. Anything short or malformed gives undefined,
 * never an exception: the bytes come from the packet, that is from a tenant.
 */
import type { L4Name } from '../policy/program';

export interface PacketHeaders {
  family: 4 | 6;
  /** Protocol name when Tenet knows it, else its number as text. */
  protocol: L4Name | string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

const NAMES: Record<number, L4Name> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'icmpv6' };

export function protocolName(number: number): L4Name | string {
  return NAMES[number] ?? String(number);
}

function ipv6Text(bytes: Uint8Array, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1]).toString(16));
  // Longest run of zero groups (at least two) becomes "::", as canonical IPv6 text (RFC 5952).
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/** Extension headers walked to find the transport header (hop-by-hop, routing, destination options). */
const IPV6_EXTENSIONS = new Set([0, 43, 60]);

export function parsePacketHeaders(hex: string): PacketHeaders | undefined {
  if (!/^(?:[0-9a-f]{2}){20,}$/i.test(hex)) return undefined;
  const bytes = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
  const version = bytes[0] >> 4;
  let proto: number;
  let l4: number;
  let out: PacketHeaders;
  if (version === 4) {
    const ihl = (bytes[0] & 0x0f) * 4;
    if (ihl < 20 || bytes.length < ihl) return undefined;
    proto = bytes[9];
    l4 = ihl;
    out = { family: 4, protocol: protocolName(proto), src: bytes.slice(12, 16).join('.'), dst: bytes.slice(16, 20).join('.') };
    // A later fragment carries no transport header.
    if (((bytes[6] & 0x1f) << 8) + bytes[7] !== 0) return out;
  } else if (version === 6) {
    if (bytes.length < 40) return undefined;
    proto = bytes[6];
    l4 = 40;
    out = { family: 6, protocol: protocolName(proto), src: ipv6Text(bytes, 8), dst: ipv6Text(bytes, 24) };
    while (IPV6_EXTENSIONS.has(proto) && bytes.length >= l4 + 8) {
      proto = bytes[l4];
      l4 += (bytes[l4 + 1] + 1) * 8;
    }
    out.protocol = protocolName(proto);
  } else return undefined;
  if ((proto === 6 || proto === 17 || proto === 132) && bytes.length >= l4 + 4) {
    out.sport = (bytes[l4] << 8) | bytes[l4 + 1];
    out.dport = (bytes[l4 + 2] << 8) | bytes[l4 + 3];
  }
  return out;
}
