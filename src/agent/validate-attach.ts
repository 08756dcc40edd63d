/** Boundary checks of attach-socket requests: anything that fails here is a 400 and changes nothing. */
import type { AttachRequest, DetachRequest } from '../attach/protocol';
import {
  ATTACHED_BY_REGEX,
  CONTAINER_ID_REGEX,
  IFNAME_REGEX,
  LABEL_KEY_REGEX,
  LABEL_VALUE_REGEX,
  MAC_REGEX,
  NAME_REGEX,
} from '../core/model/names';
import { parseIp } from '../core/net/ip';
import { bandwidthProblems, type Bandwidth } from '../core/dataplane/bandwidth';
import { NETNS_PATH_REGEX } from '../kernel/ip';

export class InvalidRequest extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function field(body: Record<string, unknown>, key: string, regex: RegExp, what: string, required = true): string | undefined {
  const value = body[key];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || !regex.test(value)) {
    throw new InvalidRequest(`${key}: ${value === undefined ? 'is required' : `${JSON.stringify(value).slice(0, 80)} is not ${what}`}`);
  }
  return value;
}

export function validateAttachRequest(body: unknown): AttachRequest {
  if (!isRecord(body)) throw new InvalidRequest('body must be a JSON object');
  const allowed = new Set([
    'containerId',
    'netns',
    'ifName',
    'tenant',
    'network',
    'labels',
    'scope',
    'ips',
    'mac',
    'ports',
    'attachedBy',
    'bandwidth',
  ]);
  for (const key of Object.keys(body)) if (!allowed.has(key)) throw new InvalidRequest(`unknown field "${key}"`);
  const request: AttachRequest = {
    containerId: field(body, 'containerId', CONTAINER_ID_REGEX, 'a valid container id (letters, digits, "_", ".", "-")')!,
    netns: field(body, 'netns', NETNS_PATH_REGEX, 'an absolute namespace path such as /run/netns/x or /proc/PID/ns/net')!,
    ifName: field(body, 'ifName', IFNAME_REGEX, 'a valid interface name (at most 15 letters, digits, "_", ".", "-")')!,
    tenant: field(body, 'tenant', NAME_REGEX, 'a valid tenant name (lower-case letters, digits, "-")')!,
    network: field(body, 'network', NAME_REGEX, 'a valid network name (lower-case letters, digits, "-")')!,
  };
  if (body.scope !== undefined) request.scope = field(body, 'scope', NAME_REGEX, 'a valid scope name');
  if (body.attachedBy !== undefined)
    request.attachedBy = field(body, 'attachedBy', ATTACHED_BY_REGEX, 'a client name such as cni/NAME, docker or lab');
  if (body.bandwidth !== undefined) {
    const problems = bandwidthProblems(body.bandwidth);
    if (problems.length > 0) throw new InvalidRequest(problems.join('; '));
    request.bandwidth = body.bandwidth as Bandwidth;
  }
  if (body.mac !== undefined) request.mac = field(body, 'mac', MAC_REGEX, 'a MAC address')!.toLowerCase();
  if (body.labels !== undefined) {
    if (!isRecord(body.labels)) throw new InvalidRequest('labels must be an object of strings');
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(body.labels)) {
      if (!LABEL_KEY_REGEX.test(key) || key.length > 253)
        throw new InvalidRequest(`labels: key ${JSON.stringify(key).slice(0, 80)} is not a valid label key`);
      if (typeof value !== 'string' || !LABEL_VALUE_REGEX.test(value))
        throw new InvalidRequest(`labels.${key}: ${JSON.stringify(value).slice(0, 80)} is not a valid label value`);
      labels[key] = value;
    }
    request.labels = labels;
  }
  if (body.ips !== undefined) {
    if (!Array.isArray(body.ips) || body.ips.length > 2) throw new InvalidRequest('ips must be an array of at most two addresses');
    const families = new Set<number>();
    request.ips = body.ips.map((ip, index) => {
      const parsed = typeof ip === 'string' ? parseIp(ip) : undefined;
      if (!parsed) throw new InvalidRequest(`ips[${index}]: ${JSON.stringify(ip).slice(0, 60)} is not an IP address`);
      if (families.has(parsed.family)) throw new InvalidRequest(`ips: at most one IPv${parsed.family} address`);
      families.add(parsed.family);
      return ip as string;
    });
  }
  if (body.ports !== undefined) {
    if (!Array.isArray(body.ports) || body.ports.length > 64) throw new InvalidRequest('ports must be an array of at most 64 entries');
    request.ports = body.ports.map((port, index) => {
      if (!isRecord(port)) throw new InvalidRequest(`ports[${index}] must be an object`);
      const number = port.port;
      const protocol = port.protocol;
      if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535)
        throw new InvalidRequest(`ports[${index}].port must be 1..65535`);
      if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP')
        throw new InvalidRequest(`ports[${index}].protocol must be TCP, UDP or SCTP`);
      const out: { name?: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' } = { port: number, protocol };
      if (port.name !== undefined) {
        if (typeof port.name !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(port.name))
          throw new InvalidRequest(`ports[${index}].name is not a valid port name`);
        out.name = port.name;
      }
      return out;
    });
  }
  return request;
}

export function validateDetachRequest(body: unknown): DetachRequest {
  if (!isRecord(body)) throw new InvalidRequest('body must be a JSON object');
  const request: DetachRequest = { containerId: field(body, 'containerId', CONTAINER_ID_REGEX, 'a valid container id')! };
  if (body.ifName !== undefined) request.ifName = field(body, 'ifName', IFNAME_REGEX, 'a valid interface name');
  // The netns may be gone or empty (containerd sends DEL with an empty CNI_NETNS); it is not needed.
  if (typeof body.netns === 'string' && body.netns !== '')
    request.netns = field(body, 'netns', NETNS_PATH_REGEX, 'an absolute namespace path');
  return request;
}

/** A namespace file's identity: the nsfs device and inode (what `stat` says), the same through every path that reaches it. */
export interface NamespaceId {
  dev: number;
  ino: number;
}

/** A namespace no container may be attached into, and what it is (for the refusal's message). */
export interface ForbiddenNamespace {
  id: NamespaceId;
  what: string;
}

/**
 * Why `target` may not receive a container interface, or undefined when it may. Compared by device and
 * inode, never by path: /proc/PID/ns/net of any process in a namespace, /proc/self/ns/net and every bind
 * mount of it are the same file. `nsfs` is the device of namespace files: anything else (a regular file,
 * a device node) is no namespace at all.
 */
export function namespaceRefusal(
  target: NamespaceId,
  nsfs: number,
  forbidden: readonly ForbiddenNamespace[],
): { status: 400 | 403; message: string } | undefined {
  if (target.dev !== nsfs) return { status: 400, message: 'is not a network namespace' };
  const hit = forbidden.find((f) => f.id.dev === target.dev && f.id.ino === target.ino);
  return hit ? { status: 403, message: `is ${hit.what}; containers are never attached there` } : undefined;
}
