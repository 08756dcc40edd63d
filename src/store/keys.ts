/** Key layout in the store; every key is built here so the layout lives in one place. */
import type { KindName } from '../core/model/registry';

export const OBJECTS_PREFIX = '/objects/';

export function objectPrefix(kind: KindName, tenant?: string): string {
  return tenant === undefined ? `${OBJECTS_PREFIX}${kind}/` : `${OBJECTS_PREFIX}${kind}/${tenant}/`;
}

/** Cluster-scoped objects use '_' as their tenant segment. */
export function objectKey(kind: KindName, tenant: string, name: string): string {
  return `${OBJECTS_PREFIX}${kind}/${tenant || '_'}/${name}`;
}

export function parseObjectKey(key: string): { kind: KindName; tenant: string; name: string } | undefined {
  if (!key.startsWith(OBJECTS_PREFIX)) return undefined;
  const [kind, tenant, name] = key.slice(OBJECTS_PREFIX.length).split('/');
  if (!kind || !tenant || !name) return undefined;
  return { kind: kind as KindName, tenant: tenant === '_' ? '' : tenant, name };
}

/** One key per allocated address: `/ipam/<tenant>/<network>/<ip>` (canonical IP text); its value is the endpoint name. */
export const IPAM_PREFIX = '/ipam/';

export function ipamNetworkPrefix(tenant: string, network: string): string {
  return `${IPAM_PREFIX}${tenant}/${network}/`;
}

export function ipamKey(tenant: string, network: string, ip: string): string {
  return `${IPAM_PREFIX}${tenant}/${network}/${ip}`;
}

export function parseIpamKey(key: string): { tenant: string; network: string; ip: string } | undefined {
  if (!key.startsWith(IPAM_PREFIX)) return undefined;
  const rest = key.slice(IPAM_PREFIX.length);
  const first = rest.indexOf('/');
  const second = rest.indexOf('/', first + 1);
  if (first <= 0 || second <= first + 1 || second === rest.length - 1) return undefined;
  return { tenant: rest.slice(0, first), network: rest.slice(first + 1, second), ip: rest.slice(second + 1) };
}

/** One key per MAC in use in a network: `/mac/<tenant>/<network>/<mac>`, so MACs are unique per network. */
export const MAC_PREFIX = '/mac/';

export function macKey(tenant: string, network: string, mac: string): string {
  return `${MAC_PREFIX}${tenant}/${network}/${mac}`;
}

export function macNetworkPrefix(tenant: string, network: string): string {
  return `${MAC_PREFIX}${tenant}/${network}/`;
}

/** One key per VNI in use: `/vni/<n>` holding the tenant name. */
export const VNI_PREFIX = '/vni/';

export function vniKey(vni: number): string {
  return `${VNI_PREFIX}${vni}`;
}

/**
 * Guards: a key that exists exactly as long as its parent (a tenant or a network) and says whether
 * the parent is being deleted. Children compare its modRevision when they are created, so a parent
 * deletion and a child creation can never both succeed, on any store.
 */
export const GUARD_PREFIX = '/guards/';

export function guardKey(kind: 'Tenant' | 'Network', tenant: string, name: string): string {
  return `${GUARD_PREFIX}${kind}/${tenant || '_'}/${name}`;
}

/** Bumped by every network create/update of a tenant so two overlapping networks cannot be written concurrently. */
export function networkSetKey(tenant: string): string {
  return `${GUARD_PREFIX}netset/${tenant}`;
}

/** Bumped by every write that changes which subnets are routed, so two tenants cannot route overlapping subnets concurrently. */
export const ROUTED_SET_KEY = `${GUARD_PREFIX}routed`;

/** History: a counter and one entry per history revision. */
export const HISTORY_COUNTER_KEY = '/meta/history';
export const HISTORY_PREFIX = '/history/';

export function historyKey(revision: number): string {
  return `${HISTORY_PREFIX}${String(revision).padStart(12, '0')}`;
}

/**
 * A retired VNI waiting for a host's confirmation: `/vni-pending/<host>/<vni>` (value: the VNI). The
 * record itself is the value of the VNI's key; these markers let a heartbeat find its own work with one
 * small range read, and their modRevision is the deletion's revision.
 */
export const VNI_PENDING_PREFIX = '/vni-pending/';

export function vniPendingPrefix(host: string): string {
  return `${VNI_PENDING_PREFIX}${host}/`;
}

export function vniPendingKey(host: string, vni: number): string {
  return `${VNI_PENDING_PREFIX}${host}/${vni}`;
}

/** Bumped by every Host create/delete and every VNI retirement, so a retirement and a Host deletion cannot miss each other. */
export const HOST_SET_KEY = `${GUARD_PREFIX}hostset`;

/** One key per virtual IP a service holds: `/vip/<tenant>/<ip>` (canonical IP text); its value is the service name. VIPs are per tenant. */
export const VIP_PREFIX = '/vip/';

export function vipTenantPrefix(tenant: string): string {
  return `${VIP_PREFIX}${tenant}/`;
}

export function vipKey(tenant: string, ip: string): string {
  return `${VIP_PREFIX}${tenant}/${ip}`;
}

/** One key per floating IP address held: `/fip/<ip>` (canonical IP text); its value is `<tenant>/<name>`. Floating IPs are cluster-wide. */
export const FIP_PREFIX = '/fip/';

export function fipKey(ip: string): string {
  return `${FIP_PREFIX}${ip}`;
}
