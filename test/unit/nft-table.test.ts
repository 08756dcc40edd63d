/**
 * NftTable against the fake nft driver (no root): pruning of dispatch entries of deleted links, spare
 * chains, repair of a table changed by hand on the next read-back, distrust (a rewrite of every chain),
 * forget/renew, and two producers
 * contributing to one table.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mergeFragments, NftTable } from '../../src/agent/nft/table';
import { RouterNamespace } from '../../src/agent/router-namespace';
import { chainFingerprint, summarizeOps } from '../../src/core/policy/diff';
import type { NftChain, NftProgram } from '../../src/core/policy/program';
import { FakeNft } from '../helpers/fake-nft';

const NS = 'tqunit-r-acme';

/** A policy-like fragment: an ingress hook dispatching per interface into one profile chain each. */
function policyFragment(endpoints: Record<string, string>): NftProgram {
  const profiles = new Map<string, NftChain>();
  for (const profile of Object.values(endpoints)) {
    profiles.set(profile, {
      name: profile,
      rules: [
        {
          matches: [{ kind: 'addr', family: 4, field: 'saddr', set: 'p_web_4' }],
          verdict: { kind: 'accept' },
          comment: `tenant:${profile.replace(/_/g, '-')}:ingress:0`,
        },
      ],
    });
  }
  return {
    family: 'inet',
    table: 'tenet',
    sets: [{ name: 'p_web_4', type: 'ipv4_addr', interval: false, elements: ['10.0.0.2'] }],
    maps: [{ name: 'ingress_dispatch', elements: { ...endpoints } }],
    chains: [
      {
        name: 'ingress',
        base: { hook: 'forward', priority: 1, policy: 'accept' },
        rules: [{ matches: [{ kind: 'vmap', field: 'oifname', map: 'ingress_dispatch' }] }],
      },
      ...profiles.values(),
    ],
    interfaces: {},
  };
}

