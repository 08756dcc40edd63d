/**
 * Validation of objects: structure (from the one schema per kind) and meaning
 * (addresses, ranges, tiers, references). Every problem is reported, each with
 * the path it concerns, so a user fixes everything in one round.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { KINDS, kindInfo, type KindInfo } from './registry';
import type { TenetObject } from './object';
import { API_VERSION } from './common';
import { cidrContains, cidrLast, cidrsOverlap, familyBits, formatCidr, isCanonicalCidr, parseCidr, parseIp, type Cidr } from '../net/ip';

export { policyProblems, policyReferenceProblems, peerProblems, portProblems } from '../policy/validate';
import { selectorProblems, type LabelSelector } from './selectors';
import type { Network } from './kinds/network';
import type { PolicySpec } from './kinds/policy';
import { policyProblems } from '../policy/validate';
import type { EndpointSpec } from './kinds/endpoint';
import { describeSchemaError } from './schema-errors';
import type { ServiceSpec } from './kinds/service';
import { serviceRangeProblems, type ServiceRangeSpec } from '../services/vip';
import type { FloatingIPPoolSpec, FloatingIPSpec } from './kinds/floating-ip';

export interface ValidationResult {
  ok: boolean;
  problems: string[];
}

const checkers = new Map<string, TypeCheck<TSchema>>(KINDS.map((k) => [k.kind, TypeCompiler.Compile(k.schema)]));

function jsonPath(path: string): string {
  // TypeBox reports JSON pointers (/spec/subnets/0/cidr); show them as spec.subnets[0].cidr.
  return path
    .split('/')
    .filter(Boolean)
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('')
    .replace(/\.\[/g, '[');
}

/** Structural and semantic validation of one object on its own (no cross-object references). */
export function validateObject(input: unknown): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: ['object: must be a JSON/YAML mapping with apiVersion, kind, metadata and spec'] };
  }
  const candidate = input as Record<string, unknown>;
  const info = typeof candidate.kind === 'string' ? kindInfo(candidate.kind) : undefined;
  if (!info) {
    const known = KINDS.map((k) => k.kind).join(', ');
    return { ok: false, problems: [`kind: must be one of ${known} (got ${JSON.stringify(candidate.kind ?? null)})`] };
  }
  if (candidate.apiVersion !== API_VERSION) {
    return { ok: false, problems: [`apiVersion: must be "${API_VERSION}" (got ${JSON.stringify(candidate.apiVersion ?? null)})`] };
  }
  const problems: string[] = [];
  const checker = checkers.get(info.kind)!;
  // Check is compiled and fast; the error walk only runs for objects that fail it. One problem per
  // path: a value that breaks several rules (pattern and length) is one thing to fix.
  const failedPaths: string[] = [];
  for (const error of checker.Check(input) ? [] : checker.Errors(input)) {
    const where = jsonPath(error.path) || 'object';
    if (failedPaths.includes(where)) continue;
    failedPaths.push(where);
    problems.push(describeSchemaError(error, where, preview));
    if (problems.length >= 50) break;
  }
  // One pass: the meaning of the parts that are well-formed is checked too, so every problem comes
  // at once. Those checks assume the schema's shape, so they run guarded, and what they say about a
  // part the schema already refused is dropped.
  const under = (problem: string) =>
    failedPaths.some(
      (path) => path === 'object' || problem.startsWith(`${path}:`) || problem.startsWith(`${path}.`) || problem.startsWith(`${path}[`),
    );
  for (const check of [() => scopeProblems(info, input as TenetObject), () => semanticProblems(input as TenetObject)]) {
    let found: string[];
    try {
      found = check();
    } catch (error) {
      if (problems.length === 0) throw error;
      continue;
    }
    problems.push(...(problems.length === 0 ? found : found.filter((p) => !under(p))));
  }
  return { ok: problems.length === 0, problems: dedupe(problems) };
}

/**
 * A short rendering of a rejected value for an error message. It sees whatever a client sent, so it
 * must never throw: a deeply nested value overflows JSON.stringify's recursion, and other values
 * (bigint, cycles from in-process callers) make it throw too.
 */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[...]' : value !== null && typeof value === 'object' ? '{...}' : typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

function scopeProblems(info: KindInfo, object: TenetObject): string[] {
  if (info.tenantScoped && !object.metadata.tenant) return ['metadata.tenant: required for ' + info.kind];
  if (!info.tenantScoped && object.metadata.tenant) return [`metadata.tenant: ${info.kind} is cluster-scoped and takes no tenant`];
  return [];
}

