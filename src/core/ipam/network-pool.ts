/** The address pools of one network: at most one IPv4 and one IPv6 subnet (validation guarantees it). */
import { parseIp, type IpFamily } from '../net/ip';
import { SubnetPool, type SubnetSpec } from './subnet-pool';

export class NetworkPool {
  readonly subnets: SubnetPool[];

  constructor(spec: { subnets: SubnetSpec[] }) {
    this.subnets = spec.subnets.map((subnet) => new SubnetPool(subnet));
  }

  subnetOfFamily(family: IpFamily): SubnetPool | undefined {
    return this.subnets.find((s) => s.family === family);
  }

  /** The subnet an address belongs to, if any. */
  subnetFor(ip: string): SubnetPool | undefined {
    const address = parseIp(ip);
    if (!address) return undefined;
    return this.subnets.find((s) => s.contains(ip));
  }

  // Called for every address event the store's watch delivers: parse once.
  markUsed(ip: string): void {
    const address = parseIp(ip);
    if (address) this.subnets.find((s) => s.holds(address))?.markUsedValue(address.value);
  }

  release(ip: string): void {
    const address = parseIp(ip);
    if (address) this.subnets.find((s) => s.holds(address))?.releaseValue(address.value);
  }
}

/** Text that changes exactly when the address plan of a network changes (pools are rebuilt then). */
export function addressPlanKey(spec: { subnets: SubnetSpec[] }): string {
  return JSON.stringify(spec.subnets.map((s) => [s.cidr, s.gateway ?? '', (s.reserved ?? []).map((r) => [r.start, r.end])]));
}
