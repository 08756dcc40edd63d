/**
 * Printing results: aligned tables (kubectl-like, `-o wide` adds columns), JSON and YAML.
 * Table cells are made safe for a terminal here, because descriptions and reasons are free text
 * that came from somebody else.
 */
import type { KindInfo, KindName } from '../core/model/registry';
import type { TenetObject } from '../core/model/object';
import { CliError } from './context';
import { toYaml } from './normalize';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml'];

export function parseFormat(text: string | undefined, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  const value = (text ?? 'table') as OutputFormat;
  if (!allowed.includes(value)) throw new CliError(`-o ${text}: use one of ${allowed.join(', ')}`, 2);
  return value;
}

/** Control characters (newlines, escape sequences) would break the table or the terminal. */
export function cell(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Columns separated by three spaces, widths from the widest cell (header included). */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], widths?: number[]): string {
  const sizes = widths ?? columnWidths(headers, rows);
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) => (i === cells.length - 1 ? cell(text) : cell(text).padEnd(sizes[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

export function columnWidths(headers: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return headers.map((header, i) => Math.max(header.length, ...rows.map((row) => cell(row[i] ?? '').length)));
}

/** 45s, 12m, 3h, 5d: coarse age like kubectl. */
export function age(createdAt: string | undefined, now = Date.now()): string {
  if (!createdAt) return '<unknown>';
  const start = Date.parse(createdAt);
  if (Number.isNaN(start)) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - start) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

export interface Column {
  header: string;
  wide?: boolean;
  value(object: TenetObject): string;
}

type Any = Record<string, unknown>;

function spec(object: TenetObject): Any {
  return (object.spec ?? {}) as Any;
}

function status(object: TenetObject): Any {
  return (object.status ?? {}) as Any;
}

function text(value: unknown): string {
  if (value === undefined || value === null || value === '') return '<none>';
  if (Array.isArray(value)) return value.length === 0 ? '<none>' : value.map((v) => text(v)).join(',');
  return String(value);
}

export function labelsText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** The compact text form of a selector (`app=web,tier in (a,b)`), or `<all>` for an empty one. */
export function selectorText(selector: unknown): string {
  if (!selector || typeof selector !== 'object') return '<none>';
  const s = selector as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
  }
  return parts.length === 0 ? '<all>' : parts.join(',');
}

function appliesToText(object: TenetObject): string {
  const applies = (spec(object).appliesTo ?? {}) as Any;
  const parts: string[] = [];
  if (applies.group) parts.push(`group=${String(applies.group)}`);
  if (applies.selector) parts.push(`selector=${selectorText(applies.selector)}`);
  if (applies.scopeSelector) parts.push(`scopes=${selectorText(applies.scopeSelector)}`);
  if (applies.tenants) parts.push(`tenants=${text(applies.tenants)}`);
  if (applies.tenantSelector) parts.push(`tenantSelector=${selectorText(applies.tenantSelector)}`);
  return parts.length === 0 ? '<all>' : parts.join(' ');
}

function rulesText(object: TenetObject): string {
  const s = spec(object);
  const count = (list: unknown) => (Array.isArray(list) ? list.length : 0);
  return `${count(s.ingress)} in/${count(s.egress)} out`;
}

/** Packets summed over the rules (the controller's computed status.ruleHits); '-' when it sent none. */
export function hitsText(object: TenetObject): string {
  const hits = status(object).ruleHits;
  if (!Array.isArray(hits)) return '-';
  return String(hits.reduce((sum: number, r: Any) => sum + (typeof r.packets === 'number' ? r.packets : 0), 0));
}

function portsText(ports: unknown): string {
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports
    .map(
      (p: Any) =>
        `${String(p.port)}${p.targetPort !== undefined && p.targetPort !== p.port ? `:${String(p.targetPort)}` : ''}/${String(p.protocol)}`,
    )
    .join(',');
}

function subnetsOf(object: TenetObject): Any[] {
  const subnets = spec(object).subnets;
  return Array.isArray(subnets) ? (subnets as Any[]) : [];
}

const POLICY_COLUMNS: Column[] = [
  { header: 'TIER', value: (o) => text(spec(o).tier ?? 'tenant') },
  { header: 'PRIORITY', value: (o) => text(spec(o).priority) },
  { header: 'APPLIES-TO', value: appliesToText },
  { header: 'RULES', wide: true, value: rulesText },
  { header: 'HITS', wide: true, value: hitsText },
];

const KIND_COLUMNS: Record<KindName, Column[]> = {
  Tenant: [
    { header: 'VNI', value: (o) => text(status(o).vni) },
    { header: 'DEFAULT', value: (o) => text(spec(o).defaultPolicy ?? 'allow') },
    // docs/external.md: how the tenant reaches the outside (NAT) and which networks the outside reaches by their own addresses.
    { header: 'EGRESS', wide: true, value: (o) => text((spec(o).egress as Any | undefined)?.mode) },
    {
      header: 'ROUTED',
      wide: true,
      value: (o) => {
        const routed = spec(o).routed as Any | undefined;
        return routed ? text(routed.networks ?? 'all') : text(undefined);
      },
    },
    { header: 'DESCRIPTION', wide: true, value: (o) => text(spec(o).description) },
  ],
  Network: [
    { header: 'SUBNETS', value: (o) => text(subnetsOf(o).map((s) => s.cidr)) },
    {
      header: 'GATEWAYS',
      value: (o) =>
        text(
          status(o).gateways ??
            subnetsOf(o)
              .map((s) => s.gateway)
              .filter(Boolean),
        ),
    },
    { header: 'ALLOCATED', wide: true, value: (o) => text(status(o).allocated) },
    { header: 'MTU', wide: true, value: (o) => text(spec(o).mtu) },
  ],
  Scope: [{ header: 'DESCRIPTION', value: (o) => text(spec(o).description) }],
  Group: [
    { header: 'SELECTOR', value: (o) => selectorText(spec(o).selector) },
    { header: 'MEMBERS', value: (o) => text(status(o).members) },
  ],
  // A GlobalPolicy always names its tier; a Policy without one is in the tenant tier.
  Policy: POLICY_COLUMNS,
  GlobalPolicy: POLICY_COLUMNS,
  Service: [
    { header: 'VIRTUAL-IPS', value: (o) => text(status(o).virtualIPs) },
    { header: 'PORTS', value: (o) => portsText(spec(o).ports) },
    { header: 'READY', value: (o) => text(status(o).readyBackends) },
    { header: 'HOSTS', value: (o) => text(status(o).realizedHosts) },
    { header: 'SELECTOR', wide: true, value: (o) => selectorText(spec(o).selector) },
    { header: 'DNS', wide: true, value: (o) => text(status(o).dnsName) },
  ],
  Endpoint: [
    { header: 'NETWORK', value: (o) => text(spec(o).network) },
    { header: 'HOST', value: (o) => text(spec(o).host) },
    { header: 'IPV4', value: (o) => text(status(o).ipv4) },
    { header: 'IPV6', value: (o) => text(status(o).ipv6) },
    { header: 'PHASE', value: (o) => text(status(o).phase) },
    { header: 'MAC', wide: true, value: (o) => text(status(o).mac) },
    { header: 'CONTAINER', wide: true, value: (o) => text(spec(o).containerId).slice(0, 12) },
  ],
  Host: [
    { header: 'UNDERLAY', value: (o) => text(spec(o).underlayIP) },
    { header: 'READY', value: (o) => text(status(o).ready) },
    { header: 'HEARTBEAT', value: (o) => text(status(o).heartbeatAt) },
    { header: 'VERSION', wide: true, value: (o) => text(status(o).agentVersion) },
  ],
  FloatingIPPool: [
    { header: 'CIDRS', value: (o) => text(spec(o).cidrs) },
    { header: 'ADVERTISE', value: (o) => text(spec(o).advertise ?? 'bgp') },
  ],
  FloatingIP: [
    { header: 'ADDRESS', value: (o) => text(status(o).address) },
    { header: 'TARGET', value: floatTargetText },
    { header: 'HOST', value: (o) => text(status(o).host) },
    { header: 'ADVERTISED', value: (o) => advertisedText(o) },
    { header: 'POOL', wide: true, value: (o) => text(status(o).pool) },
  ],
};

/**
 * How a floating IP is advertised, as its hosts report it: `BGP from h1,h2`, `ARP on h2` (`NDP` for
 * IPv6), `no` when no host reports announcing it.
 */
export function advertisedText(object: TenetObject): string {
  const advertised = status(object).advertised as { host: string; via: string }[] | undefined;
  if (!Array.isArray(advertised) || advertised.length === 0) return 'no';
  const l2 = String(status(object).address ?? '').includes(':') ? 'NDP' : 'ARP';
  const parts: string[] = [];
  for (const via of ['bgp', 'l2']) {
    const hosts = advertised.filter((a) => a.via === via).map((a) => cell(String(a.host)));
    if (hosts.length > 0) parts.push(via === 'bgp' ? `BGP from ${hosts.join(',')}` : `${l2} on ${hosts.join(',')}`);
  }
  return parts.join('; ');
}

/** `endpoint/NAME` or `service/NAME`, `<none>` when unbound. */
function floatTargetText(object: TenetObject): string {
  const target = spec(object).target as Any;
  if (target?.endpoint !== undefined) return `endpoint/${String(target.endpoint)}`;
  if (target?.service !== undefined) return `service/${String(target.service)}`;
  return '<none>';
}

/** Columns for a kind: TENANT first when several tenants are listed, NAME, the kind's own, AGE, LABELS (wide). */
export function columnsFor(info: KindInfo, options: { wide: boolean; showTenant: boolean; now?: number }): Column[] {
  const columns: Column[] = [];
  if (options.showTenant) columns.push({ header: 'TENANT', value: (o) => o.metadata.tenant ?? '' });
  columns.push({ header: 'NAME', value: (o) => o.metadata.name });
  columns.push(...KIND_COLUMNS[info.kind].filter((c) => options.wide || !c.wide));
  columns.push({ header: 'AGE', value: (o) => age(o.metadata.createdAt, options.now) });
  if (options.wide) columns.push({ header: 'LABELS', value: (o) => labelsText(o.metadata.labels) });
  return columns;
}

export function objectRows(objects: readonly TenetObject[], columns: readonly Column[]): string[][] {
  return objects.map((object) => columns.map((column) => column.value(object)));
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function formatData(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? formatJson(value) : toYaml(value);
}
