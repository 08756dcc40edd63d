/**
 * The human-readable form of one object for `tenet describe`: identity, labels, the spec as
 * indented YAML, status (with IPAM usage for networks, addresses for endpoints) and related
 * endpoints. Pure, so it is tested without a controller.
 */
import type { TenetObject } from '../core/model/object';
import { cidrLast, parseCidr, parseIp } from '../core/net/ip';
import { advertisedText, cell, labelsText, renderTable } from './output';
import { orderBySchema, toYaml } from './normalize';
import { kindInfo } from '../core/model/registry';
import type { ServicePort } from '../core/model/kinds/service';
import type { Endpoint } from '../core/model/kinds/endpoint';
import { targetPortOf } from '../core/services/backends';

export interface Related {
  title: string;
  endpoints: TenetObject[];
  /** A service's ports: the backends are then listed with their host and target ports. */
  ports?: ServicePort[];
}

/** What the endpoint's host reports about it (Host status); undefined when it could not be read (roles without Host access). */
export interface EndpointHostFigures {
  spoofDrops?: { packets: number; bytes: number };
}

type Any = Record<string, unknown>;

export function describeObject(object: TenetObject, related?: Related, figures?: EndpointHostFigures): string {
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(14)}${cell(value)}`);
  field('Kind', object.kind);
  field('Name', object.metadata.name);
  if (object.metadata.tenant) field('Tenant', object.metadata.tenant);
  field('Labels', labelsText(object.metadata.labels));
  const annotations = Object.entries(object.metadata.annotations ?? {});
  field('Annotations', annotations.length === 0 ? '<none>' : annotations.map(([k, v]) => `${k}=${v}`).join(', '));
  field('Created', object.metadata.createdAt ?? '<unknown>');
  field('Version', object.metadata.resourceVersion ?? '<unknown>');
  if (object.metadata.uid) field('UID', object.metadata.uid);

  const schema = kindInfo(object.kind)?.schema;
  const specSchema = (schema?.properties as Any | undefined)?.spec;
  lines.push('Spec:');
  lines.push(...indent(toYaml(orderBySchema(object.spec ?? {}, specSchema as never))));

  const status = (object.status ?? {}) as Any;
  const statusLines = statusSummary(object, status, related, figures);
  lines.push('Status:');
  if (statusLines.length === 0 && Object.keys(status).length === 0) lines.push('  <none>');
  lines.push(...statusLines.map((l) => `  ${l}`));
  const rest = Object.fromEntries(Object.entries(status).filter(([key]) => !SUMMARISED.has(key)));
  if (Object.keys(rest).length > 0) lines.push(...indent(toYaml(rest)));

  if (related) {
    lines.push(`${related.title}:`);
    if (related.endpoints.length === 0) lines.push('  <none>');
    else {
      const servicePorts = related.ports;
      const rows = related.endpoints.map((e) => {
        const s = (e.status ?? {}) as Any;
        const row = [
          e.metadata.name,
          String((e.spec as Any).network ?? ''),
          String(s.ipv4 ?? '-'),
          String(s.ipv6 ?? '-'),
          String(s.phase ?? '-'),
        ];
        if (!servicePorts) return row;
        // Service backends: their host and the port each service port lands on there (named ports resolved per backend).
        const targets = servicePorts.map((p) => `${p.port}/${p.protocol.toLowerCase()}->${targetPortOf(p, e as Endpoint) ?? 'none'}`);
        return [...row, String((e.spec as Any).host ?? '-'), targets.join(',')];
      });
      lines.push(...indent(renderTable(['NAME', 'NETWORK', 'IPV4', 'IPV6', 'PHASE', ...(servicePorts ? ['HOST', 'PORTS'] : [])], rows)));
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** Status keys that statusSummary prints in its own words. */
const SUMMARISED = new Set([
  'ipv4',
  'ipv6',
  'mac',
  'phase',
  'reason',
  'allocated',
  'gateways',
  'vni',
  'ruleHits',
  'lostAt',
  'reattachedAt',
  'attachment',
  'advertised',
  'address',
  'host',
]);

/** An endpoint's interface: where it was attached, and whether it was lost (and made again). */
function interfaceLines(status: Any): string[] {
  const lines: string[] = [];
  const attachment = status.attachment as Any | undefined;
  if (attachment)
    lines.push(
      `Attached:   ${cell(String(attachment.ifName))} in ${cell(String(attachment.netns))}${status.hostIfName ? ` (host side ${cell(String(status.hostIfName))})` : ''}`,
    );
  if (status.phase === 'lost') {
    lines.push(`Interface:  LOST since ${cell(String(status.lostAt ?? 'unknown'))}: ${cell(String(status.reason ?? 'no reason given'))}`);
  } else if (status.lostAt !== undefined) {
    const back = status.reattachedAt !== undefined ? `re-attached at ${cell(String(status.reattachedAt))}` : 'not re-attached';
    lines.push(`Interface:  lost at ${cell(String(status.lostAt))}, ${back}`);
  }
  return lines;
}

function statusSummary(object: TenetObject, status: Any, related: Related | undefined, figures?: EndpointHostFigures): string[] {
  const lines: string[] = [];
  if (object.kind === 'Endpoint') {
    lines.push(`Phase:      ${String(status.phase ?? 'unknown')}${status.reason ? ` (${cell(String(status.reason))})` : ''}`);
    lines.push(`IPv4:       ${String(status.ipv4 ?? '<none>')}`);
    lines.push(`IPv6:       ${String(status.ipv6 ?? '<none>')}`);
    lines.push(`MAC:        ${String(status.mac ?? '<none>')}`);
    lines.push(...interfaceLines(status));
    if (figures) {
      // The host reports only endpoints that dropped something: absent means none.
      const drops = figures.spoofDrops ?? { packets: 0, bytes: 0 };
      lines.push(`Spoofed:    ${drops.packets} packets (${drops.bytes} bytes) dropped: forged source address or MAC`);
    }
  } else if (object.kind === 'Network') {
    // The controller may report usage in status; otherwise the network's endpoints hold its addresses.
    const capacity = networkCapacity(object);
    const fromEndpoints = related?.endpoints.filter((e) => (e.status as Any | undefined)?.ipv4 !== undefined).length;
    const allocated = typeof status.allocated === 'number' ? status.allocated : fromEndpoints;
    const usage = allocated === undefined ? 'unknown' : `${allocated}`;
    const share = allocated !== undefined && capacity > 0 ? ` (${((allocated / capacity) * 100).toFixed(1)}%)` : '';
    lines.push(`IPv4 used:  ${usage} of ${capacity} usable addresses${share}`);
    const v6 = related?.endpoints.filter((e) => (e.status as Any | undefined)?.ipv6 !== undefined).length;
    if (v6 !== undefined && subnetsOf(object).some((s) => parseCidr(s.cidr)?.family === 6)) lines.push(`IPv6 used:  ${v6}`);
    if (Array.isArray(status.gateways)) lines.push(`Gateways:   ${status.gateways.join(', ')}`);
  } else if (object.kind === 'Policy' || object.kind === 'GlobalPolicy') {
    lines.push(...ruleHitLines(object, status.ruleHits));
  } else if (object.kind === 'FloatingIP') {
    lines.push(`Address:    ${cell(String(status.address ?? '<none>'))}`);
    lines.push(`Host:       ${cell(String(status.host ?? '<none>'))}`);
    lines.push(`Advertised: ${advertisedText(object)}`);
  } else if (object.kind === 'Tenant' && status.vni !== undefined) {
    lines.push(`VNI:        ${String(status.vni)}`);
  } else {
    for (const key of ['phase', 'reason', 'allocated', 'gateways', 'vni', 'ipv4', 'ipv6', 'mac']) {
      if (status[key] !== undefined) lines.push(`${key}: ${cell(JSON.stringify(status[key]))}`);
    }
  }
  return lines;
}

/** Hits per rule as the controller summed them over all hosts, with each rule's name and action from the spec. */
function ruleHitLines(object: TenetObject, ruleHits: unknown): string[] {
  if (!Array.isArray(ruleHits)) return ['Rule hits:  <not reported>'];
  if (ruleHits.length === 0) return ['Rule hits:  <no rules>'];
  const rows = (ruleHits as Any[]).map((hit) => {
    const direction = String(hit.direction);
    const rules = (object.spec as Any)[direction];
    const rule = (Array.isArray(rules) ? rules[Number(hit.index)] : undefined) as Any | undefined;
    return [
      direction,
      String(hit.index),
      String(rule?.name ?? '-'),
      String(rule?.action ?? '-'),
      String(hit.packets ?? 0),
      String(hit.bytes ?? 0),
    ];
  });
  return [
    'Rule hits (all hosts, since each host programmed the rule):',
    ...indent(renderTable(['DIRECTION', 'INDEX', 'NAME', 'ACTION', 'PACKETS', 'BYTES'], rows)),
  ];
}

/**
 * Addresses the network can hand out, IPv4 only (IPv6 subnets are effectively unbounded):
 * the subnet minus network, broadcast, gateway and reserved ranges.
 */
export function networkCapacity(object: TenetObject): number {
  let total = 0;
  for (const subnet of subnetsOf(object)) {
    const cidr = parseCidr(subnet.cidr);
    if (!cidr || cidr.family !== 4) continue;
    let usable = Number(cidrLast(cidr) - cidr.network) - 1 - 1;
    for (const range of subnet.reserved ?? []) {
      const start = parseIp(range.start);
      const end = parseIp(range.end);
      if (start && end && end.value >= start.value) usable -= Number(end.value - start.value) + 1;
    }
    total += Math.max(0, usable);
  }
  return total;
}

function subnetsOf(object: TenetObject): { cidr: string; gateway?: string; reserved?: { start: string; end: string }[] }[] {
  const subnets = (object.spec as Any).subnets;
  return Array.isArray(subnets) ? subnets : [];
}

function indent(text: string): string[] {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `  ${cell(l)}`);
}
