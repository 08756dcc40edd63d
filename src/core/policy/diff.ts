/**
 * Incremental update between two programs of one namespace, as ordered
 * operations for a single `nft -f` transaction. Membership changes (an endpoint
 * appearing, leaving, relabelled) differ only in set and map elements, so they
 * become element operations and nothing else; chains are rewritten only when
 * their rules changed.
 */
import { groupsChangedFrom, type NftChain, type NftProgram, type NftSet, type NftVmap } from './program';
import { renderRule } from './render';
import { stableHash } from './names';
import { elementChange, entryChange } from './elements';

export type NftOp =
  | { op: 'addSet'; set: NftSet }
  | { op: 'deleteSet'; name: string }
  | { op: 'addElements'; set: string; elements: string[] }
  | { op: 'deleteElements'; set: string; elements: string[] }
  | { op: 'addMap'; map: NftVmap }
  | { op: 'deleteMap'; name: string }
  | { op: 'addMapElements'; map: string; elements: Record<string, string> }
  | { op: 'deleteMapElements'; map: string; keys: string[] }
  | { op: 'addChain'; chain: NftChain }
  | { op: 'setChainRules'; chain: NftChain }
  | { op: 'flushChain'; name: string }
  | { op: 'deleteChain'; name: string };

export interface ProgramDiff {
  /** True when the change cannot be expressed incrementally (a set changed type, a base chain its hook): replace the table. */
  replace: boolean;
  ops: NftOp[];
}

/**
 * Short hash of a chain's content: equal fingerprints mean nothing to rewrite. A chain read back from
 * the kernel carries the fingerprint it was written with (in its last rule's comment) instead of rules.
 */
export function chainFingerprint(chain: NftChain): string {
  if (chain.fingerprint !== undefined) return chain.fingerprint;
  let fingerprint = fingerprints.get(chain);
  if (fingerprint === undefined) {
    const head = chain.base
      ? `${chain.base.hook}/${chain.base.priority}/${chain.base.policy}${chain.base.type === 'nat' ? '/nat' : ''}`
      : '';
    fingerprint = stableHash(head + '\n' + chain.rules.map(renderRule).join('\n'));
    fingerprints.set(chain, fingerprint);
  }
  return fingerprint;
}

/** Chains are never changed once built (a change makes a new chain), so their fingerprints can be kept. */
const fingerprints = new WeakMap<NftChain, string>();

function sameSetShape(a: NftSet, b: NftSet): boolean {
  return a.type === b.type && a.interval === b.interval && (a.dynamicCounters ?? false) === (b.dynamicCounters ?? false);
}

/** Element changes of a grouped map: only groups that are not the very same object are looked into. */
function diffGroups(
  name: string,
  before: ReadonlyMap<string, Readonly<Record<string, string>>>,
  after: ReadonlyMap<string, Readonly<Record<string, string>>>,
  ops: NftOp[],
  deletes: NftOp[],
): void {
  const added: Record<string, string> = {};
  const changed: string[] = [];
  const removed: string[] = [];
  // Made from `before` by changing a few groups: only those are looked at.
  const names = groupsChangedFrom(after, before);
  const entries: Iterable<[string, Readonly<Record<string, string>>]> = names
    ? [...names].flatMap((name) => (after.has(name) ? [[name, after.get(name)!] as [string, Readonly<Record<string, string>>]] : []))
    : after;
  for (const [group, elements] of entries) {
    const old = before.get(group);
    if (old === elements) continue;
    for (const [key, target] of Object.entries(elements)) {
      const was = old?.[key];
      if (was === undefined) added[key] = target;
      else if (was !== target) {
        changed.push(key);
        added[key] = target;
      }
    }
    for (const key of Object.keys(old ?? {})) if (elements[key] === undefined) removed.push(key);
  }
  for (const [group, old] of names ? [...names].flatMap((n) => (before.has(n) ? [[n, before.get(n)!] as const] : [])) : before)
    if (!after.has(group)) removed.push(...Object.keys(old));
  // Keys are unique across groups (each carries its owner's VIP): a key moving between groups is a delete and an add.
  const stillThere = removed.filter((key) => added[key] !== undefined);
  const gone = removed.filter((key) => added[key] === undefined);
  if (changed.length + stillThere.length > 0) ops.push({ op: 'deleteMapElements', map: name, keys: [...changed, ...stillThere] });
  if (Object.keys(added).length > 0) ops.push({ op: 'addMapElements', map: name, elements: added });
  if (gone.length > 0) deletes.push({ op: 'deleteMapElements', map: name, keys: gone });
}

