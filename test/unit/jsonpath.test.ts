import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonPath, JsonPathError } from '../../src/cli/jsonpath';

const list = {
  kind: 'List',
  items: [
    {
      metadata: { name: 'web', tenant: 'acme', labels: { 'app.kubernetes.io/name': 'w' } },
      spec: { mtu: 1400, subnets: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }] },
    },
    { metadata: { name: 'db', tenant: 'acme' }, spec: { subnets: [{ cidr: '10.1.0.0/24' }] } },
  ],
};

test('jsonpath: kubectl templates', () => {
  assert.equal(jsonPath('{.items[*].metadata.name}', list), 'web db');
  assert.equal(jsonPath('{.items[0].spec.subnets[1].cidr}', list), 'fd00::/64');
  assert.equal(jsonPath('{.items[-1].metadata.name}', list), 'db');
  assert.equal(jsonPath('{range .items[*]}{.metadata.tenant}/{.metadata.name}{"\\n"}{end}', list), 'acme/web\nacme/db\n');
  assert.equal(jsonPath('{.items[?(@.spec.mtu==1400)].metadata.name}', list), 'web');
  assert.equal(jsonPath('{.items[?(@.metadata.name!="web")].metadata.name}', list), 'db');
  assert.equal(jsonPath('{.items[?(@.spec.mtu)].metadata.name}', list), 'web');
  assert.equal(jsonPath("{.items[0].metadata.labels['app.kubernetes.io/name']}", list), 'w');
  assert.equal(jsonPath('{..cidr}', list), '10.0.0.0/24 fd00::/64 10.1.0.0/24');
  assert.equal(jsonPath('{.items[0:1].metadata.name}', list), 'web');
  assert.equal(jsonPath('{.items[0].spec}', list), '{"mtu":1400,"subnets":[{"cidr":"10.0.0.0/24"},{"cidr":"fd00::/64"}]}');
  assert.equal(jsonPath('name={.items[1].metadata.name}', list), 'name=db');
  assert.equal(jsonPath('{.kind}', list), 'List');
  assert.equal(jsonPath('{.nothing.here}', list), '');
  for (const bad of ['{.items[', '{range .items[*]}', '{end}', '{.items[?(@.a=~x)]}', '{.a'])
    assert.throws(() => jsonPath(bad, list), JsonPathError, bad);
});
