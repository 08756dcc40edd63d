/**
 * The policy matrix of one tenant: its groups (or the values of one label) × themselves, per port,
 * each cell the verdict of the flows from the row's members to the column's, judged by the compiled
 * program (FlowJudge, as `tenet explain` does), with the deciding rule of an example flow. Endpoints
 * alike under every selector, CIDR and named port are judged once (the impact preview's classes,
 * over the label keys some selector names). A preview judges again with some policies switched off.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import { selectorMatches, type LabelSelector } from '../model/selectors';
import type { Decision } from './explain';
import { FlowJudge } from './flow';
import { classKey, mentionedCidrs, probePorts, protocolFits } from './impact';
import { endpointAddresses, type PolicyIntent } from './intent';
import type { L4Name, RuleOrigin } from './program';

export interface MatrixPort {
  protocol: L4Name;
  port?: number;
}

export interface MatrixRow {
  /** The group's name, or `key=value` when rows are a label's values. */
  name: string;
  members: number;
}

export interface FlowExample {
  from: string;
  to: string;
  allowed: boolean;
  egress: Decision;
  ingress: Decision;
}

export interface MatrixCell {
  /** `empty`: no flow (a group without members, or one endpoint to itself). */
  verdict: 'allow' | 'deny' | 'mixed' | 'empty';
  /** Endpoint pairs allowed and denied. */
  allowed: number;
  denied: number;
  /** A flow of the cell, with the rules that decided it; for a mixed cell one of each verdict. */
  examples: FlowExample[];
}

export interface PolicyMatrix {
  tenant: string;
  rowsBy: 'groups' | { label: string };
  rows: MatrixRow[];
  /** The ports judged: those asked for, else the first suggested one. */
  ports: MatrixPort[];
  /** The ports the policies name, then one other per protocol: what a client may ask for next. */
  suggestedPorts: MatrixPort[];
  /** cells[row][column][port]. */
  cells: MatrixCell[][][];
  /** With policies switched off: the same cells judged without them. */
  preview?: { off: string[]; cells: MatrixCell[][][] };
  /** Set when the tenant has more endpoint classes than the matrix judges (the rest are left out). */
  truncated?: true;
}

export interface MatrixOptions {
  /** Rows and columns: the tenant's Groups (default) or the values of one label key. */
  label?: string;
  /**
   * The ports to judge (default: the first suggested one). Each port is a full grid of judgments, and
   * a person reads one port at a time: asking for all of them would make the first answer slow.
   */
  ports?: MatrixPort[];
  /** `Policy/NAME` or `GlobalPolicy/NAME`: judged again without them. */
  off?: string[];
}

/** Rows beyond this are cut (a matrix nobody can read); classes beyond MAX_CLASSES likewise. */
export const MAX_ROWS = 100;
export const MAX_CLASSES = 400;

/** Every label key a selector of the intent names: endpoints that agree on these are alike to the compiler. */
function selectorKeys(intent: PolicyIntent): Set<string> {
  const keys = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'matchLabels' && inner && typeof inner === 'object') Object.keys(inner).forEach((k) => keys.add(k));
      else if (key === 'matchExpressions' && Array.isArray(inner))
        inner.forEach((e) => typeof (e as { key?: unknown }).key === 'string' && keys.add((e as { key: string }).key));
      else visit(inner);
    }
  };
  visit([intent.policies, intent.globalPolicies, intent.groups].map((list) => list.map((o) => o.spec)));
  return keys;
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/** The addresses a flow between two endpoints uses for a protocol: IPv4 when both have it and it fits, else IPv6. */
function flowAddresses(a: Endpoint, b: Endpoint, protocol: L4Name): [string, string] | undefined {
  for (const family of [4, 6] as const) {
    if (!protocolFits(protocol, family)) continue;
    const src = endpointAddresses(a).find((x) => familyOf(x) === family);
    const dst = endpointAddresses(b).find((x) => familyOf(x) === family);
    if (src && dst) return [src, dst];
  }
  return undefined;
}

