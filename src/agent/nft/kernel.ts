/**
 * The kernel driver of NftTable: typed requests to the agent's one libnftables worker
 * (src/kernel/nft-worker.ts). A process per call cost more than most transactions; the worker checks
 * the namespace name against NETNS_NAME_REGEX.
 */
import { parseCounters, parseSetCounters, parseTableJson } from '../../core/policy/readback';
import { TABLE_NAME } from '../../core/policy/program';
import { GUARD_CHAIN, GUARD_PRIORITY, GUARD_TABLE } from '../../core/policy/guard';
import { sharedNftWorker, type NftRequest } from '../../kernel/nft-worker';
import type { NftDriver, NftTransaction } from './table';
import type { NftOp } from '../../core/policy/diff';
import { renderOps } from '../../core/policy/render';

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

/**
 * What a transaction that libnftables answered with ENOBUFS came to: it took effect (`committed`), it
 * did not and was sent again (`retried`), or no element of it tells (`unknown`: the error stands).
 */
export type EnobufsOutcome = 'committed' | 'retried' | 'split' | 'unknown';

/** Elements per transaction when a transaction is sent again in parts (see enobufsParts). */
export const ENOBUFS_PART_ELEMENTS = 2000;

type ElementOp = Extract<NftOp, { op: 'addElements' | 'deleteElements' | 'addMapElements' | 'deleteMapElements' }>;

const isElementOp = (op: NftOp): op is ElementOp =>
  op.op === 'addElements' || op.op === 'deleteElements' || op.op === 'addMapElements' || op.op === 'deleteMapElements';

/**
 * A transaction of element operations only, cut into transactions of at most `size` elements each, in
 * its order; undefined when it holds anything else (a chain, a rule, a set: those stay one transaction).
 */
export function enobufsParts(ops: readonly NftOp[], size = ENOBUFS_PART_ELEMENTS): ElementOp[][] | undefined {
  if (!ops.every(isElementOp)) return undefined;
  const parts: ElementOp[][] = [[]];
  let count = 0;
  const push = (op: ElementOp, n: number): void => {
    if (count + n > size && parts[parts.length - 1].length > 0) {
      parts.push([]);
      count = 0;
    }
    parts[parts.length - 1].push(op);
    count += n;
  };
  for (const op of ops as ElementOp[]) {
    if (op.op === 'addElements' || op.op === 'deleteElements')
      for (let i = 0; i < op.elements.length; i += size)
        push({ ...op, elements: op.elements.slice(i, i + size) }, Math.min(size, op.elements.length - i));
    else if (op.op === 'deleteMapElements')
      for (let i = 0; i < op.keys.length; i += size) push({ ...op, keys: op.keys.slice(i, i + size) }, Math.min(size, op.keys.length - i));
    else {
      const entries = Object.entries(op.elements);
      for (let i = 0; i < entries.length; i += size)
        push({ ...op, elements: Object.fromEntries(entries.slice(i, i + size)) }, Math.min(size, entries.length - i));
    }
  }
  return parts;
}

const ENOBUFS = /No buffer space available/;

/**
 * An element whose presence after `tx` tells whether it took effect: one the transaction only adds
 * (present: it did) or only deletes (absent: it did), in a set or a map keyed by rendered text (not an
 * interval set, not a map keyed by interface name, whose keys render otherwise).
 */
export function enobufsProbe(tx: Pick<NftTransaction, 'ops' | 'program'>): { name: string; key: string; present: boolean } | undefined {
  const added = new Map<string, Set<string>>();
  const deleted = new Map<string, Set<string>>();
  const note = (into: Map<string, Set<string>>, name: string, keys: Iterable<string>): void => {
    const set = into.get(name) ?? new Set<string>();
    for (const key of keys) set.add(key);
    into.set(name, set);
  };
  for (const op of tx.ops) {
    if (op.op === 'addElements') note(added, op.set, op.elements);
    else if (op.op === 'addMapElements') note(added, op.map, Object.keys(op.elements));
    else if (op.op === 'deleteElements') note(deleted, op.set, op.elements);
    else if (op.op === 'deleteMapElements') note(deleted, op.map, op.keys);
  }
  const plain = (name: string): boolean =>
    NAME.test(name) &&
    (tx.program.sets.some((s) => s.name === name && !s.interval && !s.dynamicCounters) ||
      tx.program.maps.some((m) => m.name === name && (m.typeof !== undefined || m.keyType !== undefined) && m.dynamicSize === undefined));
  for (const [from, other, present] of [
    [added, deleted, true],
    [deleted, added, false],
  ] as const) {
    for (const [name, keys] of from) {
      if (!plain(name)) continue;
      for (const key of keys) if (!other.get(name)?.has(key)) return { name, key, present };
    }
  }
  return undefined;
}

export function kernelNftDriver(run: NftRunner = runNft, options: { onEnobufs?: (outcome: EnobufsOutcome) => void } = {}): NftDriver {
  return {
    async commit(tx) {
      try {
        await run({ netns: tx.netns, text: tx.text });
      } catch (error) {
        // libnftables 1.0.6 sometimes answers a large transaction (thousands of services created at once)
        // with ENOBUFS, which does not say whether it took effect. One element it changes tells (`get
        // element` lists nothing else); so far it never had.
        if (!ENOBUFS.test((error as Error).message)) throw error;
        const probe = tx.full ? undefined : enobufsProbe(tx);
        if (!probe) {
          options.onEnobufs?.('unknown');
          throw error;
        }
        const took = async (): Promise<boolean> =>
          (await run({ netns: tx.netns, text: `get element inet ${TABLE_NAME} ${probe.name} { ${probe.key} }` }).then(
            () => true,
            () => false,
          )) === probe.present;
        if (await took()) {
          options.onEnobufs?.('committed');
          return;
        }
        // The kernel holds the table as before: the same transaction again.
        options.onEnobufs?.('retried');
        try {
          await run({ netns: tx.netns, text: tx.text });
          return;
        } catch (again) {
          if (!ENOBUFS.test((again as Error).message)) throw again;
          if (await took()) {
            options.onEnobufs?.('committed');
            return;
          }
          // Seen again for the same large transaction (thousands of services created at once), never
          // for a small one: elements only, it is sent in parts. Each part is atomic, the whole no longer
          // (a new service may answer a moment before another); anything else fails as it is.
          const parts = enobufsParts(tx.ops);
          if (!parts || parts.length < 2) throw again;
          options.onEnobufs?.('split');
          for (const part of parts) await run({ netns: tx.netns, text: `${renderOps(tx.program, part).join('\n')}\n` });
        }
      }
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
