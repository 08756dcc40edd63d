/**
 * Pure naming and option rules of the Docker driver: how Docker ids become attach API ids and
 * interface names, how pools are named, and which options carry tenant, network and labels.
 */
import { createHash } from 'node:crypto';
import { LABEL_KEY_REGEX, LABEL_VALUE_REGEX, NAME_REGEX } from '../core/model/names';
import { GENERIC_OPTIONS } from './protocol';

/** Docker ids are 64 hex characters. */
export const DOCKER_ID = /^[0-9a-f]{64}$/;
export const LABEL_OPTION_PREFIX = 'label.';

export class DriverError extends Error {}

export function assertDockerId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !DOCKER_ID.test(id))
    throw new DriverError(`${what} must be a Docker id (64 hex characters), got ${JSON.stringify(id)}`);
  return id;
}

/** The attach API's container id for a Docker endpoint: the endpoint id itself (stateless lookups after restarts). */
export function containerIdFor(endpointId: string): string {
  return endpointId;
}

/**
 * The interface Docker moves into the container: made in the staging namespace, moved to the
 * daemon's namespace, named from the endpoint id ("tnd" + 12 hex = 15 characters, the Linux limit).
 */
export function stagingIfName(endpointId: string): string {
  return `tnd${endpointId.slice(0, 12)}`;
}

export interface NetworkBinding {
  tenant: string;
  network: string;
  labels: Record<string, string>;
}

/** Docker's `-o key=value` options: tenant=, network= and label.KEY=VALUE. */
export function genericOptions(options: Record<string, unknown> | undefined): Record<string, string> {
  const generic = options?.[GENERIC_OPTIONS];
  const out: Record<string, string> = {};
  if (typeof generic === 'object' && generic !== null) {
    for (const [key, value] of Object.entries(generic)) if (typeof value === 'string') out[key] = value;
  }
  return out;
}

export function labelsFrom(options: Record<string, string>, problems: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!key.startsWith(LABEL_OPTION_PREFIX)) continue;
    const name = key.slice(LABEL_OPTION_PREFIX.length);
    if (!LABEL_KEY_REGEX.test(name) || !LABEL_VALUE_REGEX.test(value)) problems.push(`label ${name}=${value} is not a valid label`);
    else labels[name] = value;
  }
  return labels;
}

export function bindingFromNetworkOptions(options: Record<string, unknown> | undefined): NetworkBinding {
  const generic = genericOptions(options);
  const problems: string[] = [];
  const tenant = generic.tenant ?? '';
  const network = generic.network ?? '';
  if (!NAME_REGEX.test(tenant)) problems.push('-o tenant=NAME is required (a Tenet tenant name)');
  if (!NAME_REGEX.test(network)) problems.push('-o network=NAME is required (a Tenet network name)');
  const labels = labelsFrom(generic, problems);
  if (problems.length > 0) throw new DriverError(problems.join('; '));
  return { tenant, network, labels };
}

/**
 * Pool ids: "tenet/<tenant>/<network>/<4|6>" when RequestPool is told the network
 * (--ipam-opt tenant= --ipam-opt network=, or a --subnet naming exactly one Tenet network), so
 * later calls need no lookup; otherwise "tenet-pending/<token>/<4|6>", bound when CreateNetwork
 * arrives with -o tenant= -o network= (Docker asks for the pool before it creates the network).
 */
export function knownPoolId(tenant: string, network: string, v6: boolean): string {
  return `tenet/${tenant}/${network}/${v6 ? 6 : 4}`;
}

export function pendingPoolId(token: string, v6: boolean): string {
  return `tenet-pending/${token}/${v6 ? 6 : 4}`;
}

export type ParsedPool =
  { kind: 'known'; tenant: string; network: string; family: 4 | 6 } | { kind: 'pending'; token: string; family: 4 | 6 };

export function parsePoolId(poolId: unknown): ParsedPool {
  const parts = typeof poolId === 'string' ? poolId.split('/') : [];
  const family = parts.at(-1) === '6' ? 6 : parts.at(-1) === '4' ? 4 : undefined;
  if (family && parts.length === 4 && parts[0] === 'tenet' && NAME_REGEX.test(parts[1]) && NAME_REGEX.test(parts[2])) {
    return { kind: 'known', tenant: parts[1], network: parts[2], family };
  }
  if (family && parts.length === 3 && parts[0] === 'tenet-pending' && /^[0-9a-f]{4}$/.test(parts[1]))
    return { kind: 'pending', token: parts[1], family };
  throw new DriverError(`unknown pool id ${JSON.stringify(poolId)}`);
}

/**
 * A pending pool stands in with a distinct /24 of 240.0.0.0/4 (reserved, never routed), or for
 * IPv6 a distinct /64 of the documentation prefix 2001:db8::/32 (never routed either), so that
 * CreateNetwork, which reports the pool by its subnet only, can be matched to it.
 */
export function placeholderPool(token: string, v6 = false): { pool: string; gateway: string } {
  // Canonical text (no leading zeros; the token's group is followed by a non-zero one so that "::"
  // never swallows it), as Docker echoes the pool back in CreateNetwork.
  const group = Number.parseInt(token, 16).toString(16);
  if (v6) return { pool: `2001:db8:${group}:240::/64`, gateway: `2001:db8:${group}:240::1/64` };
  const a = Number.parseInt(token.slice(0, 2), 16);
  const b = Number.parseInt(token.slice(2, 4), 16);
  return { pool: `240.${a}.${b}.0/24`, gateway: `240.${a}.${b}.1/24` };
}

export function tokenOfPlaceholder(pool: string | undefined): string | undefined {
  const v6 = /^2001:db8:([0-9a-f]{1,4}):240::\/64$/.exec(pool ?? '');
  if (v6) return v6[1].padStart(4, '0');
  const match = /^240\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(pool ?? '');
  if (!match) return undefined;
  return [match[1], match[2]].map((n) => Number(n).toString(16).padStart(2, '0')).join('');
}

/** Annotation on this host's Host object that keeps a Docker network's binding across agent restarts. */
export function bindingAnnotation(networkId: string): string {
  return `docker.tenet.dev/network.${networkId}`;
}

export function pendingAnnotation(token: string): string {
  return `docker.tenet.dev/pool.${token}`;
}

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
