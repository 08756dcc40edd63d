/**
 * Which namespaces may run without forward hooks (and so without connection tracking): never one
 * where any packet of a local endpoint could be refused. Checked against the independent reference
 * semantics in random worlds, with policies thinned out so that both outcomes occur often.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileProgram } from '../../../src/core/policy/compile';
import { kernelProgram, restrictsNothing } from '../../../src/core/policy/unhooked';
import { probesOf, randomWorld, Reference } from '../../policy/world';

test('a host program restricts nothing only when the reference allows every packet of its local endpoints', () => {
  let unhooked = 0;
  let hooked = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const intent = randomWorld(seed);
    // Most random worlds restrict something everywhere; drop policies in some so that hosts without restrictions occur.
    if (seed % 3 === 0) intent.policies = [];
    if (seed % 2 === 0) intent.globalPolicies = [];
    const reference = new Reference(intent);
    for (const host of ['h1', 'h2']) {
      const program = compileProgram(intent, 't1', { host });
      if (!restrictsNothing(program)) {
        hooked++;
        assert.ok(kernelProgram(program) === program, 'a restricting program is kept whole');
        continue;
      }
      unhooked++;
      for (const probe of probesOf(intent)) {
        if (probe.from.spec.host === host)
          assert.equal(
            reference.judge('egress', probe),
            'allow',
            `seed ${seed} ${host}: egress of ${probe.from.metadata.name} is restricted`,
          );
        if (probe.to.spec.host === host)
          assert.equal(
            reference.judge('ingress', probe),
            'allow',
            `seed ${seed} ${host}: ingress of ${probe.to.metadata.name} is restricted`,
          );
      }
      const kernel = kernelProgram(program);
      assert.deepEqual(
        kernel.chains.filter((c) => c.base),
        [],
        'no hooks',
      );
      assert.deepEqual(kernel.maps, program.maps, 'dispatch maps stay, so joins remain element operations');
      assert.deepEqual(kernel.sets, program.sets);
    }
  }
  assert.ok(unhooked > 50 && hooked > 200, `unhooked ${unhooked}, hooked ${hooked}`);
});
