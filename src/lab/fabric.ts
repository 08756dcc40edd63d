/** The lab's underlay: a fabric namespace with a bridge, and one namespace per host with a veth into it. */
import { addNetns, delNetns, ipBatch, listNetns, netnsExists } from '../kernel/ip';
import { pool } from './pool';

/** `ip netns del` processes at once when a lab goes (2,000 together failed in the policy benchmark). */
const DELETE_CONCURRENCY = 32;

export const UNDERLAY_PREFIX = '192.168.250.';
export const UNDERLAY_CIDR = '192.168.250.0/24';

export function hostUnderlayIP(index: number): string {
  return `${UNDERLAY_PREFIX}${10 + index}`;
}

/** The underlay's IPv6 prefix (a unique-local /64 of the lab's own: IPv6 egress and floating IPs). */
export const UNDERLAY6_PREFIX = 'fd00:250::';
export const UNDERLAY6_CIDR = 'fd00:250::/64';

/** Host N's IPv6 underlay address: fd00:250::1N (h1 fd00:250::11), beside its IPv4 192.168.250.1N. */
export function hostUnderlayIPv6(index: number): string {
  return `${UNDERLAY6_PREFIX}${10 + index}`;
}

export async function createFabric(fabricNetns: string): Promise<void> {
  if (!netnsExists(fabricNetns)) await addNetns(fabricNetns);
  await ipBatch(['link set lo up', 'link add br0 type bridge', 'link set br0 up'], { netns: fabricNetns });
}

export async function createHostNamespace(
  fabricNetns: string,
  hostNetns: string,
  port: string,
  underlayIP: string,
  underlayIPv6?: string,
): Promise<void> {
  await addNetns(hostNetns);
  await ipBatch([`link add ${port} type veth peer name eth0 netns ${hostNetns}`, `link set ${port} master br0 up`], { netns: fabricNetns });
  await ipBatch(
    [
      'link set lo up',
      `addr add ${underlayIP}/24 dev eth0`,
      // nodad: usable at once (duplicate detection would hold it tentative for a second or more).
      ...(underlayIPv6 ? [`addr add ${underlayIPv6}/64 dev eth0 nodad`] : []),
      'link set eth0 up',
    ],
    { netns: hostNetns },
  );
}

/** Every namespace whose name starts with `prefix` (the lab's, its agents' and its containers'). */
export function namespacesWithPrefix(prefix: string): string[] {
  return listNetns().filter((name) => name.startsWith(prefix));
}

export async function deleteNamespaces(names: readonly string[]): Promise<string[]> {
  const failures: string[] = [];
  await pool(names, DELETE_CONCURRENCY, async (name) => {
    try {
      await delNetns(name);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  });
  return failures;
}