function semanticProblems(object: TenetObject): string[] {
  switch (object.kind) {
    case 'Network':
      return networkProblems(object as Network);
    case 'Group':
      return selectorProblems((object.spec as { selector: LabelSelector }).selector, 'spec.selector');
    case 'Service':
      return [
        ...selectorProblems((object.spec as { selector: LabelSelector }).selector, 'spec.selector'),
        ...serviceProblems(object.spec as ServiceSpec),
      ];
    case 'Tenant':
      return [
        ...serviceRangeProblems((object.spec as { serviceRange?: ServiceRangeSpec }).serviceRange),
        ...egressAddressProblems((object.spec as { egress?: { address?: string; host?: string } }).egress),
      ];
    case 'Policy':
    case 'GlobalPolicy':
      return policyProblems(object.kind, object.spec as PolicySpec);
    case 'Endpoint':
      return endpointProblems(object.spec as EndpointSpec);
    case 'FloatingIPPool':
      return floatingIPPoolProblems(object.spec as FloatingIPPoolSpec);
    case 'FloatingIP':
      return floatingIPProblems(object.spec as FloatingIPSpec);
    case 'Host': {
      const spec = object.spec as { underlayIP: string; underlayIPv6?: string };
      const problems = parseIp(spec.underlayIP) ? [] : ['spec.underlayIP: not an IP address'];
      if (spec.underlayIPv6 !== undefined && parseIp(spec.underlayIPv6)?.family !== 6)
        problems.push('spec.underlayIPv6: not an IPv6 address');
      return problems;
    }
    default:
      return [];
  }
}

export function networkProblems(network: Network): string[] {
  const problems: string[] = [];
  const seenFamilies = new Set<number>();
  const cidrs: Cidr[] = [];
  network.spec.subnets.forEach((subnet, index) => {
    const at = `spec.subnets[${index}]`;
    const cidr = parseCidr(subnet.cidr);
    if (!cidr) {
      problems.push(`${at}.cidr: "${subnet.cidr}" is not a valid CIDR`);
      return;
    }
    if (!isCanonicalCidr(subnet.cidr)) {
      problems.push(`${at}.cidr: "${subnet.cidr}" has host bits set; did you mean ${formatCidr(cidr)}?`);
    }
    const maxPrefix = cidr.family === 4 ? 30 : 126;
    const minPrefix = cidr.family === 4 ? 8 : 48;
    if (cidr.prefix > maxPrefix || cidr.prefix < minPrefix) {
      problems.push(`${at}.cidr: IPv${cidr.family} prefix must be between /${minPrefix} and /${maxPrefix} (got /${cidr.prefix})`);
    }
    if (seenFamilies.has(cidr.family)) problems.push(`${at}.cidr: at most one IPv${cidr.family} subnet per network`);
    seenFamilies.add(cidr.family);
    for (const other of cidrs) {
      if (cidrsOverlap(other, cidr)) problems.push(`${at}.cidr: overlaps ${formatCidr(other)} of the same network`);
    }
    cidrs.push(cidr);
    if (subnet.gateway !== undefined) {
      const gateway = parseIp(subnet.gateway);
      if (!gateway) problems.push(`${at}.gateway: "${subnet.gateway}" is not an IP address`);
      else if (!cidrContains(cidr, gateway)) problems.push(`${at}.gateway: ${subnet.gateway} is outside ${subnet.cidr}`);
      else if (gateway.value === cidr.network || (cidr.family === 4 && gateway.value === cidrLast(cidr))) {
        problems.push(`${at}.gateway: ${subnet.gateway} is the network or broadcast address of ${subnet.cidr}`);
      }
    }
    (subnet.reserved ?? []).forEach((range, r) => {
      const start = parseIp(range.start);
      const end = parseIp(range.end);
      const where = `${at}.reserved[${r}]`;
      if (!start || !end) {
        problems.push(`${where}: start and end must be IP addresses`);
        return;
      }
      if (!cidrContains(cidr, start) || !cidrContains(cidr, end)) problems.push(`${where}: range must lie inside ${subnet.cidr}`);
      else if (start.value > end.value) problems.push(`${where}: start ${range.start} is after end ${range.end}`);
    });
  });
  return problems;
}

