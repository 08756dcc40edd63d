/**
 * The read-back's view of a chain's rules (`nft -j list table`, as nft 1.0.6 prints it): the fingerprint
 * from the last rule's comment and every rule's comment in order; ruleSequenceDrifted compares them with
 * the chain as it was written (render.ts), finding what a mid-chain hand edit changes and nothing else.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseTableJson, ruleSequenceDrifted } from '../../src/core/policy/readback';
import { renderOps } from '../../src/core/policy/render';
import { chainFingerprint } from '../../src/core/policy/diff';
import type { NftChain } from '../../src/core/policy/program';

const written: NftChain = {
  name: 't_guard_ia',
  rules: [
    { matches: [], verdict: { kind: 'continue' } },
    {
      matches: [{ kind: 'addr', family: 4, field: 'saddr', set: 'p_web_4' }],
      verdict: { kind: 'accept' },
      comment: 'tenant:guard:ingress:0',
    },
    { matches: [], verdict: { kind: 'drop' }, comment: 'y'.repeat(110) },
  ],
};

/** The chain as the kernel lists it: `comments` for its rules, as render.ts wrote them (or as edited by hand). */
function listing(comments: readonly (string | undefined)[]): string {
  const rules = comments.map((comment, handle) => ({
    rule: {
      family: 'inet',
      table: 'tenet',
      chain: written.name,
      handle: handle + 10,
      expr: [{ accept: null }],
      ...(comment === undefined ? {} : { comment }),
    },
  }));
  return JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'tenet', handle: 1 } },
      { chain: { family: 'inet', table: 'tenet', name: written.name, handle: 2 } },
      ...rules,
    ],
  });
}

/** The comments render.ts writes for `written` (the last one shortened and carrying the fingerprint). */
function renderedComments(): (string | undefined)[] {
  const lines = renderOps({ family: 'inet', table: 'tenet' }, [{ op: 'setChainRules', chain: written }]).filter((l) =>
    l.startsWith('add rule'),
  );
  return lines.map((line) => /comment "([^"]*)"$/.exec(line)?.[1]);
}

test('a chain read back as written: the fingerprint it was written with, its comments in order, no drift', () => {
  const comments = renderedComments();
  assert.equal(comments.length, 3);
  assert.match(comments[2]!, / fp=[0-9a-f]{16}$/);
  const chain = parseTableJson(listing(comments))!.chains[0];
  assert.equal(chain.fingerprint, chainFingerprint(written));
  assert.deepEqual(chain.ruleComments, ['', 'tenant:guard:ingress:0', 'y'.repeat(96)]);
  assert.equal(ruleSequenceDrifted(chain, written), false);
});

test('a rule deleted, inserted or replaced mid-chain keeps the fingerprint but drifts; a forged rule with the same comment does not', () => {
  const [first, second, last] = renderedComments();
  const read = (comments: readonly (string | undefined)[]): NftChain => parseTableJson(listing(comments))!.chains[0];
  for (const [what, comments] of [
    ['deleted', [first, last]],
    ['inserted', [first, 'by hand', second, last]],
    ['replaced without a comment', [first, undefined, last]],
    ['replaced with another comment', [first, 'tenant:guard:ingress:1', last]],
  ] as const) {
    const chain = read(comments);
    assert.equal(chain.fingerprint, chainFingerprint(written), what);
    assert.equal(ruleSequenceDrifted(chain, written), true, what);
  }
  // What only `tenet trace` finds (docs/observability.md): same count, same comments.
  assert.equal(ruleSequenceDrifted(read([first, second, last]), written), false);
  // A chain the agent has no rules of (kept back from an earlier read) is not compared.
  assert.equal(ruleSequenceDrifted(read([first, last]), { ...written, rules: [], fingerprint: chainFingerprint(written) }), false);
});
