/**
 * Fail closed on tampering: the kernel form of a program whose base chains drop what no rule accepts.
 * The compiled program lets a packet that no rule decides fall off its base chain into the chain's
 * policy, `accept`. Here that accept becomes an explicit last rule and the policy becomes `drop`: the
 * same verdicts while the table is intact, but a hand `nft flush table` (rules gone, chains and their
 * hooks and policies stay) then drops every packet through the hook, until the agent, which watches
 * its tables (src/agent/nft/monitor.ts), writes the rules back, instead of letting everything through.
 * Explain and the compiler keep the plain form: this is what the kernel holds, not what it decides.
 *
 * A hand `nft delete table` takes the hooks themselves away: then the guard table (guard.ts) drops
 * what is forwarded. Each forward base chain here sets its guard bit as its first rule, and the guard
 * accepts only packets that carry every bit. A chain whose first rule accepts (the stateful rule) sets
 * its bit in that rule too, so an established connection's packet costs no extra rule per chain.
 */
import { GUARD_MARK_BITS } from './guard';
import type { Effect, NftChain, NftProgram, NftRule } from './program';

/** The last rule of a fail-closed base chain: what used to be its policy. */
export const FALLTHROUGH_COMMENT = 'no rule decided';

const chains = new WeakMap<NftChain, Map<number, NftChain>>();
const programs = new WeakMap<NftProgram, NftProgram>();

export const GUARD_RULE_COMMENT = 'guard mark';

/**
 * A base chain with policy accept as one with policy drop and a last `accept` rule (kept, so identity
 * and fingerprint stay); `guardBit`: its first rule sets that mark bit for the guard table.
 */
export function failClosedChain(chain: NftChain, guardBit = 0): NftChain {
  if (!chain.base || chain.base.policy !== 'accept') return chain;
  let byBit = chains.get(chain);
  if (!byBit) chains.set(chain, (byBit = new Map()));
  let closed = byBit.get(guardBit);
  if (!closed) {
    const last: NftRule = { matches: [], verdict: { kind: 'accept' }, comment: FALLTHROUGH_COMMENT };
    const setBit: Effect = { kind: 'setMarkBits', bits: guardBit };
    const mark: NftRule = { matches: [], effects: [setBit], comment: GUARD_RULE_COMMENT };
    const [head, ...rest] = chain.rules;
    // Most packets are of established connections and end at the first rule (`stateful` accept): that rule
    // sets the bit itself, so they pay one rule here instead of two; every other packet meets the mark rule next.
    const rules =
      guardBit === 0
        ? chain.rules
        : head?.verdict?.kind === 'accept'
          ? [{ ...head, effects: [setBit, ...(head.effects ?? [])] }, mark, ...rest]
          : [mark, ...chain.rules];
    closed = { ...chain, base: { ...chain.base, policy: 'drop' }, rules: [...rules, last] };
    byBit.set(guardBit, closed);
  }
  return closed;
}

/** The program with every base chain fail-closed. */
export function failClosed(program: NftProgram): NftProgram {
  if (!program.chains.some((c) => c.base?.policy === 'accept')) return program;
  let closed = programs.get(program);
  if (!closed) {
    let forward = 0;
    closed = {
      ...program,
      chains: program.chains.map((chain) => {
        const guarded = chain.base?.hook === 'forward' && chain.base.policy === 'accept';
        if (guarded && forward >= GUARD_MARK_BITS.length) throw new Error('more forward base chains than guard mark bits');
        return failClosedChain(chain, guarded ? GUARD_MARK_BITS[forward++] : 0);
      }),
    };
    programs.set(program, closed);
  }
  return closed;
}
