/**
 * Element collections derived from one another, with the change recorded. A producer hands the table
 * its whole fragment, and the table diffs the whole program; but a set or map with thousands of
 * elements that one attach changed by one element must not cost a comparison of thousands (the diff
 * of 2,000-entry dispatch maps and antispoof sets was most of an attach's enforcement time). A
 * collection made by `changedElements` or `changedEntries` remembers what it was made from and how,
 * and `elementChange` / `entryChange` answer the difference from an ancestor in time proportional to
 * the change. Collections are never changed after they are handed out (the rule every program already
 * follows), so a recorded change stays true.
 */

interface SetStep {
  from: readonly string[];
  /** Elements not in `from`. */
  added: readonly string[];
  /** Elements of `from`. */
  removed: readonly string[];
}

interface MapStep {
  from: Readonly<Record<string, string>>;
  /** Keys set (new, or to another target). */
  put: Readonly<Record<string, string>>;
  /** Keys of `from` that are gone. */
  removed: readonly string[];
}

const setSteps = new WeakMap<readonly string[], SetStep>();
const mapSteps = new WeakMap<Readonly<Record<string, string>>, MapStep>();

/** How many derivations back a change is followed; further, the collections are compared whole. */
const MAX_STEPS = 32;

/**
 * `elements` plus `added` (none of which it holds) minus `removed` (all of which it holds), as a new
 * array in the order a rebuild would give: what was kept, then what was added.
 */
export function changedElements(elements: readonly string[], added: readonly string[], removed: readonly string[]): string[] {
  let out: string[];
  if (removed.length === 0) out = [...elements, ...added];
  else {
    const gone = new Set(removed);
    out = elements.filter((e) => !gone.has(e));
    out.push(...added);
  }
  setSteps.set(out, { from: elements, added: [...added], removed: [...removed] });
  return out;
}

/** `entries` with the keys of `put` set and the keys `removed` (each present) deleted, as a new object. */
export function changedEntries(
  entries: Readonly<Record<string, string>>,
  put: Readonly<Record<string, string>>,
  removed: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = { ...entries, ...put };
  for (const key of removed) delete out[key];
  mapSteps.set(out, { from: entries, put: { ...put }, removed: [...removed] });
  return out;
}

/**
 * The steps from a common ancestor to `before` and to `after` (oldest last), or undefined when they
 * share none within MAX_STEPS. Usually `before` is the ancestor itself (a join on the last program);
 * siblings occur when the table kept a gone link's entries back in what it committed.
 */
function paths<T extends object, S extends { from: T }>(
  steps: WeakMap<T, S>,
  before: T,
  after: T,
): { toBefore: S[]; toAfter: S[] } | undefined {
  const depthOf = new Map<T, number>([[before, 0]]);
  const toBefore: S[] = [];
  for (let at = before; toBefore.length < MAX_STEPS;) {
    const step = steps.get(at);
    if (!step) break;
    toBefore.push(step);
    at = step.from;
    depthOf.set(at, toBefore.length);
  }
  const toAfter: S[] = [];
  for (let at = after; !depthOf.has(at);) {
    const step = steps.get(at);
    if (!step || toAfter.length >= MAX_STEPS) return undefined;
    toAfter.push(step);
    at = step.from;
  }
  const common = toAfter.length === 0 ? after : toAfter[toAfter.length - 1].from;
  return { toBefore: toBefore.slice(0, depthOf.get(common)), toAfter };
}

/** Per element touched on the way from the ancestor: true, added (not in the ancestor); false, removed (in it). */
function membership(steps: readonly SetStep[]): Map<string, boolean> {
  const state = new Map<string, boolean>();
  // Oldest step first; an element added then removed (or the reverse) cancels out.
  for (let i = steps.length - 1; i >= 0; i--) {
    for (const e of steps[i].removed) {
      if (state.get(e) === true) state.delete(e);
      else state.set(e, false);
    }
    for (const e of steps[i].added) {
      if (state.get(e) === false) state.delete(e);
      else state.set(e, true);
    }
  }
  return state;
}

/**
 * What `after` adds to and removes from `before`, when both were derived by changedElements from one
 * collection (`before` itself, usually) through a few steps; undefined when they were not (compare
 * them whole).
 */
export function elementChange(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } | undefined {
  const found = paths(setSteps, before, after);
  if (!found) return undefined;
  const inBefore = membership(found.toBefore);
  const inAfter = membership(found.toAfter);
  const added: string[] = [];
  const removed: string[] = [];
  // An element neither path touched is where the ancestor had it, in both.
  for (const [e, present] of inAfter) {
    const was = inBefore.has(e) ? inBefore.get(e) : !present;
    if (present && !was) added.push(e);
    else if (!present && was) removed.push(e);
  }
  for (const [e, was] of inBefore) {
    if (inAfter.has(e)) continue;
    // Untouched on the way to `after`: it holds e as the ancestor did, i.e. the opposite of what `before`'s path did.
    if (was) removed.push(e);
    else added.push(e);
  }
  return { added, removed };
}

/**
 * What `after` sets (new keys and keys whose target changed) and removes relative to `before`, when
 * both were derived by changedEntries from one object (`before` itself, usually) through a few steps;
 * undefined when they were not.
 */
export function entryChange(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): { put: Record<string, string>; removed: string[] } | undefined {
  const found = paths(mapSteps, before, after);
  if (!found) return undefined;
  // Keys neither path touched hold the ancestor's target in both.
  const touched = new Set<string>();
  for (const step of [...found.toBefore, ...found.toAfter]) {
    for (const key of Object.keys(step.put)) touched.add(key);
    for (const key of step.removed) touched.add(key);
  }
  const put: Record<string, string> = {};
  const removed: string[] = [];
  for (const key of touched) {
    const was = before[key];
    const now = after[key];
    if (now === undefined) {
      if (was !== undefined) removed.push(key);
    } else if (now !== was) put[key] = now;
  }
  return { put, removed };
}

/**
 * Records that `elements` (an array the caller built, in the order it wants) is `from` plus `added`
 * (none of which `from` holds) minus `removed` (all of which it holds). For producers that rebuild a
 * set in their own order but know what changed.
 */
export function derivedElements(
  from: readonly string[],
  elements: string[],
  added: readonly string[],
  removed: readonly string[],
): string[] {
  setSteps.set(elements, { from, added: [...added], removed: [...removed] });
  return elements;
}
