/**
 * What an agent does first after each fresh list from the controller (its start, a reconnect): remove
 * the router namespaces of tenants that were deleted (or deleted and created again) while it was away,
 * before any pass or attach makes or changes another namespace or VXLAN device. And what its heartbeat
 * says about the namespaces it holds, so the controller knows when a deleted tenant's VNI is free again.
 */
import { staleNamespaceReason, type FoundNamespace, type LiveTenant } from '../core/dataplane/stale';
import { tenantOfNamespace } from '../core/dataplane/names';
import { parseLinks } from '../core/dataplane/parse';
import type { Tenant } from '../core/model/kinds/tenant';
import { MAX_REPORTED_TENANT_NAMESPACES } from '../core/model/kinds/host';
import type { TenetObject } from '../core/model/object';
import { delNetns, ipBatch, ipJsonBatch, listNetns } from '../kernel/ip';
import type { Log } from './reconciler';

export interface StaleSweepOptions {
  netnsPrefix: string;
  hostName: string;
  log: Log;
}

/** Every Tenant of a fresh list, by name. */
export function liveTenants(objects: Iterable<TenetObject>): Map<string, LiveTenant> {
  const tenants = new Map<string, LiveTenant>();
  for (const object of objects) {
    if (object.kind !== 'Tenant') continue;
    const tenant = object as unknown as Tenant;
    tenants.set(tenant.metadata.name, { uid: tenant.metadata.uid ?? '', vni: tenant.status?.vni });
  }
  return tenants;
}

/** Removes this host's stale tenant namespaces (VXLAN device first, so its VNI stops at once); returns their names. */
export async function removeStaleNamespaces(tenants: ReadonlyMap<string, LiveTenant>, options: StaleSweepOptions): Promise<string[]> {
  const removed: string[] = [];
  for (const name of listNetns()) {
    const tenant = tenantOfNamespace(options.netnsPrefix, name);
    if (tenant === undefined) continue;
    const found: FoundNamespace = { name, tenant };
    let device: string | undefined;
    try {
      // Only the VXLAN device is looked at: listing every link (thousands of veths) held up the first pass.
      const [links] = await ipJsonBatch(['link show type vxlan'], { netns: name, details: true });
      const vxlan = parseLinks(links).vxlan;
      if (vxlan) {
        found.vxlan = { vni: vxlan.vni, mac: vxlan.mac };
        device = vxlan.name;
      }
    } catch (error) {
      // Unreadable (e.g. a stale /run/netns file): only its tenant can say whether it goes; the reconciler repairs the rest.
      options.log('warn', 'could not read a tenant namespace', { netns: name, error: (error as Error).message });
      if (tenants.has(tenant)) continue;
    }
    const reason = staleNamespaceReason(found, tenants, options.hostName);
    if (!reason) continue;
    options.log('warn', 'removing a router namespace of a tenant that no longer exists', { netns: name, reason });
    // The device first: a namespace some process still holds would otherwise keep receiving on the VNI.
    if (device) await ipBatch([`link del ${device}`], { netns: name, force: true });
    await delNetns(name);
    removed.push(name);
  }
  return removed;
}

/** The Host status fields the controller's VNI retirement reads (src/core/ipam/vni-retirement.ts). */
export function tenantNamespaceReport(
  netnsPrefix: string,
  observedRevision: number,
): { tenantNamespaces?: string[]; observedRevision?: number } {
  const tenantNamespaces = listNetns()
    .map((name) => tenantOfNamespace(netnsPrefix, name))
    .filter((tenant): tenant is string => tenant !== undefined)
    .sort();
  // A partial list could confirm a VNI this host still carries: past the cap, say nothing (confirm nothing).
  if (tenantNamespaces.length > MAX_REPORTED_TENANT_NAMESPACES) return {};
  return { tenantNamespaces, observedRevision };
}
