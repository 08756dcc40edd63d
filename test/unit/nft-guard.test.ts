/**
 * The guard table that keeps a deleted `inet tenet` failing closed (src/core/policy/guard.ts): the
 * kernel form's forward base chains mark what they accept; NftTable writes the guard with the hooks in
 * the same transaction, removes it with them, finds it missing (intact()) and writes it again; the
 * kernel driver reads it from `nft -j list table`; the monitor watches it. No root: the fake driver,
 * taught the guard from the transaction text.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { NftTable, type NftTransaction } from '../../src/agent/nft/table';
import { parseGuardJson } from '../../src/agent/nft/kernel';
import { RELEVANT } from '../../src/agent/nft/monitor';
import { failClosed } from '../../src/core/policy/fail-closed';
import { GUARD_MASK, GUARD_TABLE, guardBits, renderGuard } from '../../src/core/policy/guard';
import { kernelProgram } from '../../src/core/policy/unhooked';
import type { NftProgram } from '../../src/core/policy/program';
import { FakeNft } from '../helpers/fake-nft';

const NS = 'tqunit-r-guard';

/** The fake, plus the guard: what the last guard commands of a transaction made of it. */
class GuardedFake extends FakeNft {
  bits = 0;
  override async commit(tx: NftTransaction): Promise<void> {
    await super.commit(tx);
    const lines = tx.text.split('\n');
    if (lines.includes(`delete table inet ${GUARD_TABLE}`)) this.bits = 0;
    const rule = lines.find((l) => l.startsWith(`add rule inet ${GUARD_TABLE} `));
    if (rule) this.bits = Number(/meta mark & (0x[0-9a-f]+) ==/.exec(rule)![1]);
  }
  async guard(): Promise<number> {
    return this.bits;
  }
}

/** A policy-like program: egress and ingress hooks at the forward hook, one profile each. */
function program(restricts: boolean): NftProgram {
  const verdict = { kind: restricts ? ('drop' as const) : ('accept' as const) };
  return {
    family: 'inet',
    table: 'tenet',
    sets: [],
    maps: [
      { name: 'egress_dispatch', elements: { va: 'e_a' } },
      { name: 'ingress_dispatch', elements: { va: 'i_a' } },
    ],
    chains: [
      {
        name: 'egress',
        base: { hook: 'forward', priority: 0, policy: 'accept' },
        rules: [{ matches: [{ kind: 'vmap', field: 'iifname', map: 'egress_dispatch' }] }],
      },
      {
        name: 'ingress',
        base: { hook: 'forward', priority: 1, policy: 'accept' },
        rules: [
          { matches: [{ kind: 'ct', states: ['established', 'related'] }], verdict: { kind: 'accept' }, comment: 'stateful' },
          { matches: [{ kind: 'vmap', field: 'oifname', map: 'ingress_dispatch' }] },
        ],
      },
      { name: 'e_a', rules: [{ matches: [], verdict: { kind: 'accept' } }] },
      { name: 'i_a', rules: [{ matches: [], verdict }] },
    ],
    interfaces: {},
  };
}

const kernelForm = (restricts: boolean): NftProgram => failClosed(kernelProgram(program(restricts)));

test('the kernel form: each forward base chain first sets a guard bit of its own; unhooked, no guard is wanted', () => {
  const closed = kernelForm(true);
  const bases = closed.chains.filter((c) => c.base);
  assert.deepEqual(
    bases.map((c) => c.rules[0].effects),
    [[{ kind: 'setMarkBits', bits: 0x04000000 }], [{ kind: 'setMarkBits', bits: 0x08000000 }]],
  );
  // A chain that begins with a dispatch gets the mark rule first. One that begins with the stateful
  // accept sets its bit in that rule (an established packet ends there, one rule) and in a mark rule
  // right after it, for every other packet, before anything can drop or dispatch it.
  const [egress, ingress] = bases;
  assert.deepEqual(
    egress.rules.map((r) => r.comment),
    ['guard mark', undefined, 'no rule decided'],
  );
  assert.deepEqual(
    ingress.rules.map((r) => r.comment),
    ['stateful', 'guard mark', undefined, 'no rule decided'],
  );
  assert.equal(ingress.rules[0].verdict?.kind, 'accept');
  assert.deepEqual(ingress.rules[0].matches, [{ kind: 'ct', states: ['established', 'related'] }]);
  assert.deepEqual(ingress.rules[1].effects, ingress.rules[0].effects);
  assert.equal(ingress.rules[1].verdict, undefined);
  assert.equal(guardBits(closed), GUARD_MASK);
  // Clear of the pass marks (0x01000000, 0x02000000) the profiles use.
  assert.equal(GUARD_MASK & 0x03000000, 0);
  assert.equal(guardBits(kernelForm(false)), 0, 'a namespace without hooks gets no guard');
  assert.deepEqual(renderGuard(0), [`add table inet ${GUARD_TABLE}`, `delete table inet ${GUARD_TABLE}`]);
});

