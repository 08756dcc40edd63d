/**
 * Recorded element changes (src/core/policy/elements.ts): the diff of a set or map derived through
 * changedElements/changedEntries follows the recorded steps instead of comparing thousands of elements,
 * and must give exactly what the whole comparison gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changedElements, changedEntries, elementChange, entryChange } from '../../../src/core/policy/elements';
import { compileTenant, programForHost } from '../../../src/core/policy/compile';
import { diffPrograms, type NftOp } from '../../../src/core/policy/diff';
import { endpointJoin, endpointLeave, programForUpdate } from '../../../src/core/policy/incremental';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import type { NftProgram } from '../../../src/core/policy/program';
import { Random, randomWorld } from '../../policy/world';

const sorted = (list: readonly string[]): string[] => [...list].sort();

test('a set changed step by step: the recorded change equals the whole comparison, also when steps cancel out', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = new Random(seed);
    const universe = Array.from({ length: 40 }, (_, i) => `10.0.0.${i}`);
    const start = universe.filter(() => r.chance(0.5));
    let now = start;
    for (let step = 0; step < 1 + (seed % 20); step++) {
      const held = new Set(now);
      const added = universe.filter((e) => !held.has(e) && r.chance(0.1));
      const removed = now.filter(() => r.chance(0.1));
      now = changedElements(now, added, removed);
    }
    const change = elementChange(start, now);
    assert.ok(change, `seed ${seed}: the change is followed`);
    const before = new Set(start);
    const after = new Set(now);
    assert.deepEqual(sorted(change.added), sorted(now.filter((e) => !before.has(e))), `seed ${seed}`);
    assert.deepEqual(sorted(change.removed), sorted(start.filter((e) => !after.has(e))), `seed ${seed}`);
  }
  // Siblings: two collections derived from one (what the table committed with a gone link's elements
  // kept back, and the producer's next set): the change between them, in either direction.
  for (let seed = 1; seed <= 200; seed++) {
    const r = new Random(seed * 17);
    const universe = Array.from({ length: 40 }, (_, i) => `10.0.1.${i}`);
    const root = universe.filter(() => r.chance(0.5));
    const branch = (steps: number): string[] => {
      let now = root;
      for (let step = 0; step < steps; step++) {
        const held = new Set(now);
        now = changedElements(
          now,
          universe.filter((e) => !held.has(e) && r.chance(0.15)),
          now.filter(() => r.chance(0.15)),
        );
      }
      return now;
    };
    const [one, other] = [branch(seed % 5), branch(1 + (seed % 7))];
    for (const [before, after] of [
      [one, other],
      [other, one],
    ]) {
      const change = elementChange(before, after);
      assert.ok(change, `seed ${seed}: siblings are followed`);
      const b = new Set(before);
      const a = new Set(after);
      assert.deepEqual(sorted(change.added), sorted(after.filter((e) => !b.has(e))), `seed ${seed}`);
      assert.deepEqual(sorted(change.removed), sorted(before.filter((e) => !a.has(e))), `seed ${seed}`);
    }
  }
  // Not derived from it (a recompile, a read-back): no recorded change, the caller compares whole.
  assert.equal(elementChange(['a'], ['a', 'b']), undefined);
});

test('a map changed step by step: the recorded change equals the whole comparison, targets that changed included', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = new Random(seed * 31);
    const keys = Array.from({ length: 30 }, (_, i) => `tv${i}`);
    const start: Record<string, string> = Object.fromEntries(keys.filter(() => r.chance(0.5)).map((k) => [k, r.pick(['i_a', 'i_b'])]));
    let now = start;
    for (let step = 0; step < 1 + (seed % 20); step++) {
      const put = Object.fromEntries(keys.filter(() => r.chance(0.1)).map((k) => [k, r.pick(['i_a', 'i_b', 'i_c'])]));
      const removed = Object.keys(now).filter((k) => put[k] === undefined && r.chance(0.1));
      now = changedEntries(now, put, removed);
    }
    const change = entryChange(start, now);
    assert.ok(change, `seed ${seed}: the change is followed`);
    const put = Object.fromEntries(Object.entries(now).filter(([k, v]) => start[k] !== v));
    assert.deepEqual(change.put, put, `seed ${seed}`);
    assert.deepEqual(sorted(change.removed), sorted(Object.keys(start).filter((k) => now[k] === undefined)), `seed ${seed}`);
  }
  // Siblings.
  for (let seed = 1; seed <= 200; seed++) {
    const r = new Random(seed * 7);
    const keys = Array.from({ length: 30 }, (_, i) => `tv${i}`);
    const root: Record<string, string> = Object.fromEntries(keys.filter(() => r.chance(0.5)).map((k) => [k, 'i_a']));
    const branch = (steps: number): Record<string, string> => {
      let now = root;
      for (let step = 0; step < steps; step++) {
        const put = Object.fromEntries(keys.filter(() => r.chance(0.1)).map((k) => [k, r.pick(['i_a', 'i_b'])]));
        now = changedEntries(
          now,
          put,
          Object.keys(now).filter((k) => put[k] === undefined && r.chance(0.1)),
        );
      }
      return now;
    };
    const one = branch(seed % 4);
    const other = branch(1 + (seed % 6));
    const change = entryChange(one, other);
    assert.ok(change, `seed ${seed}: siblings are followed`);
    assert.deepEqual(change.put, Object.fromEntries(Object.entries(other).filter(([k, v]) => one[k] !== v)), `seed ${seed}`);
    assert.deepEqual(sorted(change.removed), sorted(Object.keys(one).filter((k) => other[k] === undefined)), `seed ${seed}`);
  }
  assert.equal(entryChange({ a: 'x' }, { a: 'y' }), undefined);
});

/** The program as plain data: no recorded change survives, so the diff compares whole. */
const plain = (program: NftProgram): NftProgram => JSON.parse(JSON.stringify(program)) as NftProgram;
/** Ops compared whatever the order of their elements (the order of elements in one nft command means nothing). */
function normal(ops: NftOp[]): string[] {
  const order = (key: string, value: unknown): unknown => {
    if (key !== 'elements' && key !== 'keys') return value;
    if (Array.isArray(value)) return [...(value as string[])].sort();
    return Object.fromEntries(Object.entries(value as Record<string, string>).sort(([a], [b]) => a.localeCompare(b)));
  };
  return ops.map((op) => JSON.stringify(op, order)).sort();
}

