/**
 * A namespace whose every local endpoint accepts everything in both directions (a default-allow
 * tenant that no policy restricts on this host) gets its table without the two forward hooks.
 *
 * Why: the hooks' `ct state` rules make the kernel track every connection through the namespace, and
 * connection tracking alone costs 8-10 % of the TCP throughput across hosts (measured on this kernel,
 * bench/dataplane.ts) while deciding nothing here. The sets, maps and profile chains stay, so an
 * endpoint joining or leaving is still an element operation, and the first restriction only adds
 * the hooks back.
 *
 * The price, documented in docs/policy.md: a connection that began while the namespace had no hooks
 * was never tracked, so when the first restriction arrives, its next packet is judged like a new
 * connection's instead of being let through as established.
 */
import type { NftChain, NftProgram } from './program';

const acceptsAll = new WeakMap<NftChain, boolean>();

function chainAcceptsAll(chain: NftChain): boolean {
  let verdict = acceptsAll.get(chain);
  if (verdict === undefined) {
    const [rule] = chain.rules;
    // The allowing rule's id in the ct mark (flow-mark.ts) only records who allowed: it restricts nothing.
    const effects = (rule?.effects ?? []).filter((e) => e.kind !== 'ctMarkRule');
    verdict = chain.rules.length === 1 && rule.matches.length === 0 && effects.length === 0 && rule.verdict?.kind === 'accept';
    acceptsAll.set(chain, verdict);
  }
  return verdict;
}

/** True when no packet through the namespace can be refused or marked by this program. */
export function restrictsNothing(program: NftProgram): boolean {
  const chains = new Map(program.chains.map((c) => [c.name, c]));
  // Stops at the first restricting target: a tenant with policies answers at its first entry, not after all of them.
  const checked = new Set<string>();
  for (const map of program.maps) {
    const elements = map.elements;
    for (const key in elements) {
      const target = elements[key];
      if (checked.has(target)) continue;
      const chain = chains.get(target);
      if (!chain || !chainAcceptsAll(chain)) return false;
      checked.add(target);
    }
  }
  return true;
}

const unmarked = new WeakMap<NftChain, NftChain>();

/**
 * The chain without the allowing rules' ct mark writes (flow-mark.ts). Any ct expression in a table, in
 * a chain no hook reaches included, makes the kernel register connection tracking for the whole
 * namespace (nft_ct's init takes a conntrack reference), which is what running unhooked avoids. Nothing
 * is tracked there, so there is no connection to mark either; the first restriction writes them back.
 */
function withoutCtMarks(chain: NftChain): NftChain {
  if (!chain.rules.some((rule) => rule.effects?.some((e) => e.kind === 'ctMarkRule'))) return chain;
  let stripped = unmarked.get(chain);
  if (!stripped) {
    stripped = {
      ...chain,
      rules: chain.rules.map((rule) => {
        const effects = rule.effects?.filter((e) => e.kind !== 'ctMarkRule');
        if (effects === undefined || effects.length === rule.effects!.length) return rule;
        const { effects: _dropped, ...rest } = rule;
        void _dropped;
        return effects.length > 0 ? { ...rest, effects } : rest;
      }),
    };
    unmarked.set(chain, stripped);
  }
  return stripped;
}

/** Programs are replaced, never changed, once handed out: the answer for one is kept (the agent asks on every attach). */
const kernelPrograms = new WeakMap<NftProgram, NftProgram>();

/** What the kernel should hold for `program`: the program itself, or without its hooks when it restricts nothing. */
export function kernelProgram(program: NftProgram): NftProgram {
  let kernel = kernelPrograms.get(program);
  if (!kernel) {
    kernel = restrictsNothing(program)
      ? { ...program, chains: program.chains.filter((chain) => !chain.base).map(withoutCtMarks) }
      : program;
    kernelPrograms.set(program, kernel);
  }
  return kernel;
}
