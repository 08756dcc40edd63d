/**
 * The antispoof fragment from the host view (pure): one prerouting chain whose lookups key on
 * interface, MAC and source address, one element per endpoint and address (an attach changes
 * elements only), IPv6 link-local and :: with the endpoint's MAC, a counted drop of the rest, no
 * connection tracking, fail closed, bad values refused, and drop counters per endpoint.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ANTISPOOF_BASE, antispoofProgram, hostSpoofDrops, spoofDrops } from '../../src/core/dataplane/antispoof';
import type { EndpointView, HostView, TenantView } from '../../src/core/dataplane/host-view';
import { antispoofProducer } from '../../src/agent/antispoof';
import { RouterNamespace } from '../../src/agent/router-namespace';
import { FakeNft } from '../helpers/fake-nft';
import { diffPrograms } from '../../src/core/policy/diff';
import { elementChange } from '../../src/core/policy/elements';
import type { NftProgram } from '../../src/core/policy/program';
import { renderProgram, renderRule } from '../../src/core/policy/render';
import { mergeFragments } from '../../src/agent/nft/table';

const endpoint = (name: string, over: Partial<EndpointView> = {}): EndpointView =>
  ({
    name,
    tenant: 'acme',
    network: 'net',
    local: true,
    labels: {},
    mac: '02:AA:00:00:00:01',
    ipv4: '10.0.0.5',
    ipv6: 'fd00:0::5',
    ports: [],
    hostIfName: `tv${name}`,
    ...over,
  }) as EndpointView;

const elements = (program: NftProgram, set: string): string[] => program.sets.find((s) => s.name === set)!.elements;

test('one element per local endpoint and address; remote endpoints and the excluded one are left out', () => {
  const program = antispoofProgram(
    {
      endpoints: [
        endpoint('a'),
        endpoint('b', { mac: '02:aa:00:00:00:02', ipv4: '10.0.0.6', ipv6: undefined }),
        endpoint('r', { local: false, hostIfName: undefined }),
        endpoint('gone'),
      ],
    },
    'gone',
  );
  assert.deepEqual(elements(program, 'as_ifaces'), ['tva', 'tvb']);
  assert.deepEqual(elements(program, 'as_mac'), ['tva . 02:aa:00:00:00:01', 'tvb . 02:aa:00:00:00:02']);
  assert.deepEqual(elements(program, 'as_src4'), ['tva . 02:aa:00:00:00:01 . 10.0.0.5', 'tvb . 02:aa:00:00:00:02 . 10.0.0.6']);
  assert.deepEqual(elements(program, 'as_src6'), ['tva . 02:aa:00:00:00:01 . fd00::5']);
  assert.deepEqual(program.interfaces, { tva: 'a', tvb: 'b' });
  assert.ok(
    [...program.sets, ...program.chains].every((x) => x.name.startsWith('as_')),
    'the producer owns its names',
  );
  // A joining endpoint is element operations only: no chain, no rule.
  const grown = antispoofProgram({
    endpoints: [
      endpoint('a'),
      endpoint('b', { mac: '02:aa:00:00:00:02', ipv4: '10.0.0.6', ipv6: undefined }),
      endpoint('c', { ipv4: '10.0.0.7', ipv6: 'fd00::7' }),
    ],
  });
  const ops = diffPrograms(program, grown).ops;
  assert.deepEqual([...new Set(ops.map((op) => op.op))], ['addElements']);
});

test('the chain: not an endpoint interface passes; own IPv4/IPv6 with own MAC pass; link-local and :: with own MAC pass; the rest is counted and dropped', () => {
  const program = antispoofProgram({ endpoints: [endpoint('a')] });
  const chain = program.chains.find((c) => c.name === ANTISPOOF_BASE)!;
  // Fail closed: the policy is drop, so a hand flush leaves a hook that drops everything.
  assert.deepEqual(chain.base, { hook: 'prerouting', priority: -300, policy: 'drop' });
  assert.deepEqual(chain.rules.map(renderRule), [
    'iifname != @as_ifaces counter accept comment "not an endpoint interface"',
    'meta nfproto ipv4 iifname . ether saddr . ip saddr @as_src4 counter accept comment "own ipv4"',
    'meta nfproto ipv6 iifname . ether saddr . ip6 saddr @as_src6 counter accept comment "own ipv6"',
    'ip6 saddr fe80::/10 iifname . ether saddr @as_mac counter accept comment "own mac, link-local"',
    'ip6 saddr :: iifname . ether saddr @as_mac counter accept comment "own mac, link-local"',
    'counter update @as_drops { iifname } drop comment "antispoof"',
  ]);
  const whole = renderProgram(program);
  assert.match(whole, /add set inet tenet as_drops \{ type ifname; flags dynamic; counter; \}/);
  // No connection tracking anywhere: a namespace without policy hooks must not start tracking.
  assert.doesNotMatch(whole, /\bct\b/);
});

test('values that must not reach the kernel are refused', () => {
  assert.throws(() => antispoofProgram({ endpoints: [endpoint('a', { mac: '02:aa:00:00:00:01 accept' })] }), /no valid MAC/);
  assert.throws(() => antispoofProgram({ endpoints: [endpoint('a', { ipv4: '10.0.0.5 } accept {' })] }), /invalid address/);
  assert.throws(() => antispoofProgram({ endpoints: [endpoint('a', { ipv4: 'fd00::1' })] }), /invalid address/);
  assert.throws(() => antispoofProgram({ endpoints: [endpoint('a', { hostIfName: 'tv a;' })] }), /refusing interface name/);
});

test('the fragment merges with a policy fragment into one table without a name in common', () => {
  const policy: NftProgram = {
    family: 'inet',
    table: 'tenet',
    sets: [],
    maps: [{ name: 'ingress_dispatch', elements: {} }],
    chains: [{ name: 'ingress', base: { hook: 'forward', priority: 1, policy: 'accept' }, rules: [] }],
    interfaces: {},
  };
  const merged = mergeFragments(
    new Map<string, NftProgram>([
      ['policy', policy],
      ['antispoof', antispoofProgram({ endpoints: [endpoint('a')] })],
    ]),
  );
  assert.deepEqual(
    merged.chains
      .filter((c) => c.base)
      .map((c) => c.base!.hook)
      .sort(),
    ['forward', 'prerouting'],
  );
});

test("the dynamic drop set is never diffed: its elements are the packet path's", () => {
  const desired = antispoofProgram({ endpoints: [endpoint('a')] });
  const kernel = { ...desired, sets: desired.sets.map((s) => (s.dynamicCounters ? { ...s, elements: ['tva', 'tvold'] } : s)) };
  assert.deepEqual(diffPrograms(kernel, desired).ops, []);
});

test('drop counters per endpoint, and the host report', () => {
  const drops = spoofDrops(
    new Map([
      ['tva', { packets: 3, bytes: 200 }],
      ['tvb', { packets: 0, bytes: 0 }],
      ['tvold', { packets: 9, bytes: 900 }],
    ]),
    new Map([
      ['tva', 'a'],
      ['tvb', 'b'],
    ]),
  );
  assert.deepEqual([...drops], [['a', { packets: 3, bytes: 200 }]], "an interface no endpoint has any more is nobody's");
  assert.deepEqual(
    hostSpoofDrops(
      [
        { tenant: 'zed', drops },
        { tenant: 'acme', drops },
      ],
      1,
    ),
    [{ tenant: 'acme', endpoint: 'a', packets: 3, bytes: 200 }],
  );
});

test("the producer keeps each endpoint's entry: an unchanged tenant gives the same fragment, a join only its elements", () => {
  const ns = new RouterNamespace('tqunit-r-acme', new FakeNft());
  const view = {} as HostView;
  const tenant = (endpoints: EndpointView[]) => ({ endpoints }) as TenantView;
  const first = antispoofProducer.fragment(ns, view, tenant([endpoint('a'), endpoint('b', { ipv4: '10.0.0.6', ipv6: 'fd00::6' })]));
  assert.deepEqual(first, antispoofProgram({ endpoints: [endpoint('a'), endpoint('b', { ipv4: '10.0.0.6', ipv6: 'fd00::6' })] }));
  assert.equal(
    antispoofProducer.fragment(ns, view, tenant([endpoint('a'), endpoint('b', { ipv4: '10.0.0.6', ipv6: 'fd00::6' })])),
    first,
    'nothing changed: the same object',
  );
  const joined = antispoofProducer.fragment(
    ns,
    view,
    tenant([endpoint('a'), endpoint('b', { ipv4: '10.0.0.6', ipv6: 'fd00::6' }), endpoint('c', { ipv4: '10.0.0.7', ipv6: undefined })]),
  );
  assert.deepEqual(diffPrograms(first, joined).ops, [
    { op: 'addElements', set: 'as_ifaces', elements: ['tvc'] },
    { op: 'addElements', set: 'as_mac', elements: ['tvc . 02:aa:00:00:00:01'] },
    { op: 'addElements', set: 'as_src4', elements: ['tvc . 02:aa:00:00:00:01 . 10.0.0.7'] },
  ]);
  // The sets record what changed, so the table's diff costs the change, not every element (src/core/policy/elements.ts).
  assert.deepEqual(elementChange(elements(first, 'as_src4'), elements(joined, 'as_src4')), {
    added: ['tvc . 02:aa:00:00:00:01 . 10.0.0.7'],
    removed: [],
  });
  // The excluded (leaving) endpoint and a changed address.
  const left = antispoofProducer.fragment(
    ns,
    view,
    tenant([
      endpoint('a', { ipv4: '10.0.0.9' }),
      endpoint('b', { ipv4: '10.0.0.6', ipv6: 'fd00::6' }),
      endpoint('c', { ipv4: '10.0.0.7', ipv6: undefined }),
    ]),
    'b',
  );
  assert.deepEqual(
    left,
    antispoofProgram({ endpoints: [endpoint('a', { ipv4: '10.0.0.9' }), endpoint('c', { ipv4: '10.0.0.7', ipv6: undefined })] }),
  );
});
