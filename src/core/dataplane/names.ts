/**
 * Names of every kernel object the agent owns. Pure and deterministic, so an agent that restarts (or a
 * second process such as `tenet lab`) recomputes exactly the names it created before and recognises
 * its own objects by them. Every name is checked against a strict pattern before it can reach `ip`/`nft`.
 *
 *   tenant router namespace  <netnsPrefix>t-<tenant>          e.g. tenet-t-acme     (global on the machine)
 *   host-side veth           tv<12 hex of sha256(tenant/ep)>  e.g. tv3f9a0c12d4e5   (inside the tenant ns)
 *   VXLAN device             tvx<vni>                          e.g. tvx4097          (host ns, then tenant ns)
 *
 * Network namespace names are global on a machine even when the agent runs inside a host namespace,
 * so they carry the agent's --netns-prefix; link names live inside a namespace and need no prefix
 * beyond the "tv" that marks them as Tenet's.
 */
import { createHash } from 'node:crypto';
import { IFNAME_REGEX, NAME_REGEX, CONTAINER_ID_REGEX } from '../model/names';

export const DEFAULT_NETNS_PREFIX = 'tenet-';

/** --netns-prefix: starts with a letter, letters/digits/'-'/'_', at most 24 characters. */
export const NETNS_PREFIX_REGEX = /^[a-z][a-z0-9_-]{0,23}$/;
/** Every network namespace name the agent may create or delete. */
export const NETNS_NAME_REGEX = /^[a-z][a-z0-9_-]{0,23}t-[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Host-side veth of a local endpoint. */
export const HOST_VETH_REGEX = /^tv[0-9a-f]{12}$/;
/** Per-tenant VXLAN device. */
export const VXLAN_DEVICE_REGEX = /^tvx[1-9][0-9]{0,7}$/;
/** Any link name Tenet owns inside a tenant router namespace. */
export const OWNED_LINK_REGEX = /^tv(x[1-9][0-9]{0,7}|[0-9a-f]{12})$/;

export class NameError extends Error {}

function hexDigest(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

export function assertNetnsPrefix(prefix: string): string {
  if (!NETNS_PREFIX_REGEX.test(prefix)) {
    throw new NameError(
      `netns prefix "${prefix}" must match ${NETNS_PREFIX_REGEX.source} (a lower-case letter, then letters, digits, "-" or "_")`,
    );
  }
  return prefix;
}

/** The tenant router namespace of `tenant` on this host. */
export function tenantNamespaceName(prefix: string, tenant: string): string {
  assertNetnsPrefix(prefix);
  if (!NAME_REGEX.test(tenant)) throw new NameError(`tenant name "${tenant}" is not a valid name`);
  const name = `${prefix}t-${tenant}`;
  if (!NETNS_NAME_REGEX.test(name)) throw new NameError(`namespace name "${name}" is invalid`);
  return name;
}

/** Inverse of tenantNamespaceName: the tenant when `netns` is one of ours (for this prefix), else undefined. */
export function tenantOfNamespace(prefix: string, netns: string): string | undefined {
  const head = `${prefix}t-`;
  if (!netns.startsWith(head)) return undefined;
  const tenant = netns.slice(head.length);
  return NAME_REGEX.test(tenant) ? tenant : undefined;
}

/** Host-side veth of endpoint `tenant/endpoint`: a hash, because 15 characters cannot hold the names. */
export function hostVethName(tenant: string, endpoint: string): string {
  if (!NAME_REGEX.test(tenant) || !NAME_REGEX.test(endpoint)) throw new NameError(`invalid tenant/endpoint "${tenant}/${endpoint}"`);
  return `tv${hexDigest(`${tenant}/${endpoint}`, 12)}`;
}

export function vxlanDeviceName(vni: number): string {
  if (!Number.isInteger(vni) || vni < 1 || vni > 16777215) throw new NameError(`VNI ${vni} is out of range 1..16777215`);
  return `tvx${vni}`;
}

/**
 * Deterministic Endpoint name for a container interface, readable in `tenet get endpoints`:
 * the container id reduced to the name alphabet (at most 40 characters), then 8 hex of a hash of
 * the exact containerId/ifName so that distinct containers never share a name.
 */
export function endpointNameFor(containerId: string, ifName: string): string {
  if (!CONTAINER_ID_REGEX.test(containerId)) throw new NameError(`container id "${containerId}" is invalid`);
  if (!IFNAME_REGEX.test(ifName)) throw new NameError(`interface name "${ifName}" is invalid`);
  const readable = containerId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  const hash = hexDigest(`${containerId}/${ifName}`, 8);
  const name = readable ? `${readable}-${hash}` : `c-${hash}`;
  if (!NAME_REGEX.test(name)) throw new NameError(`derived endpoint name "${name}" is invalid`);
  return name;
}

/** Locally administered unicast MAC derived from a seed (02:xx:..). */
export function deterministicMac(seed: string): string {
  let mac = macs.get(seed);
  if (mac === undefined) {
    const hex = hexDigest(seed, 10);
    mac = ['02', ...hex.match(/../g)!].join(':');
    // Remembered: every pass derives the MAC of every local veth and remote host, and a hash each was
    // a large part of a pass with thousands of endpoints. Bounded; starting afresh only costs hashes.
    if (macs.size >= MAC_MEMO_LIMIT) macs.clear();
    macs.set(seed, mac);
  }
  return mac;
}

const MAC_MEMO_LIMIT = 65536;
const macs = new Map<string, string>();

/**
 * MAC of the VXLAN device of tenant `tenantUid` (VNI `vni`) on host `host`; remote hosts compute the same
 * value for their FDB and neighbour entries. The tenant's uid is part of it so that two tenants that ever
 * share a VNI (a stale namespace of a deleted tenant on a host that missed the deletion) address
 * different MACs: a VXLAN device drops a received unicast frame whose destination is not its own MAC, so
 * neither side's frames reach the other's stack (docs/dataplane.md, "Tenant identity on the wire").
 */
export function vxlanMac(host: string, vni: number, tenantUid: string): string {
  return deterministicMac(`vxlan/${host}/${vni}/${tenantUid}`);
}

/** The VXLAN MAC agents before the tenant uid made: a namespace carrying it is adopted (its MAC set in place), not removed. */
export function legacyVxlanMac(host: string, vni: number): string {
  return deterministicMac(`vxlan/${host}/${vni}`);
}

/** MAC of the host-side veth; the container's permanent neighbour entry for its gateway points at it. */
export function hostVethMac(vethName: string): string {
  return deterministicMac(`veth/${vethName}`);
}

/** Container MAC when neither the request nor the controller chose one. */
export function endpointMac(tenant: string, endpoint: string): string {
  return deterministicMac(`endpoint/${tenant}/${endpoint}`);
}

export function isOwnedLinkName(name: string): boolean {
  return OWNED_LINK_REGEX.test(name);
}