test('joins and leaves: the diff that follows the recorded changes is the diff of the whole programs, in 200 random worlds', () => {
  const HOST = 'h1';
  const ifaceOf = (e: Endpoint) => (e.spec.host === HOST ? e.status?.hostIfName : undefined);
  for (let seed = 1; seed <= 200; seed++) {
    const intent = randomWorld(seed);
    const r = new Random(seed * 104729);
    let present = intent.endpoints.filter(() => r.chance(0.5));
    const compiled = compileTenant({ ...intent, endpoints: [...present] }, 't1');
    const original = programForHost(compiled, { host: HOST, interfaceOf: ifaceOf });
    const program = programForUpdate(original);
    for (let step = 0; step < 6; step++) {
      const candidate = r.pick(intent.endpoints);
      const inside = present.find((e) => e.metadata.name === candidate.metadata.name);
      if (inside) {
        endpointLeave(compiled, program, inside.metadata.name, ifaceOf(inside));
        present = present.filter((e) => e !== inside);
      } else {
        endpointJoin(compiled, program, candidate, ifaceOf(candidate));
        present = [...present, candidate];
      }
    }
    const followed = diffPrograms(original, program);
    const whole = diffPrograms(plain(original), plain(program));
    assert.deepEqual(normal(followed.ops), normal(whole.ops), `seed ${seed}`);
  }
});
