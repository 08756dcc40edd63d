/**
 * Virtual IPs of services: the tenant's service range per family, where a service's VIP is
 * looked for first, and the service's DNS name. Pure: the controller strategy
 * (src/controller/kinds/service.ts) does the store reads and the compare-and-swap.
 *
 * A VIP's first candidate is a hash of the service name into the range, so the same service name
 * gets the same VIP in every tenant with the same range (VIPs are per tenant: that is fine) and a
 * create costs a few key reads whatever the number of services; a taken or excluded candidate
 * moves to the next hash.
 */
import { createHash } from 'node:crypto';
import { cidrContains, cidrLast, cidrSize, formatIp, isCanonicalCidr, parseCidr, parseIp, type Cidr, type IpFamily } from '../net/ip';

/** The cluster's default service ranges; a Tenant's spec.serviceRange overrides them per family. */
export const DEFAULT_SERVICE_RANGE = { ipv4: '10.96.0.0/16', ipv6: 'fd00:96::/112' } as const;

export interface ServiceRangeSpec {
  ipv4?: string;
  ipv6?: string;
}

/** The tenant's effective range of one family. */
export function serviceRange(spec: ServiceRangeSpec | undefined, family: IpFamily): Cidr {
  const text = family === 4 ? (spec?.ipv4 ?? DEFAULT_SERVICE_RANGE.ipv4) : (spec?.ipv6 ?? DEFAULT_SERVICE_RANGE.ipv6);
  return parseCidr(text)!; // validated by serviceRangeProblems
}

export function serviceRangeProblems(spec: ServiceRangeSpec | undefined): string[] {
  const problems: string[] = [];
  for (const family of [4, 6] as const) {
    const text = family === 4 ? spec?.ipv4 : spec?.ipv6;
    if (text === undefined) continue;
    const at = `spec.serviceRange.ipv${family}`;
    const cidr = parseCidr(text);
    if (!cidr || cidr.family !== family) {
      problems.push(`${at}: "${text}" is not an IPv${family} CIDR`);
      continue;
    }
    if (!isCanonicalCidr(text)) problems.push(`${at}: "${text}" has host bits set`);
    // Room for at least a few services, and no range so large that it reads as a mistake.
    const [min, max] = family === 4 ? [12, 28] : [64, 124];
    if (cidr.prefix < min || cidr.prefix > max) problems.push(`${at}: prefix must be between /${min} and /${max} (got /${cidr.prefix})`);
  }
  return problems;
}

/** Whether an address may be a VIP of this range at all (never its first or last address). */
export function usableInRange(range: Cidr, ip: string): boolean {
  const address = parseIp(ip);
  if (!address || !cidrContains(range, address)) return false;
  return address.value !== range.network && address.value !== cidrLast(range);
}

/** The attempt-th candidate VIP for a service name: deterministic, spread over the usable addresses. */
export function vipCandidate(range: Cidr, name: string, attempt: number): string {
  const usable = cidrSize(range) - 2n;
  const digest = createHash('sha256').update(`${name}\u0000${attempt}`).digest();
  const offset = digest.readBigUInt64BE(0) % usable;
  return formatIp({ family: range.family, value: range.network + 1n + offset });
}

/** Whether an address lies inside any of these CIDRs (the tenant's network subnets). */
export function insideAny(ip: string, cidrs: readonly Cidr[]): boolean {
  const address = parseIp(ip);
  return address !== undefined && cidrs.some((c) => cidrContains(c, address));
}
