/**
 * Fail closed on tampering: the kernel form of a program whose base chains drop what no rule accepts.
 * The compiled program lets a packet that no rule decides fall off its base chain into the chain's
 * policy, `accept`. Here that accept becomes an explicit last rule and the policy becomes `drop`: the
 * same verdicts while the table is intact, but a hand `nft flush table` (rules gone, chains and their
 * hooks and policies stay) then drops every packet through the hook, until the agent, which watches
 * its tables (src/agent/nft/monitor.ts), writes the rules back, instead of letting everything through.
 * Explain and the compiler keep the plain form: this is what the kernel holds, not what it decides.
 */
import type { NftChain, NftProgram, NftRule } from './program';

/** The last rule of a fail-closed base chain: what used to be its policy. */
export const FALLTHROUGH_COMMENT = 'no rule decided';

const chains = new WeakMap<NftChain, NftChain>();
const programs = new WeakMap<NftProgram, NftProgram>();

/** A base chain with policy accept as one with policy drop and a last `accept` rule (kept, so identity and fingerprint stay). */
export function failClosedChain(chain: NftChain): NftChain {
  if (!chain.base || chain.base.policy !== 'accept') return chain;
  let closed = chains.get(chain);
  if (!closed) {
    const last: NftRule = { matches: [], verdict: { kind: 'accept' }, comment: FALLTHROUGH_COMMENT };
    closed = { ...chain, base: { ...chain.base, policy: 'drop' }, rules: [...chain.rules, last] };
    chains.set(chain, closed);
  }
  return closed;
}

/** The program with every base chain fail-closed. */
export function failClosed(program: NftProgram): NftProgram {
  if (!program.chains.some((c) => c.base?.policy === 'accept')) return program;
  let closed = programs.get(program);
  if (!closed) {
    closed = { ...program, chains: program.chains.map(failClosedChain) };
    programs.set(program, closed);
  }
  return closed;
}
