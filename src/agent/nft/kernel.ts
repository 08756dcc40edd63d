/**
 * The kernel driver of NftTable: typed requests to the agent's one libnftables worker
 * (src/kernel/nft-worker.ts). A process per call cost more than most transactions; the worker checks
 * the namespace name against NETNS_NAME_REGEX.
 */
import { parseCounters, parseSetCounters, parseTableJson } from '../../core/policy/readback';
import { TABLE_NAME } from '../../core/policy/program';
import { GUARD_CHAIN, GUARD_PRIORITY, GUARD_TABLE } from '../../core/policy/guard';
import { sharedNftWorker, type NftRequest } from '../../kernel/nft-worker';
import type { NftDriver } from './table';

/** Runs one typed request; the shared worker unless a test supplies another. */
export type NftRunner = (request: NftRequest) => Promise<string>;

export const runNft: NftRunner = (request) => sharedNftWorker().run(request);

const LIST = `list table inet ${TABLE_NAME}`;
/**
 * Every table of the namespace without set elements. Not `list table -t`: nft 1.0.6 fetches every
 * element for that (and for `list chain`, `list sets`) and only leaves them out of the output — 10 s
 * and 270 MB with 130,000 elements here, while this takes milliseconds.
 */
const LIST_TERSE = 'list ruleset inet';
const NAME = /^[a-z0-9_]+$/;

export function kernelNftDriver(run: NftRunner = runNft): NftDriver {
  return {
    async commit(tx) {
      await run({ netns: tx.netns, text: tx.text });
    },
    async read(netns, options) {
      const except = options?.except;
      try {
        if (!except || except.size === 0) return parseTableJson(await run({ netns, text: LIST, json: true }));
        // The table without elements, then each set and map not excepted with its elements (one listing each: nft fetches only its own).
        const terse = await run({ netns, text: LIST_TERSE, json: true, terse: true });
        const shape = parseTableJson(terse);
        if (!shape) return undefined;
        const texts = [terse];
        for (const set of shape.sets)
          if (!except.has(set.name) && !set.dynamicCounters && NAME.test(set.name))
            texts.push(await run({ netns, text: `list set inet ${TABLE_NAME} ${set.name}`, json: true }));
        for (const map of shape.maps)
          if (!except.has(map.name) && map.dynamicSize === undefined && NAME.test(map.name))
            texts.push(await run({ netns, text: `list map inet ${TABLE_NAME} ${map.name}`, json: true }));
        return parseTableJson(texts);
      } catch {
        return undefined; // no table yet
      }
    },
    // Terse: counters only, without the set elements that make a full read-back slow.
    async counters(netns) {
      return parseCounters(await run({ netns, text: LIST_TERSE, json: true, terse: true }));
    },
    async guard(netns) {
      let text: string;
      try {
        text = await run({ netns, text: `list table inet ${GUARD_TABLE}`, json: true, terse: true });
      } catch {
        return 0; // no guard table
      }
      return parseGuardJson(text);
    },
    async setCounters(netns, set) {
      if (!NAME.test(set)) throw new Error(`refusing set name "${set}"`);
      return parseSetCounters(await run({ netns, text: `list set inet ${TABLE_NAME} ${set}`, json: true }));
    },
    async chains(netns) {
      try {
        return parseTableJson(await run({ netns, text: LIST_TERSE, json: true, terse: true }))?.chains;
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The bits the guard table's rule accepts (`meta mark & B == B`), from `nft -j list table`; -1 when
 * the table is there but not as the agent writes it (a hand edit: the agent writes it again).
 */
export function parseGuardJson(text: string): number {
  const items = (JSON.parse(text) as { nftables?: Array<Record<string, unknown>> }).nftables ?? [];
  const chains = items.filter((i) => 'chain' in i).map((i) => i.chain as { name?: string; hook?: string; policy?: string; prio?: number });
  const rules = items.filter((i) => 'rule' in i).map((i) => i.rule as { chain?: string; expr?: unknown[] });
  if (chains.length !== 1 || rules.length !== 1) return -1;
  const [chain] = chains;
  if (chain.name !== GUARD_CHAIN || chain.hook !== 'forward' || chain.policy !== 'drop' || chain.prio !== GUARD_PRIORITY) return -1;
  const match = rules[0].expr?.[0] as { match?: { op?: string; left?: { '&'?: unknown[] }; right?: unknown } } | undefined;
  const and = match?.match?.left?.['&'];
  const right = match?.match?.right;
  if (match?.match?.op !== '==' || !Array.isArray(and) || typeof and[1] !== 'number' || and[1] !== right) return -1;
  const verdict = rules[0].expr?.at(-1) as Record<string, unknown> | undefined;
  return verdict && 'accept' in verdict && rules[0].expr?.length === 3 ? and[1] : -1;
}