/** Problems when a network would overlap another network of the same tenant. */
export function networkOverlapProblems(network: Network, others: readonly Network[]): string[] {
  const problems: string[] = [];
  for (const other of others) {
    if (other.metadata.name === network.metadata.name) continue;
    for (const mine of network.spec.subnets) {
      for (const theirs of other.spec.subnets) {
        const a = parseCidr(mine.cidr);
        const b = parseCidr(theirs.cidr);
        if (a && b && cidrsOverlap(a, b)) {
          problems.push(`spec.subnets: ${mine.cidr} overlaps ${theirs.cidr} of network "${other.metadata.name}" in the same tenant`);
        }
      }
    }
  }
  return problems;
}

/** An egress address is one IPv4 address and names the host that holds it (docs/external.md, "Egress address"). */
function egressAddressProblems(egress: { address?: string; host?: string } | undefined): string[] {
  if (!egress || (egress.address === undefined && egress.host === undefined)) return [];
  const problems: string[] = [];
  if (egress.address === undefined) problems.push('spec.egress.host: only with spec.egress.address');
  else if (parseIp(egress.address)?.family !== 4) problems.push(`spec.egress.address: "${egress.address}" is not an IPv4 address`);
  if (egress.address !== undefined && egress.host === undefined)
    problems.push('spec.egress.host: required with spec.egress.address (the host that holds the address)');
  return problems;
}

function serviceProblems(spec: ServiceSpec): string[] {
  const problems: string[] = [];
  const families = new Set<number>();
  (spec.virtualIPs ?? []).forEach((text, index) => {
    const ip = parseIp(text);
    if (!ip) problems.push(`spec.virtualIPs[${index}]: "${text}" is not an IP address`);
    else if (families.has(ip.family)) problems.push(`spec.virtualIPs[${index}]: at most one IPv${ip.family} virtual IP`);
    else families.add(ip.family);
  });
  const names = new Set<string>();
  const ports = new Set<string>();
  spec.ports.forEach((port, index) => {
    if (port.name !== undefined) {
      if (names.has(port.name)) problems.push(`spec.ports[${index}].name: "${port.name}" is used by another port`);
      names.add(port.name);
    } else if (spec.ports.length > 1) problems.push(`spec.ports[${index}].name: required when a service has several ports`);
    const id = `${port.protocol}/${port.port}`;
    if (ports.has(id)) problems.push(`spec.ports[${index}]: ${id.toLowerCase()} is listed twice`);
    ports.add(id);
  });
  if (spec.sessionAffinityTimeoutSeconds !== undefined && spec.sessionAffinity !== 'ClientIP') {
    problems.push('spec.sessionAffinityTimeoutSeconds: only with sessionAffinity ClientIP');
  }
  return problems;
}

function endpointProblems(spec: EndpointSpec): string[] {
  const problems: string[] = [];
  const families = new Set<number>();
  (spec.ips ?? []).forEach((text, index) => {
    const ip = parseIp(text);
    if (!ip) problems.push(`spec.ips[${index}]: "${text}" is not an IP address`);
    else if (families.has(ip.family)) problems.push(`spec.ips[${index}]: at most one IPv${ip.family} address`);
    else families.add(ip.family);
  });
  return problems;
}

/** Bits of the family, exported for callers that size things by family. */
export { familyBits };

function floatingIPPoolProblems(spec: FloatingIPPoolSpec): string[] {
  const problems: string[] = [];
  spec.cidrs.forEach((text, i) => {
    const cidr = parseCidr(text);
    if (!cidr) problems.push(`spec.cidrs[${i}]: "${text}" is not a CIDR`);
    else if (!isCanonicalCidr(text)) problems.push(`spec.cidrs[${i}]: "${text}" has host bits set`);
  });
  // One family per pool: an IPv6 FloatingIPPool hands out IPv6 floating IPs, an IPv4 one IPv4.
  const families = new Set(spec.cidrs.map((text) => parseCidr(text)?.family).filter((f) => f !== undefined));
  if (families.size > 1) problems.push('spec.cidrs: a pool holds one address family (IPv4 or IPv6): make one pool per family');
  return problems;
}

function floatingIPProblems(spec: FloatingIPSpec): string[] {
  const problems: string[] = [];
  if (spec.address !== undefined && parseIp(spec.address) === undefined)
    problems.push(`spec.address: "${spec.address}" is not an IP address`);
  if (spec.target && (spec.target.endpoint === undefined) === (spec.target.service === undefined))
    problems.push('spec.target: give exactly one of endpoint, service');
  return problems;
}