export function diffPrograms(before: NftProgram | undefined, after: NftProgram): ProgramDiff {
  if (!before) return { replace: true, ops: [] };
  const ops: NftOp[] = [];
  const oldSets = new Map(before.sets.map((s) => [s.name, s]));
  const newSets = new Map(after.sets.map((s) => [s.name, s]));
  const oldMaps = new Map(before.maps.map((m) => [m.name, m]));
  const newMaps = new Map(after.maps.map((m) => [m.name, m]));
  const oldChains = new Map(before.chains.map((c) => [c.name, c]));
  const newChains = new Map(after.chains.map((c) => [c.name, c]));

  for (const [name, set] of newSets) {
    const old = oldSets.get(name);
    if (old && !sameSetShape(old, set)) return { replace: true, ops: [] };
  }
  for (const [name, chain] of newChains) {
    const old = oldChains.get(name);
    if (
      old &&
      ((old.base?.type ?? 'filter') !== (chain.base?.type ?? 'filter') ||
        old.base?.hook !== chain.base?.hook ||
        old.base?.priority !== chain.base?.priority ||
        old.base?.policy !== chain.base?.policy)
    ) {
      return { replace: true, ops: [] };
    }
  }

  for (const [name, set] of newSets) if (!oldSets.has(name)) ops.push({ op: 'addSet', set });
  for (const [name, map] of newMaps) {
    const old = oldMaps.get(name);
    if (
      old &&
      ((old.typeof ?? '') !== (map.typeof ?? '') ||
        (old.declare ?? 'typeof') !== (map.declare ?? 'typeof') ||
        (old.dynamicSize !== undefined) !== (map.dynamicSize !== undefined))
    )
      return { replace: true, ops: [] };
  }
  for (const [name, map] of newMaps) if (!oldMaps.has(name)) ops.push({ op: 'addMap', map: { ...map, elements: {} } });
  for (const [name, chain] of newChains) if (!oldChains.has(name)) ops.push({ op: 'addChain', chain });

  const deletes: NftOp[] = [];
  for (const [name, set] of newSets) {
    const old = oldSets.get(name);
    // Programs derived from one another share the element arrays of the sets they did not change.
    // A dynamic set's elements are the packet path's, not the program's.
    if (!old || old.elements === set.elements || set.dynamicCounters) continue;
    const { added, removed } = elementChange(old.elements, set.elements) ?? compareElements(old.elements, set.elements);
    if (added.length > 0) ops.push({ op: 'addElements', set: name, elements: added });
    if (removed.length > 0) deletes.push({ op: 'deleteElements', set: name, elements: removed });
  }
  for (const [name, map] of newMaps) {
    // A dynamic map's elements are the packet path's.
    if (map.dynamicSize !== undefined) continue;
    const oldGroups = oldMaps.get(name)?.groups;
    if (oldGroups && map.groups) {
      diffGroups(name, oldGroups, map.groups, ops, deletes);
      continue;
    }
    // Unchanged maps share their elements object (service NAT's slot maps can hold many elements).
    if (oldMaps.get(name)?.elements === map.elements) continue;
    const old = oldMaps.get(name)?.elements ?? {};
    const change = entryChange(old, map.elements) ?? compareEntries(old, map.elements);
    const added = change.put;
    const changed = Object.keys(added).filter((key) => old[key] !== undefined);
    const removed = change.removed;
    // A key whose target changed is removed and re-added in the same transaction: no gap is visible.
    if (changed.length > 0) ops.push({ op: 'deleteMapElements', map: name, keys: changed });
    if (Object.keys(added).length > 0) ops.push({ op: 'addMapElements', map: name, elements: added });
    if (removed.length > 0) deletes.push({ op: 'deleteMapElements', map: name, keys: removed });
  }
  for (const [name, chain] of newChains) {
    const old = oldChains.get(name);
    if (old !== chain && (!old || chainFingerprint(old) !== chainFingerprint(chain))) ops.push({ op: 'setChainRules', chain });
  }
  ops.push(...deletes);
  const goneChains = [...oldChains.keys()].filter((name) => !newChains.has(name));
  for (const name of goneChains) ops.push({ op: 'flushChain', name });
  for (const name of goneChains) ops.push({ op: 'deleteChain', name });
  for (const name of oldMaps.keys()) if (!newMaps.has(name)) ops.push({ op: 'deleteMap', name });
  for (const name of oldSets.keys()) if (!newSets.has(name)) ops.push({ op: 'deleteSet', name });
  return { replace: false, ops };
}

/** The whole comparison, for sets not derived from one another (a read-back, a recompile). */
function compareElements(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const oldElements = new Set(before);
  const newElements = new Set(after);
  return { added: after.filter((e) => !oldElements.has(e)), removed: before.filter((e) => !newElements.has(e)) };
}

function compareEntries(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): { put: Record<string, string>; removed: string[] } {
  const put: Record<string, string> = {};
  for (const [key, target] of Object.entries(after)) if (before[key] !== target) put[key] = target;
  return { put, removed: Object.keys(before).filter((key) => after[key] === undefined) };
}

/** Counts of what a diff sends, for tests and reports. */
export function summarizeOps(ops: readonly NftOp[]): Record<NftOp['op'], number> {
  const counts = {
    addSet: 0,
    deleteSet: 0,
    addElements: 0,
    deleteElements: 0,
    addMap: 0,
    deleteMap: 0,
    addMapElements: 0,
    deleteMapElements: 0,
    addChain: 0,
    setChainRules: 0,
    flushChain: 0,
    deleteChain: 0,
  } satisfies Record<NftOp['op'], number>;
  for (const op of ops) counts[op.op]++;
  return counts;
}
