/**
 * The guard table: what keeps a namespace failing closed while its `inet tenet` table is deleted.
 *
 * A hand `nft flush table` leaves the base chains, their hooks and their policy drop (fail-closed.ts),
 * but `nft delete table inet tenet` takes the hooks away, and until the agent makes the table again
 * (it watches, src/agent/nft/monitor.ts) nothing would judge a forwarded packet at all. So a second,
 * tiny table, `inet tenet_guard`, has one base chain at the forward hook, after the main table's base
 * chains (base chains of one hook run in priority order; an accept in one does not stop the next, a
 * drop is final), with policy drop and one rule: accept a packet that carries the mark bit of every
 * forward base chain of the main table. Each of those chains sets its bit in its first rule, so while
 * the main table is whole every packet it accepts passes the guard (which clears the bits again, so
 * nothing after it sees them); with the main table, or one of its forward base chains, gone, nothing
 * carries all the bits and the guard drops everything forwarded until the repair. Marks cannot come
 * in from outside: the kernel clears skb->mark when a packet crosses into another namespace.
 *
 * The guard exists only where the main table has forward hooks: a namespace that runs unhooked
 * (unhooked.ts) has none, and no guard either (a hook would cost what leaving it unhooked saves).
 */
import type { NftProgram } from './program';

export const GUARD_TABLE = 'tenet_guard';
export const GUARD_CHAIN = 'forward';
/** After the main table's forward base chains (priority 0 and 1). */
export const GUARD_PRIORITY = 10;
/** One bit per forward base chain of the main table, clear of PASS_MARK (0x01000000) and BASELINE_PASS_MARK (0x02000000). */
export const GUARD_MARK_BITS: readonly number[] = [0x04000000, 0x08000000];
export const GUARD_MASK = GUARD_MARK_BITS.reduce((a, b) => a | b, 0);
export const GUARD_COMMENT = 'guard';

/** The guard bits the kernel form of `program` sets (each forward base chain's first rule sets one); 0: no guard wanted. */
export function guardBits(program: NftProgram): number {
  let bits = 0;
  for (const chain of program.chains) {
    if (chain.base?.hook !== 'forward') continue;
    for (const effect of chain.rules[0]?.effects ?? []) if (effect.kind === 'setMarkBits') bits |= effect.bits & GUARD_MASK;
  }
  return bits;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/**
 * The nft commands that make the guard hold exactly what `bits` asks (none: no guard), whatever it
 * holds now: safe to send when the agent does not know what the kernel has. `absent`: the kernel is
 * known to hold no guard; otherwise a guard there is removed first (a hand edit may have changed its
 * priority, which `add chain` cannot change, and the whole transaction would fail).
 */
export function renderGuard(bits: number, absent = false, family = 'inet'): string[] {
  const table = `${family} ${GUARD_TABLE}`;
  // `add` then `delete`: one transaction that removes the table whether or not it exists.
  const remove = [`add table ${table}`, `delete table ${table}`];
  if (bits === 0) return remove;
  return [
    ...(absent ? [] : remove),
    `add table ${table}`,
    `add chain ${table} ${GUARD_CHAIN} { type filter hook forward priority ${GUARD_PRIORITY}; policy drop; }`,
    `flush chain ${table} ${GUARD_CHAIN}`,
    `add rule ${table} ${GUARD_CHAIN} meta mark & ${hex(bits)} == ${hex(bits)} meta mark set meta mark & ${hex(~bits)} accept comment "${GUARD_COMMENT}"`,
  ];
}
