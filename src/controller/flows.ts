/**
 * Flow and deny records at the controller: agents push what they recorded (src/agent/flows/recorder.ts)
 * and the controller keeps the newest in one bounded ring in memory, numbered in arrival order; `tenet
 * flows` reads them, filtered, and watches by asking for what came after the last number it saw.
 * Not in the store: records are many, short-lived and per host, and a controller restart loses them
 * (agents keep their own ring meanwhile). Counters of what was let go (at the agents, in the kernel,
 * here) are answered with every read, so a reader knows when it did not see everything.
 */
import type { FastifyInstance } from 'fastify';
import { FlowRing, matchesFilter, type FlowFilter } from '../core/flows/ring';
import type { FlowRecord } from '../core/flows/records';
import type { DenyRuleCount } from '../core/flows/record-types';
import { checkDenyRuleCount, flowRecordFrom, MAX_REPORT_RECORDS, MAX_REPORT_RULES } from '../core/flows/validate';
import { isName } from '../core/model/names';
import { access } from './auth/access';
import { invalid } from './errors';
import { singleQuery } from './routes/objects';

export const CONTROLLER_RING = 50000;
/** A report's body at most: MAX_REPORT_RECORDS records of a few hundred bytes, with room for labels (an agent halves a push refused as too large). */
export const FLOW_REPORT_BODY_LIMIT = 16 * 1024 * 1024;
/** Records per answer at most (the newest of those that match). */
export const MAX_ANSWER = 5000;
/** Logging rules' counts per answer at most (those that held back the most first). */
export const MAX_ANSWER_RULES = 1000;

/** A logging rule's counts as answered: which host counted them. */
export type HostDenyRuleCount = DenyRuleCount & { host: string };

interface HostCounters {
  evicted: number;
  lostLog: number;
  lostConntrack: number;
}

export class FlowStore {
  readonly ring: FlowRing;
  readonly hosts = new Map<string, HostCounters>();
  /** Each host's logging rules' counts, as it last reported them (its totals: the newest report wins). */
  readonly rules = new Map<string, DenyRuleCount[]>();

  constructor(capacity = CONTROLLER_RING) {
    this.ring = new FlowRing(capacity);
  }

  report(host: string, body: unknown): { accepted: number } {
    const b = (body ?? {}) as Record<string, unknown>;
    const records = b.records;
    if (!Array.isArray(records) || records.length > MAX_REPORT_RECORDS)
      throw invalid(`records must be a list of at most ${MAX_REPORT_RECORDS}`, ['records: invalid']);
    const clean = records.map(flowRecordFrom);
    const bad = clean.findIndex((r) => r === undefined);
    if (bad >= 0) throw invalid(`records[${bad}] is not a flow record`, [`records[${bad}]: invalid`]);
    const rules = b.rules;
    if (rules !== undefined) {
      if (!Array.isArray(rules) || rules.length > MAX_REPORT_RULES)
        throw invalid(`rules must be a list of at most ${MAX_REPORT_RULES}`, ['rules: invalid']);
      const badRule = rules.findIndex((r) => !checkDenyRuleCount(r));
      if (badRule >= 0) throw invalid(`rules[${badRule}] is not a logging rule's counts`, [`rules[${badRule}]: invalid`]);
      this.rules.set(
        host,
        (rules as DenyRuleCount[]).map((r) => ({
          tenant: r.tenant,
          rule: r.rule,
          seen: r.seen,
          logged: r.logged,
          suppressed: r.suppressed,
          recorded: r.recorded,
          throttled: r.throttled,
          ignored: r.ignored,
        })),
      );
    }
    const counters = this.hosts.get(host) ?? { evicted: 0, lostLog: 0, lostConntrack: 0 };
    if (typeof b.evicted === 'number' && Number.isSafeInteger(b.evicted) && b.evicted > 0) counters.evicted += b.evicted;
    const c = b.counters as Record<string, unknown> | undefined;
    // The agent's own totals since it started: the newest answer wins.
    if (c && Number.isSafeInteger(c.lostLog)) counters.lostLog = Number(c.lostLog);
    if (c && Number.isSafeInteger(c.lostConntrack)) counters.lostConntrack = Number(c.lostConntrack);
    this.hosts.set(host, counters);
    // Each record is the controller's own copy (flowRecordFrom): numbered in place (the agent's seq
    // replaced), its host forced to the reporter.
    for (const record of clean as FlowRecord[]) {
      record.host = host;
      this.ring.push(record);
    }
    return { accepted: records.length };
  }

  query(filter: FlowFilter, limit = MAX_ANSWER): { items: FlowRecord[]; seq: number; truncated: boolean } {
    const matching = this.ring.since(filter.after ?? 0).filter((r) => matchesFilter(r, filter));
    const items = matching.slice(-limit);
    return { items, seq: this.ring.seq, truncated: matching.length > items.length };
  }

