/**
 * The antispoof fragment from the host view (pure): one dispatch element and one chain per local
 * endpoint, drop rules for a foreign MAC and foreign IPv4/IPv6 sources (IPv6 link-local and `::`
 * aside), no connection tracking, bad values refused, and drop counters per endpoint.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ANTISPOOF_BASE, ANTISPOOF_MAP, antispoofProgram, antispoofRules, hostSpoofDrops, spoofDrops } from '../../src/core/dataplane/antispoof';
import type { EndpointView } from '../../src/core/dataplane/host-view';
import { renderProgram, renderRule } from '../../src/core/policy/render';
import { mergeFragments } from '../../src/agent/nft/table';
import type { NftProgram } from '../../src/core/policy/program';

const endpoint = (name: string, over: Partial<EndpointView> = {}): EndpointView =>
  ({ name, tenant: 'acme', network: 'net', local: true, labels: {}, mac: '02:aa:00:00:00:01', ipv4: '10.0.0.5', ipv6: 'fd00::5', ports: [], hostIfName: `v${name}`, ...over }) as EndpointView;

test('one dispatch element and one chain per local endpoint; remote endpoints and the excluded one are left out', () => {
  const program = antispoofProgram({ endpoints: [endpoint('a'), endpoint('b', { mac: '02:aa:00:00:00:02', ipv4: '10.0.0.6', ipv6: undefined }), endpoint('r', { local: false, hostIfName: undefined }), endpoint('gone')] }, 'gone');
  const base = program.chains.find((c) => c.name === ANTISPOOF_BASE)!;
  // Fail closed: a flushed table leaves the hook dropping everything; intact, the last rule accepts what no endpoint chain dropped.
  assert.deepEqual(base.base, { hook: 'prerouting', priority: -300, policy: 'drop' });
  assert.deepEqual(base.rules.map(renderRule), ['iifname vmap @as_dispatch', 'counter accept comment "no rule decided"']);
  const map = program.maps.find((m) => m.name === ANTISPOOF_MAP)!;
  assert.deepEqual(Object.keys(map.elements).sort(), ['va', 'vb']);
  assert.equal(program.chains.length, 3);
  assert.ok(program.chains.every((c) => c.name.startsWith('as_')), 'the producer owns its names');
  assert.ok(program.sets.every((s) => s.name.startsWith('as_')));
  // Another address makes another chain (chains are never changed once built).
  const moved = antispoofProgram({ endpoints: [endpoint('a', { ipv4: '10.0.0.9' })] });
  assert.notEqual(moved.maps[0].elements.va, map.elements.va);
});

test('the rules drop a foreign MAC and foreign sources; IPv6 link-local and :: pass; an endpoint without IPv4 sends no IPv4', () => {
  const text = antispoofRules(endpoint('a')).map(renderRule);
  assert.deepEqual(text, [
    'ether saddr != 02:aa:00:00:00:01 counter drop comment "antispoof:a"',
    'meta nfproto ipv4 ip saddr != 10.0.0.5 counter drop comment "antispoof:a"',
    'ip6 saddr fd00::5 counter accept comment "antispoof-ok"',
    'ip6 saddr fe80::/10 counter accept comment "antispoof-ok"',
    'ip6 saddr :: counter accept comment "antispoof-ok"',
    'meta nfproto ipv6 counter drop comment "antispoof:a"',
    // Explicit: the chain is reached by goto, and the base chain's policy is drop (fail closed).
    'counter accept comment "antispoof-ok"',
  ]);
  const v6only = antispoofRules(endpoint('b', { ipv4: undefined, ipv6: 'FD00:0:0::7' })).map(renderRule);
  assert.equal(v6only[1], 'meta nfproto ipv4 counter drop comment "antispoof:b"');
  assert.equal(v6only[2], 'ip6 saddr fd00::7 counter accept comment "antispoof-ok"');
  // No IPv6 address: only link-local and :: pass.
  const v4only = antispoofRules(endpoint('c', { ipv6: undefined })).map(renderRule);
  assert.deepEqual(v4only.slice(2), ['ip6 saddr fe80::/10 counter accept comment "antispoof-ok"', 'ip6 saddr :: counter accept comment "antispoof-ok"', 'meta nfproto ipv6 counter drop comment "antispoof:c"', 'counter accept comment "antispoof-ok"']);
  // No connection tracking anywhere: a namespace without policy hooks must not start tracking.
  const whole = renderProgram(antispoofProgram({ endpoints: [endpoint('a')] }));
  assert.doesNotMatch(whole, /\bct\b/);
});

test('values that must not reach the kernel are refused', () => {
  assert.throws(() => antispoofRules(endpoint('a', { mac: '02:aa:00:00:00:01 accept' })), /no valid MAC/);
  assert.throws(() => antispoofRules(endpoint('a', { ipv4: '10.0.0.5 } accept {' })), /invalid address/);
  assert.throws(() => antispoofRules(endpoint('a', { ipv4: 'fd00::1' })), /invalid address/);
  assert.throws(() => antispoofProgram({ endpoints: [endpoint('a', { hostIfName: 'v a;' })] }), /refusing interface name/);
});

test('the fragment merges with a policy fragment into one table without a name in common', () => {
  const policy: NftProgram = { family: 'inet', table: 'tenet', sets: [], maps: [{ name: 'ingress_dispatch', elements: {} }], chains: [{ name: 'ingress', base: { hook: 'forward', priority: 1, policy: 'accept' }, rules: [] }], interfaces: {} };
  const merged = mergeFragments(new Map<string, NftProgram>([['policy', policy], ['antispoof', antispoofProgram({ endpoints: [endpoint('a')] })]]));
  assert.deepEqual(merged.chains.filter((c) => c.base).map((c) => c.base!.hook).sort(), ['forward', 'prerouting']);
});

test('drop counters per endpoint, and the host report', () => {
  const drops = spoofDrops([
    { chain: 'as_1', comment: 'antispoof:a', packets: 2, bytes: 120 },
    { chain: 'as_1', comment: 'antispoof:a', packets: 1, bytes: 80 },
    { chain: 'as_2', comment: 'antispoof:b', packets: 0, bytes: 0 },
    { chain: 'i_x', comment: 'tenant:db:ingress:0', packets: 9, bytes: 900 },
  ]);
  assert.deepEqual([...drops], [['a', { packets: 3, bytes: 200 }]]);
  assert.deepEqual(hostSpoofDrops([{ tenant: 'zed', drops }, { tenant: 'acme', drops }], 1), [{ tenant: 'acme', endpoint: 'a', packets: 3, bytes: 200 }]);
});