test('the guard comes and goes with the hooks in the same transaction, and a guard deleted by hand is found and written again', async () => {
  const fake = new GuardedFake();
  const table = new NftTable(NS, fake);
  table.contribute('policy', kernelForm(true));
  const first = await table.apply({ pass: 'reconcile' });
  assert.match(first!.text, /add chain inet tenet_guard forward \{ type filter hook forward priority 10; policy drop; \}/);
  assert.equal(fake.bits, GUARD_MASK);
  assert.equal(await table.intact(), true);
  // An attach that changes nothing of the guard does not write it again.
  assert.equal(await table.apply({ pass: 'attach' }), undefined);

  fake.bits = 0; // `nft delete table inet tenet_guard` by hand
  assert.equal(await table.intact(), false);
  table.forget();
  const repair = await table.apply({ pass: 'reconcile' });
  assert.ok(repair, 'the guard alone is written again');
  assert.equal(repair.ops.length, 0);
  // Known to be absent: added without removing it first.
  assert.doesNotMatch(repair.text, /delete table/);
  assert.equal(fake.bits, GUARD_MASK);
  assert.equal(await table.intact(), true);

  // Changed by hand (read back as -1): removed and written again in one transaction, since `add chain`
  // cannot change a priority.
  fake.bits = -1;
  assert.equal(await table.intact(), false);
  table.forget();
  const rewrite = await table.apply({ pass: 'reconcile' });
  assert.match(rewrite!.text, /delete table inet tenet_guard\nadd table inet tenet_guard\nadd chain/);
  assert.equal(fake.bits, GUARD_MASK);

  // Unhooked: the hooks and the guard leave together.
  table.contribute('policy', kernelForm(false));
  const unhooked = await table.apply({ pass: 'reconcile' });
  assert.match(unhooked!.text, /delete chain inet tenet egress/);
  assert.match(unhooked!.text, /delete table inet tenet_guard/);
  assert.equal(fake.bits, 0);
  assert.equal(await table.intact(), true);
});

test('the kernel driver reads the guard back; a guard changed by hand reads as wrong', () => {
  const chain = {
    family: 'inet',
    table: GUARD_TABLE,
    name: 'forward',
    handle: 1,
    type: 'filter',
    hook: 'forward',
    prio: 10,
    policy: 'drop',
  };
  const rule = (bits: number, verdict: Record<string, null>) => ({
    family: 'inet',
    table: GUARD_TABLE,
    chain: 'forward',
    handle: 2,
    expr: [
      { match: { op: '==', left: { '&': [{ meta: { key: 'mark' } }, bits] }, right: bits } },
      { mangle: { key: { meta: { key: 'mark' } }, value: { '&': [{ meta: { key: 'mark' } }, ~bits >>> 0] } } },
      verdict,
    ],
  });
  const json = (c: object, r: object[]): string =>
    JSON.stringify({ nftables: [{ table: { family: 'inet', name: GUARD_TABLE } }, { chain: c }, ...r.map((x) => ({ rule: x }))] });
  assert.equal(parseGuardJson(json(chain, [rule(GUARD_MASK, { accept: null })])), GUARD_MASK);
  assert.equal(parseGuardJson(json({ ...chain, policy: 'accept' }, [rule(GUARD_MASK, { accept: null })])), -1);
  assert.equal(parseGuardJson(json(chain, [rule(GUARD_MASK, { drop: null })])), -1);
  assert.equal(parseGuardJson(json(chain, [])), -1);
  assert.equal(parseGuardJson(json(chain, [rule(GUARD_MASK, { accept: null }), rule(0, { accept: null })])), -1);
});

test('the monitor watches the guard table as well as the main table, and nothing else', () => {
  assert.ok(RELEVANT.test('delete table inet tenet_guard'));
  assert.ok(RELEVANT.test('delete rule inet tenet_guard forward handle 2'));
  assert.ok(RELEVANT.test('delete table inet tenet'));
  assert.ok(!RELEVANT.test('delete table inet tenetx'));
  assert.ok(!RELEVANT.test('delete element inet tenet_guard s { 1 }'));
  assert.ok(RELEVANT.test('overflow'), 'events the kernel dropped may have been deletions');
});
