/**
 * Docker asks its IPAM driver for an endpoint's address before it tells the network driver about
 * the endpoint, while Tenet allocates when the endpoint attaches. So the IPAM side proposes a free
 * address of the Tenet network (the controller's IPAM rules, from src/core/ipam) and the attach then
 * requests exactly that address; the controller stays the one that decides (409 if it was taken).
 * Recently proposed addresses are held back for a while so parallel requests do not collide.
 */
import { NetworkPool } from '../core/ipam/network-pool';
import type { Subnet } from '../core/model/kinds/network';

const HOLD_MS = 120_000;

export class AddressPicker {
  private readonly proposed = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A free address of the given family as "ip/prefix", or undefined when the subnet is full. */
  pick(key: string, subnets: Subnet[], used: Iterable<string>, family: 4 | 6): { address: string; prefix: number } | undefined {
    const pool = new NetworkPool({ subnets });
    const subnet = pool.subnetOfFamily(family);
    if (!subnet) return undefined;
    for (const ip of used) pool.markUsed(ip);
    const cutoff = this.now() - HOLD_MS;
    for (const [k, at] of this.proposed) {
      if (at < cutoff) this.proposed.delete(k);
      else if (k.startsWith(`${key}|`)) pool.markUsed(k.slice(key.length + 1));
    }
    const ip = subnet.allocate();
    if (!ip) return undefined;
    this.proposed.set(`${key}|${ip}`, this.now());
    return { address: ip, prefix: subnet.prefix };
  }

  release(key: string, ip: string): void {
    this.proposed.delete(`${key}|${ip}`);
  }
}
