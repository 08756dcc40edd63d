/**
 * Deny records and the policy `log` action: what the kernel hands the agent when a packet is refused or
 * logged, and how the compiler asks for it.
 *
 * The kernel log (`log prefix ...` without a group) is not used: it writes to the kernel ring buffer only
 * from the root namespace (`net.netfilter.nf_log_all_netns=0` by default), the router namespaces' lines
 * would vanish, and turning that sysctl on would let every namespace flood the host's syslog. Instead
 * each rule that drops (a deny rule, tenant isolation, a default deny) is preceded by a rule with the
 * same matches that sends the packet's headers to **nflog group NFLOG_GROUP** of its own namespace
 * (groups are per network namespace), where the agent's reader (native/tenet-flowd.c) listens.
 *
 * Rate limit: the logging rule carries a `limit` of DENY_LOG_LIMIT. A limit is a match in nft (over the
 * rate, the rule stops there), so it cannot sit in the dropping rule itself — that rule would then stop
 * dropping. Hence the separate rule: over the rate the packet is not logged, and the next rule still
 * drops it. Each nft rule has its own limit, so a flood against one rule never silences another.
 *
 * The prefix names what decided (the same `tier:policy:direction:index` as the rule comments the hit
 * counters use), so a record carries the deciding rule as the kernel saw it, not as the agent guesses.
 */
import type { Direction, NftRule, TierName } from './program';

/** nflog group of every router namespace (per namespace; 0 is avoided, some tools default to it). */
export const NFLOG_GROUP = 100;
/** Records per second and burst, per logging rule. */
export const DENY_LOG_LIMIT = { perSecond: 20, burst: 20 } as const;

export type LogVerdict = 'deny' | 'isolate' | 'default-deny' | 'log';

/** What a record's prefix says decided. */
export interface LogDecision {
  verdict: LogVerdict;
  direction: Direction;
  /** Policy rules only (deny, log). */
  tier?: TierName;
  policy?: string;
  rule?: number;
}

/** The nflog prefix of a policy rule (`deny` or `log`) given its counter comment `tier:policy:direction:index`. */
export function ruleLogPrefix(verdict: 'deny' | 'log', comment: string): string {
  return `${verdict} ${comment}`;
}

export function isolationLogPrefix(direction: Direction): string {
  return `isolate ${direction}`;
}

export function defaultDenyLogPrefix(direction: Direction): string {
  return `default-deny ${direction}`;
}

const RULE_PREFIX = /^(deny|log) (admin|tenant|baseline):([a-z0-9][a-z0-9-]{0,62}):(ingress|egress):([0-9]{1,4})$/;
const OTHER_PREFIX = /^(isolate|default-deny) (ingress|egress)$/;

/** The decision a prefix names; undefined for a prefix Tenet did not write. */
export function parseLogPrefix(prefix: string): LogDecision | undefined {
  const text = prefix.trim();
  const rule = RULE_PREFIX.exec(text);
  if (rule) {
    return {
      verdict: rule[1] as 'deny' | 'log',
      tier: rule[2] as TierName,
      policy: rule[3],
      direction: rule[4] as Direction,
      rule: Number(rule[5]),
    };
  }
  const other = OTHER_PREFIX.exec(text);
  if (other) return { verdict: other[1] as LogVerdict, direction: other[2] as Direction };
  return undefined;
}

/** The logging rule that goes right before a dropping rule: same matches, rate-limited nflog, no verdict. */
export function denyLogRule(drop: NftRule, prefix: string): NftRule {
  return {
    matches: drop.matches,
    effects: [{ kind: 'log', prefix, group: NFLOG_GROUP, limit: DENY_LOG_LIMIT }],
    // Not a counter comment (hostPolicyHits reads only `tier:policy:direction:index`): hits stay on the dropping rule.
    comment: `log ${prefix}`,
  };
}
