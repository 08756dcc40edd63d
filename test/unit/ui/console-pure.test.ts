/**
 * The web console's pure parts under Node: API validation details placed on their YAML line, and
 * the topology's graph model (grouping, collapsing, search, services, what a tenant role is shown).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathSegments, placeErrors } from '../../../ui/src/field-errors';
import { buildGraph, COLLAPSE_AT, matchesSearch, type GraphOptions } from '../../../ui/src/topology-model';
import type { TenetObject } from '../../../src/core/model/object';

test('validation details land on the line of their field (or of its nearest parent), document by document', () => {
  assert.deepEqual(pathSegments('spec.ingress[0].ports[12].port'), ['spec', 'ingress', 0, 'ports', 12, 'port']);
  const text = [
    'kind: Network',
    'metadata:',
    '  name: web',
    'spec:',
    '  mtu: 100',
    '  subnets:',
    '    - cidr: 10.0.0.0/33',
    '---',
    'kind: Group',
    'spec:',
    '  selector: {}',
    '',
  ].join('\n');
  const placed = placeErrors(text, [
    'objects[0] (Network shop/web): spec.mtu: must be a whole number from 1280 to 9000 (got 100)',
    'objects[0] (Network shop/web): spec.subnets[0].cidr: not a CIDR',
    'objects[0] (Network shop/web): metadata.colour: unknown field; allowed here: name, tenant',
    'objects[1] (Group shop/g): spec.selector.matchLabels.app: invalid',
    'objects[1] (Group shop/g): appears more than once',
  ]);
  assert.deepEqual(
    placed.map((p) => [p.document, p.field, p.line]),
    [
      [0, 'spec.mtu', 5],
      [0, 'spec.subnets[0].cidr', 7],
      [0, 'metadata.colour', 2],
      [1, 'spec.selector.matchLabels.app', 11],
      [1, '', undefined],
    ],
  );
  assert.equal(placed[0].message, 'must be a whole number from 1280 to 9000 (got 100)');
  assert.equal(placed[4].message, 'appears more than once');
});

const V = 'tenet.dev/v1';
function endpoint(
  tenant: string,
  network: string,
  name: string,
  labels: Record<string, string>,
  host?: string,
  ipv4?: string,
): TenetObject {
  return {
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { tenant, name, labels },
    spec: { network, ...(host ? { host } : {}) },
    status: { ...(ipv4 ? { ipv4 } : {}) },
  } as TenetObject;
}
const objects: TenetObject[] = [
  { apiVersion: V, kind: 'Tenant', metadata: { name: 'shop' }, spec: {} } as TenetObject,
  {
    apiVersion: V,
    kind: 'Network',
    metadata: { tenant: 'shop', name: 'small' },
    spec: { subnets: [{ cidr: '10.0.0.0/24' }] },
  } as TenetObject,
  {
    apiVersion: V,
    kind: 'Network',
    metadata: { tenant: 'shop', name: 'big' },
    spec: { subnets: [{ cidr: '10.1.0.0/16' }] },
  } as TenetObject,
  endpoint('shop', 'small', 'web-1', { app: 'web' }, 'h1', '10.0.0.2'),
  ...Array.from({ length: COLLAPSE_AT + 1 }, (_, i) =>
    endpoint('shop', 'big', `b-${i}`, { app: 'batch', idx: String(i) }, 'h2', `10.1.0.${i + 2}`),
  ),
  {
    apiVersion: V,
    kind: 'Service',
    metadata: { tenant: 'shop', name: 'web' },
    spec: { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'batch'] }] }, ports: [{ port: 80 }] },
  } as TenetObject,
];
const options = (over: Partial<GraphOptions> = {}): GraphOptions => ({ grouping: 'network', toggled: new Map(), search: '', ...over });

test('the topology groups endpoints by tenant and network, collapses big groups, links hosts and services', () => {
  const graph = buildGraph(objects, options());
  const ids = new Set(graph.nodes.map((n) => n.id));
  assert.ok(ids.has('tn:shop') && ids.has('net:shop/small') && ids.has('ep:shop/web-1') && ids.has('host:h1') && ids.has('host:h2'));
  const big = graph.nodes.find((n) => n.id === 'net:shop/big')!;
  assert.deepEqual([big.collapsed, big.count, big.label], [true, COLLAPSE_AT + 1, 'big 10.1.0.0/16 (41)']);
  assert.equal(ids.has('ep:shop/b-0'), false, 'a collapsed group draws no endpoints');
  assert.equal(graph.nodes.find((n) => n.id === 'ep:shop/web-1')!.parent, 'net:shop/small');
  assert.deepEqual(graph.edges.map((e) => [e.source, e.target, e.label]).sort(), [
    ['net:shop/big', 'host:h2', '41'],
    ['net:shop/small', 'host:h1', '1'],
    ['svc:shop/web', 'net:shop/big', '41 backends'],
    ['svc:shop/web', 'net:shop/small', '1 backends'],
  ]);
  // The user's choice wins over size; a search match opens its group.
  assert.equal(
    buildGraph(objects, options({ toggled: new Map([['net:shop/big', false]]) })).nodes.filter((n) => n.type === 'endpoint').length,
    42,
  );
  const searched = buildGraph(objects, options({ search: 'idx=7' }));
  assert.equal(searched.nodes.find((n) => n.id === 'net:shop/big')!.collapsed, false);
  assert.deepEqual(
    searched.nodes.filter((n) => n.match).map((n) => n.id),
    ['ep:shop/b-7'],
  );
  // A tenant closed by the user: one node counting its endpoints, links of its hosts end on it.
  const closed = buildGraph(objects, options({ toggled: new Map([['tn:shop', true]]) }));
  assert.deepEqual(
    closed.nodes.map((n) => [n.id, n.label]),
    [
      ['tn:shop', 'shop (42)'],
      ['host:h1', 'h1'],
      ['host:h2', 'h2'],
    ],
  );
  assert.deepEqual(closed.edges.map((e) => [e.source, e.target, e.label]).sort(), [
    ['tn:shop', 'host:h1', '1'],
    ['tn:shop', 'host:h2', '41'],
  ]);
  // By host: hosts hold the endpoints.
  const byHost = buildGraph(objects, options({ grouping: 'host' }));
  assert.equal(byHost.nodes.find((n) => n.id === 'ep:shop/web-1')!.parent, 'host:h1');
  assert.equal(byHost.nodes.find((n) => n.id === 'host:h2')!.collapsed, true);
});

test('topology search: name, label, key or value, address; every word must match', () => {
  const e = endpoint('shop', 'small', 'web-1', { app: 'web', tier: 'front' }, 'h1', '10.0.0.2');
  for (const query of ['web-1', 'WEB', 'app=web', 'front', '10.0.0.2', '10.0.0', 'web tier=front', 'h1'])
    assert.equal(matchesSearch(e, query), true, query);
  for (const query of ['', 'db', 'app=front', 'web tier=back', '10.0.0.3']) assert.equal(matchesSearch(e, query), false, query);
});
