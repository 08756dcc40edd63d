/**
 * Which rule allowed a connection, as the kernel saw it: every accepting policy rule (and a tenant's
 * default allow) writes an id of itself into the connection's **ct mark** — the low 16 bits for the
 * egress side, the high 16 bits for the ingress side — so the conntrack events the flow reader gets
 * (docs/observability.md) carry both deciding rules.
 *
 * The ct mark is the connection's, not the packet's `meta mark`: the pass bits (0x01000000,
 * 0x02000000) and the guard bits (0x04000000, 0x08000000, guard.ts) live in the packet mark and are
 * not touched. Each namespace has its own conntrack table, so each host's mark names its own side.
 * Service NAT also writes the ct mark: the Maglev slot it picked (1..MAX_SLOT, at most 251: src/core/services/compile.ts) on a
 * connection's first packet, before the policy runs. A connection no accepting rule marked (default
 * allow, unhooked) keeps that slot in the low half, so ids start above every slot number: a low half
 * of 1..0xff is never read as a rule.
 *
 * The id is a hash of the rule's counter comment (`tier:policy:direction:index`, or `default allow
 * DIRECTION`), 0x100..0xffff, so recompiling unchanged intent gives the same rules (and fingerprints). Two
 * rules of one namespace may share an id; the reader then cannot tell them apart from the mark and
 * falls back to explain (allowingRule returns undefined).
 */
import { stableHash } from './names';
import type { Direction, NftProgram, RuleOrigin } from './program';

export const CT_MARK_SHIFT: Record<Direction, number> = { egress: 0, ingress: 16 };

/** Ids begin above every service slot number (the slot table has fewer than 256 slots). */
const FIRST_RULE_ID = 0x100;

export function ruleMarkId(comment: string): number {
  return (parseInt(stableHash(comment).slice(0, 8), 16) % (0x10000 - FIRST_RULE_ID)) + FIRST_RULE_ID;
}

/** The id of `direction` in a connection's ct mark (0: none written). */
export function markIdOf(mark: number, direction: Direction): number {
  return (mark >>> CT_MARK_SHIFT[direction]) & 0xffff;
}

const byProgram = new WeakMap<NftProgram, Map<string, RuleOrigin[]>>();

/** The rule whose id `direction` of `mark` holds, among the accepting rules of `program`; undefined when none or ambiguous. */
export function allowingRule(program: NftProgram, mark: number, direction: Direction): RuleOrigin | undefined {
  const id = markIdOf(mark, direction);
  if (id === 0) return undefined;
  let index = byProgram.get(program);
  if (!index) {
    index = new Map();
    const seen = new Set<string>();
    for (const chain of program.chains) {
      for (const rule of chain.rules) {
        for (const effect of rule.effects ?? []) {
          if (effect.kind !== 'ctMarkRule' || !rule.origin || !rule.comment) continue;
          const key = `${effect.direction}:${effect.id}`;
          // One origin per comment (a rule compiled for both families is one rule).
          if (seen.has(`${key}:${rule.comment}`)) continue;
          seen.add(`${key}:${rule.comment}`);
          index.set(key, [...(index.get(key) ?? []), rule.origin]);
        }
      }
    }
    byProgram.set(program, index);
  }
  const origins = index.get(`${direction}:${id}`);
  return origins?.length === 1 ? origins[0] : undefined;
}
