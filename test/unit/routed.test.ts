/**
 * Routed networks, the pure part (src/core/egress/routed.ts and the routed rules of
 * src/core/egress/egress.ts): which networks are routed, the cluster-wide uniqueness rule, what a host
 * announces and routes, and the fragments: routed addresses in and out without NAT, nothing else in,
 * and the outside never posing as one of the tenant's own addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHostView } from '../../src/core/dataplane/host-view';
import type { TenetObject } from '../../src/core/model/object';
import type { Tenant } from '../../src/core/model/kinds/tenant';
import type { Network } from '../../src/core/model/kinds/network';
import { egressProgram, egressTransit, hostEgressProgram } from '../../src/core/egress/egress';
import { isRoutedNetwork, routedConflicts, routedSubnets } from '../../src/core/egress/routed';
import { renderProgram } from '../../src/core/policy/render';
import { ProgramWalker } from '../../src/core/policy/explain';

const V = 'tenet.dev/v1';

const tenant = (name: string, spec: Record<string, unknown>): Tenant =>
  ({ apiVersion: V, kind: 'Tenant', metadata: { name, uid: `u-${name}` }, spec, status: { vni: 4096 } }) as Tenant;
const network = (tenantName: string, name: string, cidrs: string[]): Network =>
  ({
    apiVersion: V,
    kind: 'Network',
    metadata: { name, tenant: tenantName },
    spec: { subnets: cidrs.map((cidr) => ({ cidr })) },
  }) as Network;

test('a network is routed when its tenant opted in and lists it, or lists none', () => {
  assert.equal(isRoutedNetwork(tenant('a', {}), 'front'), false);
  assert.equal(isRoutedNetwork(tenant('a', { routed: {} }), 'front'), true);
  assert.equal(isRoutedNetwork(tenant('a', { routed: { networks: ['back'] } }), 'front'), false);
  assert.equal(isRoutedNetwork(tenant('a', { routed: { networks: ['back'] } }), 'back'), true);
  const subnets = routedSubnets(tenant('a', { routed: { networks: ['front'] } }), [
    network('a', 'front', ['10.1.0.0/24', 'fd00:1::/64']),
    network('a', 'back', ['10.2.0.0/24']),
  ]);
  assert.deepEqual(
    subnets.map((s) => s.cidr),
    ['10.1.0.0/24', 'fd00:1::/64'],
  );
});

test('routed subnets are unique across tenants: an overlap names both sides, once per pair', () => {
  const subnets = [
    { tenant: 'blue', network: 'front', cidr: '10.1.0.0/24' },
    { tenant: 'green', network: 'web', cidr: '10.1.0.128/25' },
    { tenant: 'red', network: 'x', cidr: '10.9.0.0/24' },
  ];
  assert.deepEqual(routedConflicts(subnets, new Set(['red'])), []);
  assert.deepEqual(routedConflicts(subnets, new Set(['green'])), [
    'routed network "green/web" (10.1.0.128/25) overlaps routed network "blue/front" (10.1.0.0/24)',
  ]);
  assert.equal(routedConflicts(subnets, new Set(['green', 'blue'])).length, 1);
  // Within one tenant networks never overlap (the network check): not this rule's business.
  assert.deepEqual(routedConflicts([...subnets, { tenant: 'red', network: 'y', cidr: '10.9.0.0/16' }], new Set(['red'])), []);
});

function objects(routed: Record<string, unknown> | undefined): TenetObject[] {
  return [
    { ...tenant('blue', routed ? { routed } : {}) },
    network('blue', 'front', ['10.1.0.0/24']),
    network('blue', 'back', ['10.2.0.0/24']),
    ...[
      ['e1', 'front', 'h1', '10.1.0.5'],
      ['e2', 'front', 'h2', '10.1.0.6'],
      ['e3', 'back', 'h1', '10.2.0.5'],
    ].map(([name, net, host, ip]) => ({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name, tenant: 'blue' },
      spec: { network: net, host },
      status: { ipv4: ip },
    })),
    { apiVersion: V, kind: 'Host', metadata: { name: 'h1' }, spec: { underlayIP: '192.168.250.11' } },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h2' }, spec: { underlayIP: '192.168.250.12' } },
  ] as TenetObject[];
}

const transitOf = (routed: Record<string, unknown> | undefined) => {
  const v = buildHostView(objects(routed), { hostName: 'h1', netnsPrefix: 'tenet-' });
  return egressTransit(v, v.tenants[0]);
};

test('a host routes and announces only its own endpoints of routed networks; routed subnets are not NAT sources', () => {
  assert.equal(transitOf(undefined), undefined, 'not routed, no egress: no transit');
  const front = transitOf({ networks: ['front'] })!;
  assert.deepEqual(front.routed, ['10.1.0.0/24']);
  assert.deepEqual(front.routedEndpoints, ['10.1.0.5'], 'e2 is on h2, e3 in a network not routed');
  assert.deepEqual(front.sources, []);
  assert.equal(front.egress, false);
  const all = transitOf({})!;
  assert.deepEqual(all.routedEndpoints, ['10.1.0.5', '10.2.0.5']);
});

const walk = (program: ReturnType<typeof egressProgram>, packet: { src: string; dst: string; iif: string; oif: string }): boolean =>
  new ProgramWalker(program).run({ ...packet, protocol: 'tcp', port: 80 }).accepted;

test('routed fragments: routed addresses in and out (no NAT), nothing else in, no spoofing of own addresses from outside', () => {
  const transit = transitOf({ networks: ['front'] })!;
  const program = egressProgram(transit);
  const text = renderProgram(program);
  assert.match(text, /add element inet tenet eg_routed4 \{ 10\.1\.0\.0\/24 \}/);
  assert.match(text, /oifname "eg0" ip saddr @eg_routed4 counter accept/);
  // The no-NAT accept stands before the SNAT to the transit address in the NAT chain.
  const snat = text.slice(text.indexOf('add rule inet tenet eg_snat'));
  assert.ok(snat.includes('snat ip to '), snat);
  assert.ok(snat.indexOf('ip saddr @eg_routed4') < snat.indexOf('snat ip to '), snat);

  const veth = 'tv000000000001';
  assert.equal(walk(program, { src: '203.0.113.10', dst: '10.1.0.5', iif: 'eg0', oif: veth }), true, 'outside to a routed endpoint');
  assert.equal(walk(program, { src: '203.0.113.10', dst: '10.2.0.5', iif: 'eg0', oif: veth }), false, 'outside to a network not routed');
  assert.equal(walk(program, { src: '10.1.0.6', dst: '10.1.0.5', iif: 'eg0', oif: veth }), false, 'outside posing as blue/front');
  assert.equal(walk(program, { src: '10.2.0.9', dst: '10.1.0.5', iif: 'eg0', oif: veth }), false, 'outside posing as blue/back');
  assert.equal(walk(program, { src: '10.1.0.5', dst: '203.0.113.10', iif: veth, oif: 'eg0' }), true, 'routed endpoint out');
  assert.equal(walk(program, { src: '10.2.0.5', dst: '203.0.113.10', iif: veth, oif: 'eg0' }), false, 'not routed, no egress');

  const host = renderProgram(hostEgressProgram([transit]));
  assert.match(host, new RegExp(`add element inet tenet_egress routed \\{ ${transit.hostLink} \\. 10\\.1\\.0\\.5 \\}`));
  assert.match(host, new RegExp(`${transit.hostLink} \\. 10\\.1\\.0\\.5`));
  assert.match(host, /oifname \. ip daddr @routed counter accept/);
});

test('a host never announces or routes into a tenant a host underlay address, reserved space or a floating IP pool address', () => {
  const objs = [
    tenant('blue', { routed: {} }),
    network('blue', 'under', ['192.168.250.0/24']),
    network('blue', 'pool', ['198.18.0.0/24']),
    network('blue', 'fine', ['10.1.0.0/24']),
    ...[
      ['e1', 'under', '192.168.250.12'],
      ['e2', 'pool', '198.18.0.5'],
      ['e3', 'fine', '10.1.0.5'],
    ].map(([name, net, ip]) => ({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name, tenant: 'blue' },
      spec: { network: net, host: 'h1' },
      status: { ipv4: ip },
    })),
    { apiVersion: V, kind: 'Host', metadata: { name: 'h1' }, spec: { underlayIP: '192.168.250.11' } },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h2' }, spec: { underlayIP: '192.168.250.12' } },
    { apiVersion: V, kind: 'FloatingIPPool', metadata: { name: 'p' }, spec: { cidrs: ['198.18.0.0/24'] } },
  ] as TenetObject[];
  const v = buildHostView(objs, { hostName: 'h1', netnsPrefix: 'tenet-' });
  assert.deepEqual(egressTransit(v, v.tenants[0])!.routedEndpoints, ['10.1.0.5']);
});