function withoutPolicies(intent: PolicyIntent, off: readonly string[]): PolicyIntent {
  const gone = new Set(off);
  return {
    ...intent,
    policies: intent.policies.filter((p) => !gone.has(`Policy/${p.metadata.name}`)),
    globalPolicies: intent.globalPolicies.filter((p) => !gone.has(`GlobalPolicy/${p.metadata.name}`)),
  };
}

interface Member {
  endpoint: Endpoint;
  cls: number;
}

export function policyMatrix(intent: PolicyIntent, tenant: string, options: MatrixOptions = {}): PolicyMatrix {
  const endpoints = intent.endpoints.filter((e) => e.metadata.tenant === tenant && endpointAddresses(e).length > 0);
  const suggestedPorts = probePorts([intent]);
  const ports = options.ports ?? suggestedPorts.slice(0, 1);
  const cidrs = mentionedCidrs([intent, ...(options.off?.length ? [withoutPolicies(intent, options.off)] : [])]);
  const keys = selectorKeys(intent);
  const classes = new Map<string, number>();
  const reps: Endpoint[] = [];
  let truncated = false;
  const members: Member[] = [];
  for (const endpoint of endpoints) {
    const labels = Object.fromEntries(Object.entries(endpoint.metadata.labels ?? {}).filter(([k]) => keys.has(k)));
    const key = classKey({ ...endpoint, metadata: { ...endpoint.metadata, labels } }, cidrs);
    let cls = classes.get(key);
    if (cls === undefined) {
      if (classes.size >= MAX_CLASSES) {
        truncated = true;
        continue;
      }
      cls = classes.size;
      classes.set(key, cls);
      reps.push(endpoint);
    }
    members.push({ endpoint, cls });
  }

  // Rows: the tenant's Groups, or the values of one label.
  let rows: Array<{ name: string; members: Member[] }>;
  if (options.label !== undefined) {
    const label = options.label;
    const values = new Map<string, Member[]>();
    for (const m of members) {
      const value = m.endpoint.metadata.labels?.[label];
      if (value !== undefined) values.set(value, [...(values.get(value) ?? []), m]);
    }
    rows = [...values.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([value, list]) => ({ name: `${label}=${value}`, members: list }));
  } else {
    rows = intent.groups
      .filter((g) => g.metadata.tenant === tenant)
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
      .map((g) => ({
        name: g.metadata.name,
        members: members.filter((m) => selectorMatches(g.spec.selector as LabelSelector, m.endpoint.metadata.labels ?? {})),
      }));
  }
  if (rows.length > MAX_ROWS) {
    rows = rows.slice(0, MAX_ROWS);
    truncated = true;
  }

  const byClass = rows.map((row) => {
    const map = new Map<number, Member[]>();
    for (const m of row.members) map.set(m.cls, [...(map.get(m.cls) ?? []), m]);
    return map;
  });
  const judgeAll = (judge: FlowJudge): MatrixCell[][][] => {
    const memo = new Map<string, FlowExample | null>();
    const example = (a: Member, b: Member, port: MatrixPort): FlowExample | null => {
      // Two members of one class stand for each other; a flow from an endpoint to itself is not one.
      const key = `${a.cls}|${b.cls}|${port.protocol}/${port.port ?? ''}`;
      let found = memo.get(key);
      if (found === undefined) {
        // The caller never pairs an endpoint with itself, so within one class the pair itself is the example.
        const [src, dst] = a.cls === b.cls ? [a.endpoint, b.endpoint] : [reps[a.cls], reps[b.cls]];
        const addresses = flowAddresses(src, dst, port.protocol);
        if (!addresses) found = null;
        else {
          const result = judge.judge(
            { endpoint: src, address: addresses[0] },
            { endpoint: dst, address: addresses[1] },
            port.protocol,
            port.port,
          );
          found = {
            from: src.metadata.name,
            to: dst.metadata.name,
            allowed: result.allowed,
            egress: result.egress,
            ingress: result.ingress,
          };
        }
        memo.set(key, found);
      }
      return found;
    };
    return rows.map((_row, r) =>
      rows.map((_column, c) =>
        ports.map((port) => {
          const cell: MatrixCell = { verdict: 'empty', allowed: 0, denied: 0, examples: [] };
          // Pairs per class pair: counted once, judged once (never an endpoint with itself).
          const pairs: Array<{ a: Member; b: Member; count: number }> = [];
          for (const [ci, listA] of byClass[r]) {
            for (const [cj, listB] of byClass[c]) {
              let count = listA.length * listB.length;
              let a = listA[0];
              let b = listB[0];
              if (ci === cj) {
                const inB = r === c ? undefined : new Set(listB.map((m) => m.endpoint));
                count -= r === c ? listA.length : listA.filter((m) => inB!.has(m.endpoint)).length;
                if (count === 0) continue;
                const other = listB.find((m) => m.endpoint !== a.endpoint);
                if (other) b = other;
                else a = listA.find((m) => m.endpoint !== b.endpoint)!;
              }
              pairs.push({ a, b, count });
            }
          }
          for (const { a, b, count } of pairs) {
            const flow = example(a, b, port);
            if (!flow) continue;
            if (flow.allowed) cell.allowed += count;
            else cell.denied += count;
            if (!cell.examples.some((e) => e.allowed === flow.allowed)) cell.examples.push(flow);
          }
          cell.verdict = cell.allowed + cell.denied === 0 ? 'empty' : cell.denied === 0 ? 'allow' : cell.allowed === 0 ? 'deny' : 'mixed';
          return cell;
        }),
      ),
    );
  };

  const matrix: PolicyMatrix = {
    tenant,
    rowsBy: options.label !== undefined ? { label: options.label } : 'groups',
    rows: rows.map((r) => ({ name: r.name, members: r.members.length })),
    ports,
    suggestedPorts,
    cells: judgeAll(new FlowJudge(intent, tenant)),
    ...(truncated ? { truncated: true as const } : {}),
  };
  if (options.off && options.off.length > 0) {
    matrix.preview = { off: [...options.off], cells: judgeAll(new FlowJudge(withoutPolicies(intent, options.off), tenant)) };
  }
  return matrix;
}