/** Another producer's fragment (names of its own): a prerouting chain and a set. */
function otherFragment(addresses: string[]): NftProgram {
  return {
    family: 'inet',
    table: 'tenet',
    sets: [{ name: 'x_sources_4', type: 'ipv4_addr', interval: false, elements: addresses }],
    maps: [],
    chains: [
      {
        name: 'x_pre',
        base: { hook: 'prerouting', priority: -300, policy: 'accept' },
        rules: [{ matches: [{ kind: 'addr', family: 4, field: 'saddr', set: 'x_sources_4' }], verdict: { kind: 'accept' } }],
      },
    ],
    interfaces: {},
  };
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const names = (program: NftProgram | undefined): string[] => (program?.chains ?? []).map((c) => c.name).sort();

test('dispatch entries of a deleted link stay until a reconcile pass prunes them, once expired', async () => {
  const fake = new FakeNft();
  const time = clock();
  const table = new NftTable(NS, fake, { now: time.now, spareMs: 5000, pruneMs: 5000 });
  table.contribute('policy', policyFragment({ va: 'i_a', vb: 'i_b' }));
  await table.apply({ pass: 'reconcile' });
  assert.deepEqual(fake.table(NS)?.maps[0].elements, { va: 'i_a', vb: 'i_b' });

  table.linkGone('vb');
  table.contribute('policy', policyFragment({ va: 'i_a' }));
  // The detach path: nothing to commit (the gone link's entry and its chain are kept back).
  assert.equal(await table.apply({ pass: 'attach' }), undefined);
  assert.deepEqual(fake.table(NS)?.maps[0].elements, { va: 'i_a', vb: 'i_b' });

  // A reconcile pass before the entry expired keeps it too.
  time.advance(1000);
  await table.apply({ pass: 'reconcile' });
  assert.deepEqual(fake.table(NS)?.maps[0].elements, { va: 'i_a', vb: 'i_b' });
  assert.ok(names(fake.table(NS)).includes('i_b'));

  time.advance(5000);
  const tx = await table.apply({ pass: 'reconcile' });
  assert.ok(tx && !tx.full);
  assert.deepEqual(fake.table(NS)?.maps[0].elements, { va: 'i_a' });
  assert.deepEqual(names(fake.table(NS)), ['i_a', 'ingress']);
});

test('a chain nothing dispatches to stays spare: a returning profile re-uses it, an expired one is deleted by a pass', async () => {
  const fake = new FakeNft();
  const time = clock();
  const table = new NftTable(NS, fake, { now: time.now, spareMs: 5000, pruneMs: 0 });
  table.contribute('policy', policyFragment({ va: 'i_a', vb: 'i_b' }));
  await table.apply({ pass: 'reconcile' });

  // b leaves (not a link deletion): its entry goes at once, its chain stays.
  table.contribute('policy', policyFragment({ va: 'i_a' }));
  const leave = await table.apply({ pass: 'attach' });
  assert.equal(summarizeOps(leave!.ops).deleteMapElements, 1);
  assert.equal(summarizeOps(leave!.ops).deleteChain, 0);
  assert.deepEqual(names(fake.table(NS)), ['i_a', 'i_b', 'ingress']);

  // Another endpoint of b's profile: an element operation only, the chain is there.
  table.contribute('policy', policyFragment({ va: 'i_a', vc: 'i_b' }));
  const join = await table.apply({ pass: 'attach' });
  assert.deepEqual(
    join!.ops.map((op) => op.op),
    ['addMapElements'],
  );

  table.contribute('policy', policyFragment({ va: 'i_a' }));
  await table.apply({ pass: 'reconcile' });
  assert.ok(names(fake.table(NS)).includes('i_b'), 'kept back while young');
  time.advance(5000);
  const prune = await table.apply({ pass: 'reconcile' });
  assert.equal(summarizeOps(prune!.ops).deleteChain, 1);
  assert.deepEqual(names(fake.table(NS)), ['i_a', 'ingress']);
});

test('a table deleted or flushed by hand is repaired by the next reconcile pass that reads back', async () => {
  const fake = new FakeNft();
  const time = clock();
  const table = new NftTable(NS, fake, { now: time.now, readBackMs: 30000 });
  table.contribute('policy', policyFragment({ va: 'i_a' }));
  await table.apply({ pass: 'reconcile' });
  const wanted = fake.table(NS);

  fake.deleteTable(NS);
  // Before the read-back is due the record is trusted: nothing is sent.
  time.advance(1000);
  assert.equal(await table.apply({ pass: 'reconcile' }), undefined);
  assert.equal(fake.table(NS), undefined);
  // The attach path never reads back.
  time.advance(30000);
  assert.equal(await table.apply({ pass: 'attach' }), undefined);
  const repaired = await table.apply({ pass: 'reconcile' });
  assert.ok(repaired?.full, 'a missing table is made whole');
  assert.deepEqual(fake.table(NS)?.maps, wanted?.maps);
  assert.deepEqual(names(fake.table(NS)), names(wanted));

  // Flushed (chains without rules): the read-back finds their fingerprints wrong and rewrites them.
  fake.flushTable(NS);
  time.advance(30000);
  const rewritten = await table.apply({ pass: 'reconcile' });
  assert.ok(rewritten && !rewritten.full);
  assert.equal(summarizeOps(rewritten.ops).setChainRules, 2);
  assert.ok(fake.table(NS)!.chains.every((c) => c.rules.length > 0));
  // Read back again: nothing left to repair.
  time.advance(30000);
  assert.equal(await table.apply({ pass: 'reconcile' }), undefined);
});

test('distrust: the next apply writes every chain again even when every fingerprint matches (a mid-chain hand edit keeps them)', async () => {
  const fake = new FakeNft();
  const table = new NftTable(NS, fake);
  table.contribute('policy', policyFragment({ va: 'i_a', vb: 'i_b' }));
  await table.apply({ pass: 'reconcile' });
  table.forget();
  assert.equal(await table.apply({ pass: 'reconcile' }), undefined, 'read back, the fingerprints match: nothing to send');
  table.distrust();
  const rewritten = await table.apply({ pass: 'reconcile' });
  assert.ok(rewritten && !rewritten.full);
  assert.equal(summarizeOps(rewritten.ops).setChainRules, 3, 'ingress, i_a and i_b written again');
  // Once written, the table is trusted again.
  table.forget();
  assert.equal(await table.apply({ pass: 'reconcile' }), undefined);
});

test('forget and renew: the next apply reads the kernel back and sends only what differs', async () => {
  const fake = new FakeNft();
  const ns = new RouterNamespace(NS, fake);
  ns.table.contribute('policy', policyFragment({ va: 'i_a' }));
  await ns.table.apply({ pass: 'attach' });
  assert.equal(fake.reads, 1);
  assert.equal(await ns.table.apply({ pass: 'attach' }), undefined);
  assert.equal(fake.reads, 1, 'the record is trusted');

  ns.routing.applied = 'x';
  ns.renew();
  assert.equal(ns.routing.applied, undefined);
  assert.equal(ns.table.programmed(), undefined);
  assert.equal(await ns.table.apply({ pass: 'attach' }), undefined, 'the kernel already holds it');
  assert.equal(fake.reads, 2);

  // The namespace was made again (empty): after renew the table is made whole, not diffed against the old record.
  fake.deleteTable(NS);
  ns.renew();
  const tx = await ns.table.apply({ pass: 'attach' });
  assert.ok(tx?.full);
  assert.ok(fake.table(NS));
});

test('two producers contribute to one table: one transaction, each owns its names, withdrawing removes only its own', async () => {
  const fake = new FakeNft();
  const table = new NftTable(NS, fake);
  table.contribute('policy', policyFragment({ va: 'i_a' }));
  table.contribute('other', otherFragment(['10.0.0.2']));
  const first = await table.apply({ pass: 'reconcile' });
  assert.equal(fake.transactions.length, 1);
  assert.ok(first?.full);
  assert.deepEqual(names(fake.table(NS)), ['i_a', 'ingress', 'x_pre']);
  assert.deepEqual(
    fake
      .table(NS)
      ?.sets.map((s) => s.name)
      .sort(),
    ['p_web_4', 'x_sources_4'],
  );

  // A change of one producer's part is an element operation in its own set; the other's is untouched.
  table.contribute('other', otherFragment(['10.0.0.2', '10.0.0.3']));
  const grow = await table.apply({ pass: 'attach' });
  assert.deepEqual(grow!.ops, [{ op: 'addElements', set: 'x_sources_4', elements: ['10.0.0.3'] }]);

  table.withdraw('other');
  await table.apply({ pass: 'reconcile' });
  assert.deepEqual(names(fake.table(NS)), ['i_a', 'ingress']);
  assert.deepEqual(
    fake.table(NS)?.sets.map((s) => s.name),
    ['p_web_4'],
  );

  // Two producers claiming one name is refused before anything reaches the kernel.
  assert.throws(
    () =>
      mergeFragments(
        new Map([
          ['policy', policyFragment({})],
          ['copy', policyFragment({})],
        ]),
      ),
    /claimed by both policy and copy/,
  );
});

test('a failed commit leaves the table unknown: the next apply reads it back', async () => {
  const fake = new FakeNft();
  const table = new NftTable(NS, fake);
  table.contribute('policy', policyFragment({ va: 'i_a' }));
  await table.apply({ pass: 'attach' });
  fake.deleteTable(NS); // behind the agent's back: the next incremental commit fails
  table.contribute('policy', policyFragment({ va: 'i_a', vb: 'i_b' }));
  await assert.rejects(table.apply({ pass: 'attach' }), /No such file or directory/);
  assert.equal(table.programmed(), undefined);
  const tx = await table.apply({ pass: 'attach' });
  assert.ok(tx?.full);
  assert.deepEqual(fake.table(NS)?.maps[0].elements, { va: 'i_a', vb: 'i_b' });
});

test('intact(): true while the kernel holds the record, false after a hand flush or delete', async () => {
  const fake = new FakeNft();
  const table = new NftTable(NS, fake);
  assert.equal(await table.intact(), true, 'nothing recorded, nothing to compare');
  table.contribute('policy', policyFragment({ va: 'i_a' }));
  table.contribute('other', otherFragment(['10.0.0.2']));
  await table.apply({ pass: 'attach' });
  assert.equal(await table.intact(), true);
  fake.flushTable(NS);
  assert.equal(await table.intact(), false);
  table.forget();
  await table.apply({ pass: 'attach' });
  assert.equal(await table.intact(), true, 'repaired');
  fake.deleteTable(NS);
  assert.equal(await table.intact(), false);
});

test('set elements keyed by a deleted link stay until a reconcile pass prunes them; a link made again gets exactly its new elements', async () => {
  const fake = new FakeNft();
  const time = clock();
  const table = new NftTable(NS, fake, { now: time.now, spareMs: 5000, pruneMs: 5000 });
  const sources = (elements: string[]): NftProgram => ({
    family: 'inet',
    table: 'tenet',
    sets: [{ name: 'as_src4', type: 'ifname . ether_addr . ipv4_addr', interval: false, elements }],
    maps: [],
    chains: [],
    interfaces: {},
  });
  const a = 'tva . 02:aa:00:00:00:01 . 10.0.0.1';
  const b = 'tvb . 02:aa:00:00:00:02 . 10.0.0.2';
  table.contribute('antispoof', sources([a, b]));
  await table.apply({ pass: 'reconcile' });
  table.linkGone('tvb');
  table.contribute('antispoof', sources([a]));
  // The detach deletes nothing (a deletion would wait for a grace period).
  assert.equal(await table.apply({ pass: 'attach' }), undefined);
  assert.deepEqual(fake.table(NS)?.sets[0].elements, [a, b]);
  // The same link made again with another address: its old element goes, its new one comes.
  const b2 = 'tvb . 02:aa:00:00:00:02 . 10.0.0.9';
  table.contribute('antispoof', sources([a, b2]));
  await table.apply({ pass: 'attach' });
  assert.deepEqual(fake.table(NS)?.sets[0].elements.sort(), [a, b2].sort());
  // Gone again; pruned by a reconcile pass once expired.
  table.linkGone('tvb');
  table.contribute('antispoof', sources([a]));
  await table.apply({ pass: 'attach' });
  assert.deepEqual(fake.table(NS)?.sets[0].elements.sort(), [a, b2].sort());
  time.advance(6000);
  await table.apply({ pass: 'reconcile' });
  assert.deepEqual(fake.table(NS)?.sets[0].elements, [a]);
});

/** A policy-like fragment whose profile chain holds three rules: allow, deny, and a last catch-all. */
function threeRuleFragment(): NftProgram {
  const fragment = policyFragment({ va: 'i_a' });
  const rule = (comment: string, kind: 'accept' | 'drop'): NftChain['rules'][number] => ({
    matches: [{ kind: 'addr', family: 4, field: 'saddr', set: 'p_web_4' }],
    verdict: { kind },
    comment,
  });
  return {
    ...fragment,
    chains: fragment.chains.map((c) =>
      c.name === 'i_a'
        ? {
            name: 'i_a',
            rules: [
              rule('tenant:guard:ingress:0', 'accept'),
              rule('tenant:guard:ingress:1', 'drop'),
              { matches: [], verdict: { kind: 'drop' }, comment: 'tenant:isolation' },
            ],
          }
        : c,
    ),
  };
}

/** The table written, then edited by hand mid-chain; returns what a pass then does. */
async function driftCase(
  edit: (fake: FakeNft) => void,
): Promise<{ fake: FakeNft; table: NftTable; time: ReturnType<typeof clock>; wanted: NftChain }> {
  const fake = new FakeNft();
  const time = clock();
  const table = new NftTable(NS, fake, { now: time.now, readBackMs: 30000 });
  table.contribute('policy', threeRuleFragment());
  await table.apply({ pass: 'reconcile' });
  const wanted = fake.table(NS)!.chains.find((c) => c.name === 'i_a')!;
  assert.equal(await table.intact(), true);
  edit(fake);
  return { fake, table, time, wanted };
}

for (const [what, edit] of [
  ['deleted', (rules: NftChain['rules']) => [rules[1], rules[2]]],
  [
    "replaced by a hand-written one without the agent's comment",
    (rules: NftChain['rules']) => [{ matches: [], verdict: { kind: 'drop' } }, rules[1], rules[2]],
  ],
  [
    'inserted',
    (rules: NftChain['rules']) => [rules[0], { matches: [], verdict: { kind: 'drop' }, comment: 'by hand' }, rules[1], rules[2]],
  ],
] as const) {
  test(`a rule ${what} in the middle of a chain: the fingerprint stays, the rule sequence does not — the next pass rewrites just that chain`, async () => {
    const { fake, table, time, wanted } = await driftCase((f) =>
      f.editRules(NS, 'i_a', edit as (rules: NftChain['rules']) => NftChain['rules']),
    );
    const read = (await fake.read(NS))!.chains.find((c) => c.name === 'i_a')!;
    assert.equal(read.fingerprint, chainFingerprint(wanted), 'the kernel keeps the fingerprint');
    assert.notDeepEqual(fake.table(NS)!.chains.find((c) => c.name === 'i_a')!.rules, wanted.rules);
    // The watcher's check (a cheap read without set elements) sees it.
    assert.equal(await table.intact(), false);
    // So does the periodic read-back: the next reconcile pass that reads back writes i_a, and only i_a, again.
    time.advance(30000);
    const tx = await table.apply({ pass: 'reconcile' });
    assert.ok(tx && !tx.full);
    assert.deepEqual(
      tx.ops.map((op) => (op.op === 'setChainRules' ? `${op.op} ${op.chain.name}` : op.op)),
      ['setChainRules i_a'],
    );
    assert.deepEqual(fake.table(NS)!.chains.find((c) => c.name === 'i_a')!.rules, wanted.rules);
    assert.equal(await table.intact(), true);
    time.advance(30000);
    assert.equal(await table.apply({ pass: 'reconcile' }), undefined, 'repaired: nothing left to write');
  });
}

test('nothing drifted: read-backs and intact() rewrite nothing (multi-rule chains, comments shortened for the fingerprint)', async () => {
  const fake = new FakeNft();
  const time = clock();
  const table = new NftTable(NS, fake, { now: time.now, readBackMs: 30000 });
  const fragment = threeRuleFragment();
  // A last rule whose comment is longer than what is left beside the fingerprint, and a rule without a comment.
  fragment.chains = fragment.chains.map((c) =>
    c.name === 'i_a'
      ? {
          ...c,
          rules: [{ matches: [], verdict: { kind: 'continue' } }, ...c.rules.slice(0, 2), { ...c.rules[2], comment: 'x'.repeat(110) }],
        }
      : c,
  );
  table.contribute('policy', fragment);
  await table.apply({ pass: 'reconcile' });
  const sent = fake.transactions.length;
  for (let i = 0; i < 3; i++) {
    assert.equal(await table.intact(), true);
    time.advance(30000);
    assert.equal(await table.apply({ pass: 'reconcile' }), undefined);
  }
  assert.equal(fake.transactions.length, sent);
});
