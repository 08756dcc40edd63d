/**
 * The addresses of one subnet of a network: which may be handed out (never the gateway, the reserved
 * ranges, or an IPv4 network/broadcast address) and a RangeAllocator proposing free ones.
 */
import { cidrContains, cidrLast, formatCidr, formatIp, parseCidr, parseIp, type Cidr, type IpAddress, type IpFamily } from '../net/ip';
import { RangeAllocator, type Range } from './range-allocator';

export interface SubnetSpec {
  cidr: string;
  gateway?: string;
  reserved?: { start: string; end: string }[];
}

export type RefusalReason = 'outside' | 'network' | 'broadcast' | 'gateway' | 'reserved' | 'taken';

export class SubnetPool {
  readonly cidr: Cidr;
  readonly family: IpFamily;
  readonly gateway: bigint;
  readonly prefix: number;
  private readonly allocator: RangeAllocator;
  private readonly reservedRanges: Range[];

  /** Throws on a subnet that validation should have refused. */
  constructor(spec: SubnetSpec) {
    const cidr = parseCidr(spec.cidr);
    if (!cidr) throw new Error(`invalid subnet ${spec.cidr}`);
    this.cidr = cidr;
    this.family = cidr.family;
    this.prefix = cidr.prefix;
    const last = cidrLast(cidr);
    // IPv4 keeps its network and broadcast addresses out; IPv6 has no broadcast but its subnet-router anycast (the first) is kept out too.
    const first = cidr.network + 1n;
    const usableLast = cidr.family === 4 ? last - 1n : last;
    const gateway = spec.gateway !== undefined ? parseIp(spec.gateway) : undefined;
    this.gateway = gateway && cidrContains(cidr, gateway) ? gateway.value : first;
    this.reservedRanges = [];
    for (const range of spec.reserved ?? []) {
      const start = parseIp(range.start);
      const end = parseIp(range.end);
      if (start && end && start.family === cidr.family && end.family === cidr.family && start.value <= end.value) {
        this.reservedRanges.push([start.value, end.value]);
      }
    }
    this.allocator = new RangeAllocator(first, usableLast, [[this.gateway, this.gateway], ...this.reservedRanges]);
  }

  get text(): string {
    return formatCidr(this.cidr);
  }

  get capacity(): bigint {
    return this.allocator.capacity;
  }

  get usedCount(): number {
    return this.allocator.usedCount;
  }

  gatewayText(): string {
    return formatIp({ family: this.family, value: this.gateway });
  }

  contains(ip: string): boolean {
    const address = parseIp(ip);
    return address !== undefined && cidrContains(this.cidr, address);
  }

  /** Why this address cannot be handed out right now, or undefined when it can. */
  refusal(ip: string): RefusalReason | undefined {
    const address = parseIp(ip);
    if (!address || !cidrContains(this.cidr, address)) return 'outside';
    const value = address.value;
    if (value === this.cidr.network) return 'network';
    if (this.family === 4 && value === cidrLast(this.cidr)) return 'broadcast';
    if (value === this.gateway) return 'gateway';
    if (this.reservedRanges.some(([a, b]) => value >= a && value <= b)) return 'reserved';
    if (this.allocator.isUsed(value)) return 'taken';
    return undefined;
  }

  holds(address: IpAddress): boolean {
    return cidrContains(this.cidr, address);
  }

  markUsedValue(value: bigint): void {
    this.allocator.markUsed(value);
  }

  releaseValue(value: bigint): void {
    this.allocator.release(value);
  }

  markUsed(ip: string): void {
    const address = parseIp(ip);
    if (address && cidrContains(this.cidr, address)) this.allocator.markUsed(address.value);
  }

  release(ip: string): void {
    const address = parseIp(ip);
    if (address && cidrContains(this.cidr, address)) this.allocator.release(address.value);
  }

  /** Proposes a free address (canonical text) and marks it used; undefined when the subnet is full. */
  allocate(): string | undefined {
    const value = this.allocator.allocate();
    return value === undefined ? undefined : formatIp({ family: this.family, value });
  }
}

export function describeRefusal(ip: string, subnet: string, reason: RefusalReason): string {
  switch (reason) {
    case 'outside':
      return `${ip} is not inside ${subnet}`;
    case 'network':
      return `${ip} is the network address of ${subnet}`;
    case 'broadcast':
      return `${ip} is the broadcast address of ${subnet}`;
    case 'gateway':
      return `${ip} is the gateway of ${subnet}`;
    case 'reserved':
      return `${ip} lies in a reserved range of ${subnet}`;
    case 'taken':
      return `${ip} is already in use in ${subnet}`;
  }
}
