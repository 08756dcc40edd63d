/**
 * Which router namespaces found on a host at an agent's (re)start belong to no live tenant: a tenant
 * deleted while the agent was away, or an earlier tenant of the same name. Pure; the agent removes them
 * before it makes or changes anything else (src/agent/stale-namespaces.ts).
 */
import { legacyVxlanMac, vxlanMac } from './names';

export interface FoundNamespace {
  name: string;
  tenant: string;
  /** The VXLAN device read from the namespace, when it has one. */
  vxlan?: { vni: number; mac: string };
}

export interface LiveTenant {
  uid: string;
  vni?: number;
}

/**
 * Why `found` must go, or undefined when it belongs to the live tenant of its name. A tenant's VNI never
 * changes, and its VXLAN MAC is derived from (host, VNI, uid): a device with another VNI or another MAC
 * was made for another tenant. The MAC agents made before the uid was part of it (same VNI) is adopted:
 * the reconciler sets the new MAC in place, and the namespace's containers keep their interfaces.
 */
export function staleNamespaceReason(
  found: FoundNamespace,
  tenants: ReadonlyMap<string, LiveTenant>,
  hostName: string,
): string | undefined {
  const live = tenants.get(found.tenant);
  if (!live) return `tenant "${found.tenant}" no longer exists`;
  if (!found.vxlan || live.vni === undefined) return undefined;
  if (found.vxlan.vni !== live.vni)
    return `its VXLAN device carries VNI ${found.vxlan.vni}, tenant "${found.tenant}" has ${live.vni}: it was made for an earlier tenant of that name`;
  const mac = found.vxlan.mac.toLowerCase();
  if (mac === vxlanMac(hostName, live.vni, live.uid) || mac === legacyVxlanMac(hostName, live.vni)) return undefined;
  return `its VXLAN device's MAC ${mac} is not tenant "${found.tenant}"'s (uid ${live.uid}): it was made for an earlier tenant of that name`;
}
