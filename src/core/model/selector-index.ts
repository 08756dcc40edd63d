/**
 * Named selectors indexed by the label values they require, so that the selectors an object's labels
 * may match are found without testing every one (10,000 services: a changed endpoint is tested against
 * the few services one of its labels names, not all of them).
 *
 * A selector is filed under one requirement that pins a label to listed values (a `matchLabels` entry,
 * or the `In` requirement with the fewest values): labels it matches carry one of those pairs, so the
 * pairs of the labels find it. A selector without such a requirement (empty, or only NotIn, Exists,
 * DoesNotExist) may match anything and is always a candidate.
 */
import type { LabelSelector, Labels } from './selectors';

const pair = (key: string, value: string): string => `${key}\u0000${value}`;

/** The pairs one of which every label set the selector matches carries; undefined when there are none to name. */
export function anchorPairs(selector: LabelSelector): string[] | undefined {
  const [key, value] = Object.entries(selector.matchLabels ?? {})[0] ?? [];
  if (key !== undefined) return [pair(key, value)];
  let best: string[] | undefined;
  for (const requirement of selector.matchExpressions ?? []) {
    if (requirement.operator !== 'In') continue;
    const values = requirement.values ?? [];
    if (!best || values.length < best.length) best = values.map((v) => pair(requirement.key, v));
  }
  return best;
}

export class SelectorIndex {
  private readonly filed = new Map<string, { selector: LabelSelector; pairs?: string[] }>();
  private readonly byPair = new Map<string, Set<string>>();
  private readonly anywhere = new Set<string>();

  /** Files (or files again) `name`'s selector; the same selector object as before costs nothing. */
  set(name: string, selector: LabelSelector): void {
    if (this.filed.get(name)?.selector === selector) return;
    this.delete(name);
    const pairs = anchorPairs(selector);
    this.filed.set(name, { selector, pairs });
    if (!pairs) {
      this.anywhere.add(name);
      return;
    }
    for (const p of pairs) {
      let names = this.byPair.get(p);
      if (!names) this.byPair.set(p, (names = new Set()));
      names.add(name);
    }
  }

  delete(name: string): void {
    const filed = this.filed.get(name);
    if (!filed) return;
    this.filed.delete(name);
    this.anywhere.delete(name);
    for (const p of filed.pairs ?? []) {
      const names = this.byPair.get(p);
      names?.delete(name);
      if (names?.size === 0) this.byPair.delete(p);
    }
  }

  /** The names whose selector may match `labels` (a superset: test each one). */
  candidates(labels: Labels, into: Set<string> = new Set()): Set<string> {
    for (const name of this.anywhere) into.add(name);
    for (const [key, value] of Object.entries(labels)) for (const name of this.byPair.get(pair(key, value)) ?? []) into.add(name);
    return into;
  }

  get size(): number {
    return this.filed.size;
  }
}