/**
 * What a tenant role may learn of a deciding rule: the tier and action of a GlobalPolicy's rule, not
 * its name or rule (tenant roles may not read GlobalPolicies; docs/security.md).
 */
export function redactOrigin(origin: RuleOrigin | undefined): RuleOrigin | undefined {
  if (!origin || origin.policyKind !== 'GlobalPolicy') return origin;
  return {
    ...(origin.direction ? { direction: origin.direction } : {}),
    tier: origin.tier,
    policyKind: 'GlobalPolicy',
    ...(origin.action ? { action: origin.action } : {}),
  };
}

export function redactDecision(decision: Decision): Decision {
  if (decision.origin?.policyKind !== 'GlobalPolicy') return decision;
  return { verdict: decision.verdict, origin: redactOrigin(decision.origin) };
}

export function redactMatrix(matrix: PolicyMatrix): PolicyMatrix {
  const cells = (grid: MatrixCell[][][]) =>
    grid.map((row) =>
      row.map((column) =>
        column.map((cell) => ({
          ...cell,
          examples: cell.examples.map((e) => ({ ...e, egress: redactDecision(e.egress), ingress: redactDecision(e.ingress) })),
        })),
      ),
    );
  return {
    ...matrix,
    cells: cells(matrix.cells),
    ...(matrix.preview ? { preview: { ...matrix.preview, cells: cells(matrix.preview.cells) } } : {}),
  };
}

const PROTOCOLS: Readonly<Record<string, L4Name>> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', icmp: 'icmp', icmpv6: 'icmpv6' };

/** `tcp/5432`, `udp/53`, `icmp`: what `tenet explain --port` takes; undefined when it is none of them. */
export function parsePortText(text: string): MatrixPort | undefined {
  const match = /^([a-z0-9]+)(?:\/([0-9]{1,5}))?$/.exec(text.trim().toLowerCase());
  const protocol = match ? PROTOCOLS[match[1]] : undefined;
  if (!match || !protocol) return undefined;
  if (protocol === 'icmp' || protocol === 'icmpv6') return match[2] === undefined ? { protocol } : undefined;
  const port = Number(match[2]);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? { protocol, port } : undefined;
}