  /** The logging rules' counts of every host (of one tenant when given), those that held back the most first. */
  ruleCounts(tenant?: string): { rules: HostDenyRuleCount[]; truncated: boolean } {
    const all: HostDenyRuleCount[] = [];
    for (const [host, rules] of this.rules)
      for (const r of rules) if (tenant === undefined || r.tenant === tenant) all.push({ host, ...r });
    all.sort((a, b) => b.suppressed + b.throttled - (a.suppressed + a.throttled) || a.host.localeCompare(b.host));
    return { rules: all.slice(0, MAX_ANSWER_RULES), truncated: all.length > MAX_ANSWER_RULES };
  }

  /** Records this controller let go, and what the agents said they let go or never got. */
  dropped(): { controllerEvicted: number; hosts: Record<string, HostCounters> } {
    return { controllerEvicted: this.ring.evicted, hosts: Object.fromEntries(this.hosts) };
  }
}

/** `5m`, `30s`, `2h`, or an ISO time. */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const relative = /^([0-9]{1,6})(s|m|h|d)$/.exec(text);
  if (relative) return now - Number(relative[1]) * { s: 1000, m: 60000, h: 3600000, d: 86400000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
  const at = Date.parse(text);
  return Number.isNaN(at) || text.length > 40 ? undefined : at;
}

const FLOW_QUERY = ['tenant', 'from', 'to', 'verdict', 'since', 'after', 'limit'] as const;

export function registerFlowRoutes(app: FastifyInstance, flows: FlowStore): void {
  app.post(
    '/api/v1/hosts/:name/flows',
    { bodyLimit: FLOW_REPORT_BODY_LIMIT, ...access({ type: 'flows', verb: 'report' }) },
    async (request) => {
      const host = (request.params as { name: string }).name;
      if (!isName(host)) throw invalid('host name is invalid', ['name: invalid']);
      return flows.report(host, request.body);
    },
  );
  app.get('/api/v1/flows', access({ type: 'flows', verb: 'read' }, FLOW_QUERY), async (request) => {
    const q = request.query as Record<string, unknown>;
    const filter: FlowFilter = {};
    const problems: string[] = [];
    const tenant = singleQuery(q, 'tenant');
    if (tenant !== undefined) {
      if (isName(tenant)) filter.tenant = tenant;
      else problems.push('tenant: invalid name');
    }
    // A tenant-admin or viewer sees its own tenant only, whatever it asked (authorizeFlows refused another).
    if (request.flowTenant !== undefined) filter.tenant = request.flowTenant;
    for (const key of ['from', 'to'] as const) {
      const value = singleQuery(q, key);
      if (value === undefined) continue;
      if (value.length <= 63 && /^[0-9a-zA-Z.:-]+$/.test(value)) filter[key] = value;
      else problems.push(`${key}: must be an endpoint name or an address`);
    }
    const verdict = singleQuery(q, 'verdict');
    if (verdict !== undefined) {
      const v = { allow: 'allowed', allowed: 'allowed', deny: 'denied', denied: 'denied', log: 'logged', logged: 'logged' }[verdict];
      if (v) filter.verdict = v as FlowFilter['verdict'];
      else problems.push('verdict: one of allow, deny, log');
    }
    const since = singleQuery(q, 'since');
    if (since !== undefined) {
      const at = parseSince(since);
      if (at === undefined) problems.push('since: a duration (30s, 5m, 2h, 1d) or an ISO time');
      else filter.sinceMs = at;
    }
    const after = singleQuery(q, 'after');
    if (after !== undefined) {
      if (/^[0-9]{1,15}$/.test(after)) filter.after = Number(after);
      else problems.push('after: a record number');
    }
    const limitText = singleQuery(q, 'limit');
    let limit = MAX_ANSWER;
    if (limitText !== undefined) {
      if (/^[0-9]{1,5}$/.test(limitText) && Number(limitText) >= 1 && Number(limitText) <= MAX_ANSWER) limit = Number(limitText);
      else problems.push(`limit: 1 to ${MAX_ANSWER}`);
    }
    if (problems.length > 0) throw invalid('invalid flow query', problems);
    const answer = flows.query(filter, limit);
    // What the rate limits held back, per logging rule: a tenant reader gets its own tenant's rules only.
    const limited = flows.ruleCounts(filter.tenant);
    // Another tenant's counters are not the caller's business: the per-host counters go to admins only.
    return {
      ...answer,
      rateLimited: limited.rules,
      ...(limited.truncated ? { rateLimitedTruncated: true } : {}),
      ...(request.flowTenant === undefined ? { dropped: flows.dropped() } : {}),
    };
  });
}
