/** The lab's underlay: a fabric namespace with a bridge, and one namespace per host with a veth into it. */
import { addNetns, delNetns, ipBatch, listNetns, netnsExists } from '../kernel/ip';

export const UNDERLAY_PREFIX = '192.168.250.';
export const UNDERLAY_CIDR = '192.168.250.0/24';

export function hostUnderlayIP(index: number): string {
  return `${UNDERLAY_PREFIX}${10 + index}`;
}

export async function createFabric(fabricNetns: string): Promise<void> {
  if (!netnsExists(fabricNetns)) await addNetns(fabricNetns);
  await ipBatch(['link set lo up', 'link add br0 type bridge', 'link set br0 up'], { netns: fabricNetns });
}

export async function createHostNamespace(fabricNetns: string, hostNetns: string, port: string, underlayIP: string): Promise<void> {
  await addNetns(hostNetns);
  await ipBatch([`link add ${port} type veth peer name eth0 netns ${hostNetns}`, `link set ${port} master br0 up`], { netns: fabricNetns });
  await ipBatch(['link set lo up', `addr add ${underlayIP}/24 dev eth0`, 'link set eth0 up'], { netns: hostNetns });
}

/** Every namespace whose name starts with `prefix` (the lab's, its agents' and its containers'). */
export function namespacesWithPrefix(prefix: string): string[] {
  return listNetns().filter((name) => name.startsWith(prefix));
}

export async function deleteNamespaces(names: readonly string[]): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      try {
        await delNetns(name);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }),
  );
  return failures;
}
