/** The pure validation of the object model: networks, selectors, labels, and error rendering of hostile input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkOverlapProblems, networkProblems, preview, validateObject } from '../../src/core/model/validate';
import { parseSelector, selectorMatches, selectorProblems, SelectorSyntaxError, type LabelSelector } from '../../src/core/model/selectors';
import type { Network, Subnet } from '../../src/core/model/kinds/network';
import { nestingBeyond } from '../../src/controller/json-body';

const V = 'tenet.dev/v1';

function network(subnets: Subnet[], name = 'n'): Network {
  return { apiVersion: V, kind: 'Network', metadata: { name, tenant: 't' }, spec: { subnets } };
}

function problemsOf(...subnets: Subnet[]): string[] {
  return networkProblems(network(subnets));
}

test('networkProblems: prefix bounds per family', () => {
  for (const cidr of ['10.0.0.0/8', '10.0.0.0/30', 'fd00::/48', 'fd00::/126']) assert.deepEqual(problemsOf({ cidr }), [], cidr);
  for (const [cidr, bounds] of [
    ['10.0.0.0/7', /IPv4 prefix must be between \/8 and \/30 \(got \/7\)/],
    ['10.0.0.0/31', /IPv4 prefix must be between \/8 and \/30 \(got \/31\)/],
    ['10.0.0.0/32', /got \/32/],
    ['fd00::/47', /IPv6 prefix must be between \/48 and \/126 \(got \/47\)/],
    ['fd00::/127', /got \/127/],
  ] as const) {
    const found = problemsOf({ cidr });
    assert.equal(found.length, 1, `${cidr}: ${found.join('; ')}`);
    assert.match(found[0], bounds);
  }
});

test('networkProblems: one subnet per family, no overlap inside the network, canonical CIDRs', () => {
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/24' }, { cidr: 'fd00:1::/64' }), []);
  const twoV4 = problemsOf({ cidr: '10.0.0.0/24' }, { cidr: '10.1.0.0/24' });
  assert.deepEqual(twoV4, ['spec.subnets[1].cidr: at most one IPv4 subnet per network']);
  const twoV6 = problemsOf({ cidr: 'fd00:1::/64' }, { cidr: 'fd00:2::/64' });
  assert.deepEqual(twoV6, ['spec.subnets[1].cidr: at most one IPv6 subnet per network']);
  const overlapping = problemsOf({ cidr: '10.0.0.0/24' }, { cidr: '10.0.0.0/25' });
  assert.ok(overlapping.includes('spec.subnets[1].cidr: overlaps 10.0.0.0/24 of the same network'), overlapping.join('; '));
  assert.deepEqual(problemsOf({ cidr: '10.0.0.5/24' }), [
    'spec.subnets[0].cidr: "10.0.0.5/24" has host bits set; did you mean 10.0.0.0/24?',
  ]);
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/33' }), ['spec.subnets[0].cidr: "10.0.0.0/33" is not a valid CIDR']);
  assert.deepEqual(problemsOf({ cidr: '300.0.0.0/24' }), ['spec.subnets[0].cidr: "300.0.0.0/24" is not a valid CIDR']);
});

test('networkProblems: gateways inside the subnet, not its network or broadcast address', () => {
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/24', gateway: '10.0.0.254' }), []);
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/24', gateway: '10.0.0.0' }), [
    'spec.subnets[0].gateway: 10.0.0.0 is the network or broadcast address of 10.0.0.0/24',
  ]);
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/24', gateway: '10.0.0.255' }), [
    'spec.subnets[0].gateway: 10.0.0.255 is the network or broadcast address of 10.0.0.0/24',
  ]);
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/24', gateway: '10.0.1.1' }), ['spec.subnets[0].gateway: 10.0.1.1 is outside 10.0.0.0/24']);
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/24', gateway: 'fd00::1' }), ['spec.subnets[0].gateway: fd00::1 is outside 10.0.0.0/24']);
  assert.deepEqual(problemsOf({ cidr: '10.0.0.0/24', gateway: '10.0.0' }), ['spec.subnets[0].gateway: "10.0.0" is not an IP address']);
  // IPv6 has no broadcast address: the last one is a fine gateway; the subnet-router anycast address is not.
  assert.deepEqual(problemsOf({ cidr: 'fd00:1::/120', gateway: 'fd00:1::ff' }), []);
  assert.deepEqual(problemsOf({ cidr: 'fd00:1::/120', gateway: 'fd00:1::' }), [
    'spec.subnets[0].gateway: fd00:1:: is the network or broadcast address of fd00:1::/120',
  ]);
});

test('networkProblems: reserved ranges lie inside the subnet and run forwards', () => {
  const at = (start: string, end: string) =>
    problemsOf({
      cidr: '10.0.0.0/24',
      reserved: [
        { start: '10.0.0.10', end: '10.0.0.20' },
        { start, end },
      ],
    });
  assert.deepEqual(at('10.0.0.30', '10.0.0.30'), []);
  assert.deepEqual(at('10.0.0.40', '10.0.0.30'), ['spec.subnets[0].reserved[1]: start 10.0.0.40 is after end 10.0.0.30']);
  assert.deepEqual(at('10.0.1.1', '10.0.1.5'), ['spec.subnets[0].reserved[1]: range must lie inside 10.0.0.0/24']);
  assert.deepEqual(at('10.0.0.250', '10.0.1.5'), ['spec.subnets[0].reserved[1]: range must lie inside 10.0.0.0/24']);
  assert.deepEqual(at('9.255.255.255', '10.0.0.5'), ['spec.subnets[0].reserved[1]: range must lie inside 10.0.0.0/24']);
  assert.deepEqual(at('10.0.0.1', 'x'), ['spec.subnets[0].reserved[1]: start and end must be IP addresses']);
  assert.deepEqual(problemsOf({ cidr: 'fd00:1::/64', reserved: [{ start: 'fd00:1::20', end: 'fd00:1::10' }] }), [
    'spec.subnets[0].reserved[0]: start fd00:1::20 is after end fd00:1::10',
  ]);
});

test('networkOverlapProblems names the other network and both subnets, and ignores the network itself', () => {
  const a = network([{ cidr: '10.0.0.0/16' }, { cidr: 'fd00:1::/64' }], 'a');
  const b = network([{ cidr: '10.0.5.0/24' }, { cidr: 'fd00:2::/64' }], 'b');
  assert.deepEqual(networkOverlapProblems(b, [a, b]), ['spec.subnets: 10.0.5.0/24 overlaps 10.0.0.0/16 of network "a" in the same tenant']);
  assert.deepEqual(networkOverlapProblems(network([{ cidr: '10.1.0.0/16' }], 'c'), [a, b]), []);
  assert.deepEqual(networkOverlapProblems(a, [a]), []);
});

test('selectorProblems: In/NotIn need values, Exists/DoesNotExist take none', () => {
  const check = (matchExpressions: LabelSelector['matchExpressions']) => selectorProblems({ matchExpressions }, 'spec.selector');
  assert.deepEqual(
    check([
      { key: 'a', operator: 'In', values: ['x'] },
      { key: 'b', operator: 'NotIn', values: ['y', 'z'] },
      { key: 'c', operator: 'Exists' },
      { key: 'd', operator: 'DoesNotExist', values: [] },
    ]),
    [],
  );
  assert.deepEqual(check([{ key: 'a', operator: 'In' }]), [
    'spec.selector.matchExpressions[0].values: operator In needs at least one value',
  ]);
  assert.deepEqual(check([{ key: 'a', operator: 'NotIn', values: [] }]), [
    'spec.selector.matchExpressions[0].values: operator NotIn needs at least one value',
  ]);
  assert.deepEqual(check([{ key: 'a', operator: 'Exists', values: ['x'] }]), [
    'spec.selector.matchExpressions[0].values: operator Exists takes no values',
  ]);
  assert.deepEqual(
    check([
      { key: 'a', operator: 'In', values: ['x'] },
      { key: 'b', operator: 'DoesNotExist', values: ['x'] },
    ]),
    ['spec.selector.matchExpressions[1].values: operator DoesNotExist takes no values'],
  );
  // Through the object validation, with an operator no schema knows.
  const group = (selector: unknown) =>
    validateObject({ apiVersion: V, kind: 'Group', metadata: { name: 'g', tenant: 't' }, spec: { selector } });
  assert.equal(group({ matchExpressions: [{ key: 'a', operator: 'Maybe', values: ['x'] }] }).ok, false);
  assert.equal(group({ matchExpressions: [{ key: 'a', operator: 'In' }] }).ok, false);
  assert.equal(group({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] }).ok, true);
});

test('label keys and values follow the Kubernetes rules in labels, matchLabels and matchExpressions', () => {
  const tenant = (labels: unknown) => validateObject({ apiVersion: V, kind: 'Tenant', metadata: { name: 't', labels }, spec: {} });
  const group = (selector: unknown) =>
    validateObject({ apiVersion: V, kind: 'Group', metadata: { name: 'g', tenant: 't' }, spec: { selector } });
  const goodKeys = [
    'a',
    'A.b_c-9',
    'k'.repeat(63),
    'example.com/app',
    'a-b.c/d',
    `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}/n`,
  ];
  const badKeys = [
    'a;b $(reboot)',
    'ключ',
    'k k',
    '',
    '_a',
    'a_',
    'k'.repeat(64),
    'Example.com/a',
    'example..com/a',
    'example.com/',
    '/a',
    'a/b/c',
    `${'p'.repeat(64)}.com/a`,
    `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(62)}/n`,
  ];
  const goodValues = ['', 'v', 'V.a_l-9', 'v'.repeat(63)];
  const badValues = ['v;v', '$(reboot)', 'ü', 'a b', '-a', 'a-', '.a', 'v'.repeat(64), 'a\nb'];
  for (const key of goodKeys) {
    assert.ok(tenant({ [key]: 'x' }).ok, `label key ${key}: ${tenant({ [key]: 'x' }).problems.join('; ')}`);
    assert.ok(group({ matchLabels: { [key]: 'x' } }).ok, `matchLabels key ${key}`);
    assert.ok(group({ matchExpressions: [{ key, operator: 'Exists' }] }).ok, `matchExpressions key ${key}`);
  }
  for (const key of badKeys) {
    assert.equal(tenant({ [key]: 'x' }).ok, false, `label key ${JSON.stringify(key)}`);
    assert.equal(group({ matchLabels: { [key]: 'x' } }).ok, false, `matchLabels key ${JSON.stringify(key)}`);
    assert.equal(group({ matchExpressions: [{ key, operator: 'Exists' }] }).ok, false, `matchExpressions key ${JSON.stringify(key)}`);
  }
  for (const value of goodValues) {
    assert.ok(tenant({ k: value }).ok, `label value ${value}`);
    assert.ok(group({ matchLabels: { k: value } }).ok, `matchLabels value ${value}`);
    assert.ok(group({ matchExpressions: [{ key: 'k', operator: 'In', values: [value] }] }).ok, `matchExpressions value ${value}`);
  }
  for (const value of badValues) {
    assert.equal(tenant({ k: value }).ok, false, `label value ${JSON.stringify(value)}`);
    assert.equal(group({ matchLabels: { k: value } }).ok, false, `matchLabels value ${JSON.stringify(value)}`);
    assert.equal(
      group({ matchExpressions: [{ key: 'k', operator: 'NotIn', values: ['ok', value] }] }).ok,
      false,
      `matchExpressions value ${JSON.stringify(value)}`,
    );
  }
  const refused = tenant({ 'a;b': 'x' });
  assert.match(refused.problems.join('; '), /metadata\.labels/);
});

test("annotation keys: at most 253 characters of a safe charset; the Docker driver's keys pass", () => {
  const tenant = (annotations: unknown) =>
    validateObject({ apiVersion: V, kind: 'Tenant', metadata: { name: 't', annotations }, spec: {} });
  for (const key of [
    'k8s.tenet.dev/source',
    `docker.tenet.dev/network.${'a'.repeat(64)}`,
    'docker.tenet.dev/pool.0123abcd',
    'x',
    'a'.repeat(253),
  ]) {
    assert.ok(tenant({ [key]: 'v' }).ok, `annotation key ${key}: ${tenant({ [key]: 'v' }).problems.join('; ')}`);
  }
  for (const key of ['', 'a'.repeat(254), 'a;b', '$(reboot)', 'a b', 'ключ', '/a', 'a/', '-a']) {
    assert.equal(tenant({ [key]: 'v' }).ok, false, `annotation key ${JSON.stringify(key)}`);
  }
});

test('selectorMatches: the Kubernetes meaning of each operator', () => {
  const labels = { app: 'web', tier: 'front', empty: '' };
  const m = (selector: LabelSelector, on: Record<string, string> = labels) => selectorMatches(selector, on);
  assert.equal(m({}), true, 'the empty selector matches everything');
  assert.equal(m({}, {}), true);
  assert.equal(m({ matchLabels: { app: 'web' } }), true);
  assert.equal(m({ matchLabels: { app: 'db' } }), false);
  assert.equal(m({ matchLabels: { empty: '' } }), true);
  assert.equal(m({ matchLabels: { missing: '' } }), false, 'an empty value is not a missing label');
  assert.equal(m({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }), true, 'NotIn matches a missing key');
  assert.equal(m({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web', 'db'] }] }), false);
  assert.equal(m({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }), true);
  assert.equal(m({ matchExpressions: [{ key: 'missing', operator: 'In', values: ['x'] }] }), false, 'In never matches a missing key');
  assert.equal(m({ matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }), true);
  assert.equal(m({ matchExpressions: [{ key: 'missing', operator: 'DoesNotExist' }] }), true);
  assert.equal(m({ matchExpressions: [{ key: 'empty', operator: 'DoesNotExist' }] }), false);
  assert.equal(m({ matchExpressions: [{ key: 'empty', operator: 'Exists' }] }), true);
  assert.equal(m({ matchExpressions: [{ key: 'missing', operator: 'Exists' }] }), false);
  // matchLabels and every expression are ANDed.
  assert.equal(m({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }), false);
  assert.equal(
    m({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'Exists' },
        { key: 'x', operator: 'DoesNotExist' },
      ],
    }),
    true,
  );
  // Inherited properties are not labels.
  assert.equal(m({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }, {}), true);
  assert.equal(m({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {}), false);
  assert.equal(m({ matchLabels: { constructor: 'x' } }, {}), false);
});

test('parseSelector: the text form, and repeated keys are ANDed (not overwritten)', () => {
  assert.deepEqual(parseSelector('a=b, c!=d,e in (x, y),f notin (z),g,!h,i==j'), {
    matchLabels: { a: 'b', i: 'j' },
    matchExpressions: [
      { key: 'c', operator: 'NotIn', values: ['d'] },
      { key: 'e', operator: 'In', values: ['x', 'y'] },
      { key: 'f', operator: 'NotIn', values: ['z'] },
      { key: 'g', operator: 'Exists' },
      { key: 'h', operator: 'DoesNotExist' },
    ],
  });
  assert.deepEqual(parseSelector('  '), { matchLabels: {}, matchExpressions: [] });
  assert.deepEqual(parseSelector('example.com/app=web,a='), { matchLabels: { 'example.com/app': 'web', a: '' }, matchExpressions: [] });

  const conflicting = parseSelector('app=web,app=db');
  assert.equal(selectorMatches(conflicting, { app: 'web' }), false, 'a second value narrows: app=web AND app=db');
  assert.equal(selectorMatches(conflicting, { app: 'db' }), false);
  assert.deepEqual(conflicting, { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] });
  const repeated = parseSelector('app=web,app=web');
  assert.deepEqual(repeated, { matchLabels: { app: 'web' }, matchExpressions: [] });
  assert.equal(selectorMatches(repeated, { app: 'web' }), true);
  assert.equal(selectorMatches(parseSelector('app=web,app!=web'), { app: 'web' }), false);
  assert.equal(selectorMatches(parseSelector('app in (a,b),app notin (b)'), { app: 'a' }), true);
  assert.equal(selectorMatches(parseSelector('app in (a,b),app notin (b)'), { app: 'b' }), false);
  assert.equal(selectorMatches(parseSelector('!app'), {}), true);
  assert.equal(selectorMatches(parseSelector('app notin (x)'), {}), true);
  const inherited = parseSelector('constructor=x');
  assert.equal(selectorMatches(inherited, {}), false);
  assert.equal(selectorMatches(inherited, { constructor: 'x' }), true);

  for (const text of [
    'a in (b',
    '=b',
    'a=b=c',
    '!',
    'a b',
    'ключ=v',
    `a=${'v'.repeat(64)}`,
    `${'k'.repeat(64)}=v`,
    'a=b;c',
    'a=-b',
    'a in (b,c;d)',
    'a/b/c=d',
    'a.=b',
  ]) {
    assert.throws(() => parseSelector(text), SelectorSyntaxError, text);
  }
});

test('hostile input cannot make validation throw: deep nesting, bigint, cycles', () => {
  let deep: unknown = [];
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const result = validateObject({ apiVersion: V, kind: 'Tenant', metadata: { name: 't' }, spec: { x: deep } });
  assert.equal(result.ok, false);
  assert.match(result.problems.join('; '), /^spec/);
  assert.equal(preview(deep), '[...]');
  assert.equal(preview(10n), 'bigint');
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.equal(preview(cycle), '{...}');
  assert.equal(preview(undefined), 'undefined');
  assert.equal(preview('x'.repeat(100)), `"${'x'.repeat(56)}...`);
});

test('nestingBeyond finds JSON nested deeper than the limit and ignores brackets inside strings', () => {
  assert.equal(nestingBeyond('[[[]]]', 3), undefined);
  assert.equal(nestingBeyond('[[[[]]]]', 3), 4);
  assert.equal(nestingBeyond('{"a":{"b":{"c":{}}}}', 3), 4);
  assert.equal(nestingBeyond('{"a":"[[[[[[[[{{{{{{"}', 2), undefined);
  assert.equal(nestingBeyond('{"a":"\\"[[[[[[[["}', 2), undefined, 'an escaped quote does not end the string');
  assert.equal(nestingBeyond('{"a":"\\\\"}', 1), undefined, 'an escaped backslash does');
  assert.equal(nestingBeyond('[' + '[]'.repeat(10_000) + ']', 2), undefined, 'siblings do not add up');
  assert.equal(nestingBeyond('['.repeat(200_000)), 65);
});
