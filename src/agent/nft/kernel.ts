/**
 * The kernel driver of NftTable: typed requests to the agent's one libnftables worker
 * (src/kernel/nft-worker.ts). A process per call cost more than most transactions; the worker checks
 * the namespace name against NETNS_NAME_REGEX.
 */
import { parseCounters, parseSetCounters, parseTableJson } from '../../core/policy/readback';
import { TABLE_NAME } from '../../core/policy/program';
import { sharedNftWorker, type NftRequest } from '../../kernel/nft-worker';
import type { NftDriver } from './table';

/** Runs one typed request; the shared worker unless a test supplies another. */
export type NftRunner = (request: NftRequest) => Promise<string>;

export const runNft: NftRunner = (request) => sharedNftWorker().run(request);

const LIST = `list table inet ${TABLE_NAME}`;

export function kernelNftDriver(run: NftRunner = runNft): NftDriver {
  return {
    async commit(tx) {
      await run({ netns: tx.netns, text: tx.text });
    },
    async read(netns) {
      try {
        return parseTableJson(await run({ netns, text: LIST, json: true }));
      } catch {
        return undefined; // no table yet
      }
    },
    // Terse: counters only, without the set elements that make a full read-back slow.
    async counters(netns) {
      return parseCounters(await run({ netns, text: LIST, json: true, terse: true }));
    },
    async setCounters(netns, set) {
      if (!/^[a-z0-9_]+$/.test(set)) throw new Error(`refusing set name "${set}"`);
      return parseSetCounters(await run({ netns, text: `list set inet ${TABLE_NAME} ${set}`, json: true }));
    },
    async chains(netns) {
      try {
        return parseTableJson(await run({ netns, text: LIST, json: true, terse: true }))?.chains;
      } catch {
        return undefined;
      }
    },
  };
}
