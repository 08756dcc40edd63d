/**
 * What the controller accepts from an agent's flow report: records of the shape records.ts makes,
 * with bounded strings, and the reporting host forced to the one in the path (an agent speaks for its
 * own host only). Anything else is refused whole (400), so one bad record never half-lands.
 */
import type { FlowPeer, FlowRecord, FlowRule } from './records';
import type { DenyRuleCount } from './record-types';
import { parseLogPrefix } from '../policy/deny-log';

/** Records per report at most: the agent's PUSH_BATCH (src/agent/flows/recorder.ts). */
export const MAX_REPORT_RECORDS = 5000;

const TYPES = new Set(['deny', 'log', 'flow-start', 'flow-end']);
const VERDICTS = new Set(['allowed', 'denied', 'logged']);
const TIERS = new Set(['admin', 'tenant', 'baseline', 'default']);

const str = (v: unknown, max = 253): v is string => typeof v === 'string' && v.length <= max;
const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optional = (v: unknown, check: (x: unknown) => boolean): boolean => v === undefined || check(v);

function labels(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const entries = Object.entries(v);
  return entries.length <= 64 && entries.every(([k, x]) => k.length <= 317 && str(x, 63));
}

function peer(v: unknown): v is FlowPeer {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return (
    str(p.address, 45) &&
    optional(p.port, (x) => int(x) && (x as number) <= 65535) &&
    optional(p.endpoint, (x) => str(x, 63)) &&
    optional(p.host, (x) => str(x, 63)) &&
    optional(p.labels, labels)
  );
}

function rule(v: unknown): v is FlowRule {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    (r.direction === 'egress' || r.direction === 'ingress') &&
    TIERS.has(r.tier as string) &&
    str(r.action, 32) &&
    optional(r.policy, (x) => str(x, 1024)) &&
    optional(r.rule, int) &&
    optional(r.ruleName, (x) => str(x, 128)) &&
    optional(r.source, (x) => x === 'kernel' || x === 'intent')
  );
}

const pair = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && int((v as Record<string, unknown>).forward) && int((v as Record<string, unknown>).reply);

export function checkFlowRecord(v: unknown): v is FlowRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    int(r.seq) &&
    str(r.time, 40) &&
    !Number.isNaN(Date.parse(r.time)) &&
    str(r.host, 63) &&
    str(r.tenant, 63) &&
    TYPES.has(r.type as string) &&
    VERDICTS.has(r.verdict as string) &&
    str(r.protocol, 16) &&
    peer(r.from) &&
    peer(r.to) &&
    optional(r.rule, rule) &&
    optional(r.egress, rule) &&
    optional(r.ingress, rule) &&
    optional(r.service, service) &&
    optional(r.start, (x) => str(x, 40)) &&
    optional(r.end, (x) => str(x, 40)) &&
    optional(r.packets, pair) &&
    optional(r.bytes, pair) &&
    optional(r.interfaces, interfaces)
  );
}

const service = (v: unknown): boolean => {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Record<string, unknown>;
  return str(x.address, 45) && optional(x.name, (n) => str(n, 63)) && optional(x.port, (n) => int(n) && (n as number) <= 65535);
};

const interfaces = (v: unknown): boolean => {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Record<string, unknown>;
  return optional(x.in, (n) => str(n, 15)) && optional(x.out, (n) => str(n, 15));
};

/** A copy of the fields `keys` names that are set (nothing else of what was sent is kept). */
function pick<T>(v: unknown, keys: readonly string[]): T {
  const from = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out as T;
}

const RULE_FIELDS = ['direction', 'tier', 'policy', 'rule', 'ruleName', 'action', 'source'] as const;
const PAIR_FIELDS = ['forward', 'reply'] as const;

function peerFrom(v: unknown): FlowPeer {
  const p = pick<FlowPeer>(v, ['address', 'port', 'endpoint', 'host']);
  const labels = (v as FlowPeer).labels;
  if (labels !== undefined) p.labels = { ...labels };
  return p;
}

/**
 * The record an agent sent, checked (checkFlowRecord) and rebuilt from the fields a record has: a
 * field it made up, at any depth, is not stored and never reaches another reader. Undefined when
 * the record is not one.
 */
export function flowRecordFrom(v: unknown): FlowRecord | undefined {
  if (!checkFlowRecord(v)) return undefined;
  const r = v as unknown as Record<string, unknown>;
  const record = pick<FlowRecord>(r, ['seq', 'time', 'host', 'tenant', 'type', 'verdict', 'protocol', 'start', 'end']);
  record.from = peerFrom(r.from);
  record.to = peerFrom(r.to);
  for (const side of ['rule', 'egress', 'ingress'] as const) if (r[side] !== undefined) record[side] = pick<FlowRule>(r[side], RULE_FIELDS);
  if (r.service !== undefined) record.service = pick(r.service, ['name', 'address', 'port']);
  if (r.packets !== undefined) record.packets = pick(r.packets, PAIR_FIELDS);
  if (r.bytes !== undefined) record.bytes = pick(r.bytes, PAIR_FIELDS);
  if (r.interfaces !== undefined) record.interfaces = pick(r.interfaces, ['in', 'out']);
  return record;
}

/** Logging rules' counts per report at most (the agent's MAX_RULE_COUNTS). */
export const MAX_REPORT_RULES = 10000;

/** One logging rule's counts (record-types.ts DenyRuleCount), as an agent reports them. */
export function checkDenyRuleCount(v: unknown): v is DenyRuleCount {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    str(r.tenant, 63) &&
    /^[a-z0-9][a-z0-9-]*$/.test(r.tenant) &&
    str(r.rule, 120) &&
    parseLogPrefix(r.rule) !== undefined &&
    int(r.seen) &&
    int(r.logged) &&
    int(r.suppressed) &&
    int(r.recorded) &&
    int(r.throttled) &&
    int(r.ignored)
  );
}
