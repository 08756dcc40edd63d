/**
 * The kernel's side of the deny-record accounting: each logging rule carries two counters, one before
 * its rate limit (every packet it saw) and one after (every packet it handed to nflog), so what the
 * limit held back is their difference, exactly (render.ts renders `counter limit ... counter log ...`).
 * A deny rule's logging twin is commented `log PREFIX`; a policy `log` rule keeps its hit comment
 * `tier:policy:direction:index` (its prefix is `log ` and that comment).
 */
import type { RuleCounter } from '../policy/readback';
import { parseLogPrefix } from '../policy/deny-log';

export interface DenyLogKernelCount {
  seen: number;
  logged: number;
}

const HIT_COMMENT = /^(admin|tenant|baseline):[a-z0-9-]+:(ingress|egress):[0-9]+$/;

/** Per nflog prefix, summed over the nft rules that carry it (one per address family or peer set). */
export function denyLogCounts(counters: readonly RuleCounter[]): Map<string, DenyLogKernelCount> {
  const byComment = new Map<string, { seen: number; logged: number; limited: boolean }>();
  for (const c of counters) {
    const twin = c.comment.startsWith('log ');
    if (!twin && !HIT_COMMENT.test(c.comment)) continue;
    const entry = byComment.get(c.comment) ?? { seen: 0, logged: 0, limited: false };
    if ((c.index ?? 0) === 0) entry.seen += c.packets;
    else if (c.index === 1) {
      entry.logged += c.packets;
      entry.limited = true;
    }
    byComment.set(c.comment, entry);
  }
  const out = new Map<string, DenyLogKernelCount>();
  for (const [comment, { seen, logged, limited }] of byComment) {
    // A hit comment with a second counter is a `log` rule; without one, an ordinary rule.
    const prefix = comment.startsWith('log ') ? comment.slice(4) : limited ? `log ${comment}` : undefined;
    if (prefix === undefined || !parseLogPrefix(prefix)) continue;
    const entry = out.get(prefix) ?? { seen: 0, logged: 0 };
    entry.seen += seen;
    entry.logged += logged;
    out.set(prefix, entry);
  }
  return out;
}
