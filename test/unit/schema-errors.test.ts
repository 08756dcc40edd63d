import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from '../../src/core/model/validate';
import { KINDS } from '../../src/core/model/registry';

test('schema problems are worded from the schema, one per path, with semantic problems in the same pass', () => {
  const result = validateObject({
    apiVersion: 'tenet.dev/v1',
    kind: 'Network',
    metadata: { name: 'n', tenant: 'a' },
    spec: { mtu: 'big', subnets: [{ cidr: '10.0.0.5/24', gateway: '10.1.0.1' }, { cidr: 7 }] },
  });
  assert.deepEqual(result.problems.sort(), [
    'spec.mtu: must be a whole number from 1280 to 9000 (got "big")',
    'spec.subnets[0].cidr: "10.0.0.5/24" has host bits set; did you mean 10.0.0.0/24?',
    'spec.subnets[0].gateway: 10.1.0.1 is outside 10.0.0.5/24',
    'spec.subnets[1].cidr: must be a string (matching ^[0-9a-fA-F:.]+/[0-9]{1,3}$, 4 to 49 characters) (got 7)',
  ]);
  const missing = validateObject({ apiVersion: 'tenet.dev/v1', kind: 'Group', metadata: { name: 'g', tenant: 'a' }, spec: {} });
  assert.deepEqual(missing.problems, ['spec.selector: required: a mapping with fields matchLabels, matchExpressions']);
});

test('hostile shapes never make validation throw, and no TypeBox wording leaks', () => {
  const shapes: unknown[] = [null, 1, 'x', [], {}, { a: [] }, [[[]]], { spec: null }, -1, true, { cidr: {} }];
  for (const info of KINDS) {
    for (const spec of shapes) {
      for (const metadata of [{ name: 'ok', tenant: 't' }, { name: 5 }, null, { name: 'ok', labels: [] }]) {
        const result = validateObject({ apiVersion: 'tenet.dev/v1', kind: info.kind, metadata, spec });
        assert.equal(result.ok, result.problems.length === 0);
        for (const problem of result.problems) assert.doesNotMatch(problem, /Expected|union value|Unexpected property/, problem);
      }
    }
  }
});
