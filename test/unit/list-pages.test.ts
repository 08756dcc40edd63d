import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListPages } from '../../src/controller/list-pages';
import { parseFieldSelector, fieldsMatch, FieldSelectorError } from '../../src/core/model/field-selectors';
import type { TenetObject } from '../../src/core/model/object';

const objects = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => ({ apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: `t${i}` }, spec: {} }) as TenetObject,
  );

test('a continue token expires after the TTL (410)', () => {
  let now = 0;
  const pages = new ListPages(1000, () => now);
  const first = pages.first(objects(3), 7, 1, 'a', 'q');
  assert.equal(first.items.length, 1);
  now = 1001;
  assert.throws(
    () => pages.next(first.continueToken!, 1, 'a', 'q'),
    (e: { status?: number }) => e.status === 410,
  );
});

test('field selectors parse the supported subset only', () => {
  const req = parseFieldSelector('metadata.name=a,metadata.tenant!=b');
  assert.equal(fieldsMatch(req, { name: 'a', tenant: 'c' }), true);
  assert.equal(fieldsMatch(req, { name: 'a', tenant: 'b' }), false);
  assert.throws(() => parseFieldSelector('status.phase=ready'), FieldSelectorError);
  assert.throws(() => parseFieldSelector('metadata.name'), FieldSelectorError);
});
