import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTenant, programForHost } from '../../../src/core/policy/compile';
import { diffPrograms } from '../../../src/core/policy/diff';
import { endpointJoin, endpointLeave, programForUpdate } from '../../../src/core/policy/incremental';
import type { PolicyIntent } from '../../../src/core/policy/intent';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import { Random, randomWorld } from '../../policy/world';

const HOST = 'h1';
const ifaceOf = (e: Endpoint) => (e.spec.host === HOST ? e.status?.hostIfName : undefined);

function fullProgram(intent: PolicyIntent, endpoints: Endpoint[]) {
  return programForHost(compileTenant({ ...intent, endpoints }, 't1'), { host: HOST, interfaceOf: ifaceOf });
}

test('joins and leaves applied one by one give the program a full recompile gives, in 300 random worlds', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const intent = randomWorld(seed);
    const r = new Random(seed * 7919);
    const all = intent.endpoints;
    let present = all.filter(() => r.chance(0.5));
    const compiled = compileTenant({ ...intent, endpoints: [...present] }, 't1');
    const original = programForHost(compiled, { host: HOST, interfaceOf: ifaceOf });
    const originalText = JSON.stringify(original);
    let program = programForUpdate(original);
    for (let step = 0; step < 12; step++) {
      const candidate = r.pick(all);
      const inside = present.find((e) => e.metadata.name === candidate.metadata.name);
      if (inside && r.chance(0.5)) {
        endpointLeave(compiled, program, inside.metadata.name, ifaceOf(inside));
        present = present.filter((e) => e !== inside);
      } else if (inside) {
        // Relabelled: leaves with its old labels, joins with the new ones.
        const relabelled: Endpoint = {
          ...inside,
          metadata: { ...inside.metadata, labels: { app: r.pick(['web', 'api', 'db']), ...(r.chance(0.5) ? { tier: 'back' } : {}) } },
        };
        endpointLeave(compiled, program, inside.metadata.name, ifaceOf(inside));
        endpointJoin(compiled, program, relabelled, ifaceOf(relabelled));
        present = present.map((e) => (e === inside ? relabelled : e));
      } else {
        endpointJoin(compiled, program, candidate, ifaceOf(candidate));
        present = [...present, candidate];
      }
      if (r.chance(0.3)) program = programForUpdate(program);
    }
    const expected = fullProgram(intent, present);
    const diff = diffPrograms(program, expected);
    assert.equal(diff.replace, false, `seed ${seed}`);
    assert.deepEqual(diff.ops, [], `seed ${seed}: incremental program differs from a recompile`);
    assert.deepEqual(program.interfaces, expected.interfaces, `seed ${seed}`);
    assert.equal(JSON.stringify(original), originalText, `seed ${seed}: the program copied from was changed`);
  }
});

test('a leaving endpoint deletes exactly its own elements and dispatch entries', () => {
  const intent = randomWorld(11);
  const local = intent.endpoints.find((e) => e.spec.host === HOST)!;
  const compiled = compileTenant(intent, 't1');
  const before = programForHost(compiled, { host: HOST, interfaceOf: ifaceOf });
  const program = programForUpdate(before);
  endpointLeave(compiled, program, local.metadata.name, ifaceOf(local));
  // What the kernel gets: the diff of the program before and after.
  const ops = diffPrograms(before, program).ops;
  const mapDeletes = ops.flatMap((op) => (op.op === 'deleteMapElements' ? op.keys : []));
  assert.deepEqual(mapDeletes, [ifaceOf(local), ifaceOf(local)]);
  assert.equal(
    ops.filter((op) => op.op === 'addElements' || op.op === 'addMapElements' || op.op === 'addChain' || op.op === 'setChainRules').length,
    0,
  );
  const addresses = new Set([...(local.spec.ips ?? [])]);
  for (const element of ops.flatMap((op) => (op.op === 'deleteElements' ? op.elements : [])))
    assert.ok(
      [...addresses].some((a) => element.startsWith(a)),
      element,
    );
  // Leaving twice, or an endpoint the tenant never had, changes nothing.
  const snapshot = programForUpdate(program);
  endpointLeave(compiled, program, local.metadata.name, ifaceOf(local));
  endpointLeave(compiled, program, 'never-here', 'vnever');
  assert.deepEqual(diffPrograms(snapshot, program).ops, []);
});
