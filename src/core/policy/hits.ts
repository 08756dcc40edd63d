/**
 * Per-rule hit counters on their way from the kernel to the API. An agent turns the counters of
 * each tenant router namespace (keyed by the nft rule comment `tier:policy:direction:index`) into
 * its Host's `status.policyHits`; the controller sums the reports of every host into a policy's
 * `status.ruleHits`. Pure, so both halves are unit-tested without kernel or store.
 */
import { refKey } from '../model/object';
import type { KindName } from '../model/registry';
import { MAX_REPORTED_RULE_HITS, type PolicyHitsReport, type RuleHitCount } from '../model/kinds/host';
import type { PolicySpec } from '../model/kinds/policy';

export type Counters = { packets: number; bytes: number };

const COMMENT = /^(admin|tenant|baseline):([a-z0-9-]+):(ingress|egress):([0-9]{1,3})$/;

/**
 * One host's report from the counters of each tenant's namespace. A tenant-tier rule belongs to the
 * Policy of that namespace's tenant; admin and baseline rules belong to a GlobalPolicy, which is
 * compiled into every tenant's namespace, so its counters are summed over the tenants. Rules that
 * never matched are left out (absent means 0), and at most `limit` rules are reported.
 */
export function hostPolicyHits(
  perTenant: ReadonlyArray<{ tenant: string; hits: ReadonlyMap<string, Counters> }>,
  limit = MAX_REPORTED_RULE_HITS,
): { policyHits: PolicyHitsReport[]; truncated: boolean } {
  const byPolicy = new Map<string, { report: PolicyHitsReport; rules: Map<string, RuleHitCount> }>();
  for (const { tenant, hits } of perTenant) {
    for (const [comment, counters] of hits) {
      const match = COMMENT.exec(comment);
      if (!match || (counters.packets === 0 && counters.bytes === 0)) continue;
      const [, tier, name, direction, indexText] = match;
      const report: PolicyHitsReport =
        tier === 'tenant' ? { kind: 'Policy', tenant, name, rules: [] } : { kind: 'GlobalPolicy', name, rules: [] };
      const id = policyId(report.kind, report.kind === 'Policy' ? tenant : '', name);
      let entry = byPolicy.get(id);
      if (!entry) byPolicy.set(id, (entry = { report, rules: new Map() }));
      const ruleId = `${direction}:${indexText}`;
      const rule = entry.rules.get(ruleId) ?? {
        direction: direction as RuleHitCount['direction'],
        index: Number(indexText),
        packets: 0,
        bytes: 0,
      };
      rule.packets += counters.packets;
      rule.bytes += counters.bytes;
      entry.rules.set(ruleId, rule);
    }
  }
  const policyHits: PolicyHitsReport[] = [];
  let left = limit;
  let truncated = false;
  for (const id of [...byPolicy.keys()].sort()) {
    const { report, rules } = byPolicy.get(id)!;
    const sorted = [...rules.values()].sort(compareRules);
    if (sorted.length > left) truncated = true;
    const kept = sorted.slice(0, left);
    left -= kept.length;
    if (kept.length > 0) policyHits.push({ ...report, rules: kept });
  }
  return { policyHits, truncated };
}

export function policyId(kind: KindName, tenant: string, name: string): string {
  return refKey({ kind, tenant, name });
}

/** The hosts' reports summed per policy (policyId) and rule (`direction:index`). */
export function sumHostReports(reports: ReadonlyArray<ReadonlyArray<PolicyHitsReport> | undefined>): Map<string, Map<string, Counters>> {
  const out = new Map<string, Map<string, Counters>>();
  for (const report of reports) {
    for (const entry of report ?? []) {
      const id = policyId(entry.kind, entry.kind === 'Policy' ? entry.tenant : '', entry.name);
      let rules = out.get(id);
      if (!rules) out.set(id, (rules = new Map()));
      for (const rule of entry.rules) {
        const key = `${rule.direction}:${rule.index}`;
        const sum = rules.get(key) ?? { packets: 0, bytes: 0 };
        sum.packets += rule.packets;
        sum.bytes += rule.bytes;
        rules.set(key, sum);
      }
    }
  }
  return out;
}

/**
 * A policy's `status.ruleHits`: one entry per rule its spec has now (ingress first, in order), with
 * the summed counters or 0. Counters reported for rules the spec no longer has are dropped.
 */
export function policyRuleHits(
  spec: Pick<PolicySpec, 'ingress' | 'egress'>,
  summed: ReadonlyMap<string, Counters> | undefined,
): RuleHitCount[] {
  const out: RuleHitCount[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    (spec[direction] ?? []).forEach((_, index) => {
      const sum = summed?.get(`${direction}:${index}`);
      out.push({ direction, index, packets: sum?.packets ?? 0, bytes: sum?.bytes ?? 0 });
    });
  }
  return out;
}

function compareRules(a: RuleHitCount, b: RuleHitCount): number {
  if (a.direction !== b.direction) return a.direction === 'ingress' ? -1 : 1;
  return a.index - b.index;
}
