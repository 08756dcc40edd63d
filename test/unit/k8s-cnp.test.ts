/**
 * ClusterNetworkPolicy (v1alpha2) import: the upstream fields map onto GlobalPolicies that pass
 * Tenet's own validation; what the upstream CRD refuses (its bounds and CEL rules) is refused here,
 * naming the field and the reason, with nothing of the object imported; `nodes` peers select Hosts
 * by their labels; `domainNames` peers are refused as not supported yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importKubernetes } from '../../src/core/k8s/import';
import { validateObject } from '../../src/core/model/validate';
import { policyProblems } from '../../src/core/policy/validate';
import { FlowJudge } from '../../src/core/policy/flow';
import { hostPeers, type PolicyIntent } from '../../src/core/policy/intent';
import { buildHostView } from '../../src/core/dataplane/host-view';
import { policyIntentKey } from '../../src/core/policy/from-view';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import type { Host } from '../../src/core/model/kinds/host';
import type { Scope } from '../../src/core/model/kinds/scope';
import type { TenetObject } from '../../src/core/model/object';
import { MANIFESTS } from '../conformance/cnp-upstream';

const V = 'tenet.dev/v1' as const;
type Spec = Record<string, unknown>;
const cnp = (name: string, spec: Spec) => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  kind: 'ClusterNetworkPolicy',
  metadata: { name },
  spec,
});
const base = (over: Spec = {}): Spec => ({ tier: 'Admin', priority: 10, subject: { namespaces: {} }, ...over });
const ns = (name: string) => ({ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': name } } });

function problemsOf(spec: Spec): string[] {
  const result = importKubernetes([cnp('p', spec)], 'shop');
  assert.equal(result.globalPolicies.length, 0, 'an object with problems is not imported');
  return result.problems;
}

test('every field of a ClusterNetworkPolicy maps onto a GlobalPolicy of its tier, restricted to the tenant', () => {
  const result = importKubernetes(
    [
      cnp('guard', {
        tier: 'Admin',
        priority: 7,
        subject: {
          pods: {
            namespaceSelector: { matchLabels: { env: 'prod' } },
            podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
          },
        },
        ingress: [
          {
            name: 'from dev!',
            action: 'Deny',
            from: [ns('dev'), { pods: { podSelector: { matchLabels: { app: 'x' } } } }],
            protocols: [{ tcp: { destinationPort: { number: 80 } } }, { destinationNamedPort: 'dns' }],
          },
        ],
        egress: [
          {
            action: 'Accept',
            to: [{ nodes: { matchLabels: { 'kubernetes.io/os': 'linux' } } }],
            protocols: [{ udp: { destinationPort: { range: { start: 30000, end: 32767 } } } }],
          },
          { action: 'Pass', to: [{ networks: ['10.0.0.1/8', '::/0'] }], protocols: [{ sctp: { destinationPort: { number: 9003 } } }] },
        ],
      }),
      cnp('floor', {
        tier: 'Baseline',
        priority: 0,
        subject: { namespaces: {} },
        egress: [{ action: 'Deny', to: [{ pods: { namespaceSelector: {}, podSelector: {} } }] }],
      }),
    ],
    'shop',
  );
  assert.deepEqual(result.problems, []);
  const [guard, floor] = result.globalPolicies;
  assert.deepEqual(guard.spec, {
    tier: 'admin',
    priority: 7,
    appliesTo: {
      tenants: ['shop'],
      scopeSelector: { matchLabels: { env: 'prod' } },
      selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
    },
    ingress: [
      {
        action: 'deny',
        name: 'from dev',
        from: [
          { scopeSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } } },
          { scopeSelector: {}, selector: { matchLabels: { app: 'x' } } },
        ],
        ports: [{ protocol: 'TCP', port: 80 }, { port: 'dns' }],
      },
    ],
    egress: [
      {
        action: 'allow',
        to: [{ hostSelector: { matchLabels: { 'kubernetes.io/os': 'linux' } } }],
        ports: [{ protocol: 'UDP', port: 30000, endPort: 32767 }],
      },
      { action: 'pass', to: [{ cidr: '10.0.0.0/8' }, { cidr: '::/0' }], ports: [{ protocol: 'SCTP', port: 9003 }] },
    ],
  });
  assert.equal(guard.metadata.name, 'shop-cnp-guard');
  assert.equal(guard.metadata.annotations?.['k8s.tenet.dev/source'], 'ClusterNetworkPolicy guard');
  assert.equal(floor.spec.tier, 'baseline');
  assert.equal(floor.spec.priority, 0);
  assert.equal(result.names['ClusterNetworkPolicy floor'], 'shop-cnp-floor');
  for (const policy of result.globalPolicies) {
    assert.deepEqual(validateObject(policy).problems, [], policy.metadata.name);
    assert.deepEqual(policyProblems('GlobalPolicy', policy.spec), [], policy.metadata.name);
  }
});

test('every ClusterNetworkPolicy of the upstream conformance manifests imports and passes Tenet validation', () => {
  let count = 0;
  for (const [file, objects] of Object.entries(MANIFESTS)) {
    const result = importKubernetes(objects, 'k8s');
    assert.deepEqual(result.problems, [], file);
    for (const policy of result.globalPolicies) {
      count++;
      assert.deepEqual(validateObject(policy).problems, [], `${file}: ${policy.metadata.name}`);
      assert.deepEqual(policyProblems('GlobalPolicy', policy.spec), [], `${file}: ${policy.metadata.name}`);
    }
  }
  assert.ok(count >= 20, `${count} policies`);
});

test('what the upstream CRD refuses is refused, naming the field and the reason', () => {
  const cases: Array<[string, Spec, RegExp]> = [
    ['tier missing', { priority: 1, subject: { namespaces: {} } }, /spec\.tier: is required \(one of Admin, Baseline\)/],
    ['tier not in the enum', base({ tier: 'Tenant' }), /spec\.tier: "Tenant" is not \(one of Admin, Baseline\)/],
    ['priority missing', { tier: 'Admin', subject: { namespaces: {} } }, /spec\.priority: is required \(an integer from 0 to 1000\)/],
    ['priority above 1000', base({ priority: 1001 }), /spec\.priority: 1001 is not allowed/],
    ['priority negative', base({ priority: -1 }), /spec\.priority: -1 is not allowed/],
    ['subject missing', { tier: 'Admin', priority: 1 }, /spec\.subject: is required/],
    [
      'subject with both',
      base({ subject: { namespaces: {}, pods: { podSelector: {} } } }),
      /spec\.subject: exactly one of namespaces, pods must be set \(found namespaces, pods\)/,
    ],
    ['subject empty', base({ subject: {} }), /spec\.subject: exactly one of namespaces, pods must be set \(found none\)/],
    ['pods without podSelector', base({ subject: { pods: { namespaceSelector: {} } } }), /spec\.subject\.pods\.podSelector: is required/],
    [
      'action not in the enum',
      base({ ingress: [{ action: 'Allow', from: [ns('a')] }] }),
      /spec\.ingress\[0\]\.action: "Allow" is not one of Accept, Deny, Pass/,
    ],
    ['from missing', base({ ingress: [{ action: 'Deny' }] }), /spec\.ingress\[0\]\.from: is required/],
    ['from empty', base({ ingress: [{ action: 'Deny', from: [] }] }), /spec\.ingress\[0\]\.from: needs at least 1 item/],
    [
      'an empty peer (fail closed upstream)',
      base({ egress: [{ action: 'Deny', to: [{}] }] }),
      /spec\.egress\[0\]\.to\[0\]: exactly one of namespaces, pods, nodes, networks, domainNames must be set \(found none\)/,
    ],
    [
      'a peer with two fields',
      base({ egress: [{ action: 'Deny', to: [{ namespaces: {}, networks: ['10.0.0.0/8'] }] }] }),
      /exactly one of .* \(found namespaces, networks\)/,
    ],
    [
      'networks in an ingress peer',
      base({ ingress: [{ action: 'Deny', from: [{ networks: ['10.0.0.0/8'] }] }] }),
      /spec\.ingress\[0\]\.from\[0\]: unknown field "networks" \(known: namespaces, pods\)/,
    ],
    [
      '26 rules',
      base({ egress: Array.from({ length: 26 }, () => ({ action: 'Deny', to: [ns('a')] })) }),
      /spec\.egress: at most 25 items \(found 26\)/,
    ],
    [
      '26 peers',
      base({ egress: [{ action: 'Deny', to: Array.from({ length: 26 }, () => ns('a')) }] }),
      /spec\.egress\[0\]\.to: at most 25 items/,
    ],
    [
      'rule name over 100',
      base({ egress: [{ name: 'x'.repeat(101), action: 'Deny', to: [ns('a')] }] }),
      /spec\.egress\[0\]\.name: must be a string of at most 100 characters/,
    ],
    [
      'bad CIDR',
      base({ egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/33'] }] }] }),
      /spec\.egress\[0\]\.to\[0\]\.networks\[0\]: Invalid CIDR format provided/,
    ],
    [
      'duplicate CIDR',
      base({ egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/8', '10.0.0.0/8'] }] }] }),
      /networks\[1\]: duplicate value "10\.0\.0\.0\/8"/,
    ],
    [
      'port 0',
      base({ egress: [{ action: 'Deny', to: [ns('a')], protocols: [{ tcp: { destinationPort: { number: 0 } } }] }] }),
      /protocols\[0\]\.tcp\.destinationPort\.number: must be an integer from 1 to 65535/,
    ],
    [
      'range start not below end',
      base({ egress: [{ action: 'Deny', to: [ns('a')], protocols: [{ udp: { destinationPort: { range: { start: 90, end: 90 } } } }] }] }),
      /destinationPort\.range: Start port must be less than End port \(90 >= 90\)/,
    ],
    [
      'number and range',
      base({
        egress: [{ action: 'Deny', to: [ns('a')], protocols: [{ tcp: { destinationPort: { number: 80, range: { start: 1, end: 2 } } } }] }],
      }),
      /destinationPort: exactly one of number, range must be set/,
    ],
    [
      'tcp without destinationPort',
      base({ egress: [{ action: 'Deny', to: [ns('a')], protocols: [{ tcp: {} }] }] }),
      /protocols\[0\]\.tcp: exactly one of destinationPort must be set \(found none\)/,
    ],
    [
      'two protocol fields',
      base({
        egress: [{ action: 'Deny', to: [ns('a')], protocols: [{ tcp: { destinationPort: { number: 1 } }, destinationNamedPort: 'web' }] }],
      }),
      /protocols\[0\]: exactly one of tcp, udp, sctp, destinationNamedPort must be set/,
    ],
    [
      'empty protocols',
      base({ egress: [{ action: 'Deny', to: [ns('a')], protocols: [] }] }),
      /spec\.egress\[0\]\.protocols: needs at least 1 item/,
    ],
    [
      'named port with a networks peer (the egress CEL rule)',
      base({ egress: [{ action: 'Accept', to: [ns('a'), { networks: ['10.0.0.0/8'] }], protocols: [{ destinationNamedPort: 'web' }] }] }),
      /spec\.egress\[0\]: networks\/nodes\/domainNames peer cannot be set with namedPorts/,
    ],
    [
      'named port with a nodes peer',
      base({ egress: [{ action: 'Accept', to: [{ nodes: {} }], protocols: [{ destinationNamedPort: 'web' }] }] }),
      /peer cannot be set with namedPorts/,
    ],
    [
      'domain names',
      base({ egress: [{ action: 'Accept', to: [{ domainNames: ['*.kubernetes.io'] }] }] }),
      /spec\.egress\[0\]\.to\[0\]\.domainNames: domain-name peers are not supported yet/,
    ],
    ['an unknown spec field', base({ prioritee: 3 }), /spec: unknown field "prioritee"/],
    [
      'a bad selector operator',
      base({ subject: { namespaces: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] } } }),
      /spec\.subject\.namespaces\.matchExpressions\[0\]\.operator: "Equals" is not one of/,
    ],
    [
      'In without values',
      base({ subject: { namespaces: { matchExpressions: [{ key: 'a', operator: 'In' }] } } }),
      /matchExpressions\[0\]\.values: must be non-empty for operator In/,
    ],
  ];
  for (const [what, spec, expected] of cases) {
    const problems = problemsOf(spec);
    assert.ok(
      problems.some((p) => p.startsWith('ClusterNetworkPolicy p: ') && expected.test(p)),
      `${what}: ${problems.join(' | ')}`,
    );
  }
  const wrongVersion = importKubernetes([{ ...cnp('p', base()), apiVersion: 'policy.networking.k8s.io/v1alpha1' }], 'shop');
  assert.equal(wrongVersion.globalPolicies.length, 0);
  assert.match(
    wrongVersion.problems.join('\n'),
    /apiVersion "policy\.networking\.k8s\.io\/v1alpha1" is not policy\.networking\.k8s\.io\/v1alpha2/,
  );
});

test('one bad rule leaves the whole policy out (never a policy with a Deny rule missing)', () => {
  const result = importKubernetes(
    [
      cnp(
        'half',
        base({
          egress: [
            { action: 'Deny', to: [ns('a')] },
            { action: 'Deny', to: [{ domainNames: ['example.com'] }] },
          ],
        }),
      ),
      cnp('fine', base()),
    ],
    'shop',
  );
  assert.deepEqual(
    result.globalPolicies.map((p) => p.metadata.name),
    ['shop-cnp-fine'],
  );
  assert.equal(result.problems.length, 1);
});

test('AdminNetworkPolicy and BaselineAdminNetworkPolicy still import beside ClusterNetworkPolicy', () => {
  const result = importKubernetes(
    [
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha1',
        kind: 'AdminNetworkPolicy',
        metadata: { name: 'a' },
        spec: { priority: 3, subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ namespaces: {} }] }] },
      },
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha1',
        kind: 'BaselineAdminNetworkPolicy',
        metadata: { name: 'default' },
        spec: { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] },
      },
      cnp('a', base()),
    ],
    'shop',
  );
  assert.deepEqual(result.problems, []);
  assert.deepEqual(
    result.globalPolicies.map((p) => p.metadata.name),
    ['shop-anp-a', 'shop-banp-default', 'shop-cnp-a'],
  );
});

test('host-network pods are no endpoints', () => {
  const result = importKubernetes(
    [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'centaur', namespace: 'forest' },
        spec: { hostNetwork: true },
        status: { podIP: '172.18.0.2' },
      },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'forest' }, spec: {}, status: { podIP: '10.0.0.5' } },
    ],
    'shop',
  );
  assert.deepEqual(
    result.endpoints.map((e) => e.metadata.name),
    ['forest-web'],
  );
});

// ---------------------------------------------------------------- nodes peers: Hosts by label

const host = (name: string, ip: string, labels: Record<string, string>): Host => ({
  apiVersion: V,
  kind: 'Host',
  metadata: { name, labels },
  spec: { underlayIP: ip },
});
const scope = (name: string): Scope => ({
  apiVersion: V,
  kind: 'Scope',
  metadata: { name, tenant: 'shop', labels: { 'kubernetes.io/metadata.name': name } },
  spec: {},
});
const web: Endpoint = {
  apiVersion: V,
  kind: 'Endpoint',
  metadata: { name: 'web', tenant: 'shop', labels: { app: 'web' } },
  spec: { network: 'net', scope: 'prod', ips: ['10.9.0.5'] },
};

function nodeIntent(hosts: Host[]): PolicyIntent {
  const imported = importKubernetes(
    [
      cnp('nodes', {
        tier: 'Admin',
        priority: 1,
        subject: { namespaces: {} },
        egress: [
          {
            name: 'kubelet',
            action: 'Accept',
            to: [{ nodes: { matchLabels: { role: 'worker' } } }],
            protocols: [{ tcp: { destinationPort: { number: 10250 } } }],
          },
          { name: 'no-nodes', action: 'Deny', to: [{ nodes: {} }] },
        ],
      }),
    ],
    'shop',
  );
  assert.deepEqual(imported.problems, []);
  return {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 'shop' }, spec: { defaultPolicy: 'allow' } }],
    scopes: [scope('prod')],
    groups: [],
    networks: [],
    policies: [],
    globalPolicies: imported.globalPolicies,
    endpoints: [web],
    hosts: hostPeers(hosts),
  };
}

test('a nodes peer matches the underlay addresses of the Hosts whose labels match, and nothing else', () => {
  const hosts = [host('h1', '192.168.50.1', { role: 'worker' }), host('h2', '192.168.50.2', { role: 'control' })];
  const judge = new FlowJudge(nodeIntent(hosts), 'shop');
  const to = (address: string, port: number) => judge.judge({ endpoint: web, address: '10.9.0.5' }, { address }, 'tcp', port);
  assert.equal(to('192.168.50.1', 10250).allowed, true, 'worker host, kubelet port: accepted');
  assert.equal(to('192.168.50.2', 10250).allowed, false, 'control host: only the empty selector matches it, which denies');
  assert.equal(to('192.168.50.1', 22).allowed, false, 'worker host, another port: denied by the empty nodes selector');
  assert.match(to('192.168.50.1', 22).egress.origin?.ruleName ?? '', /no-nodes/);
  assert.equal(to('192.168.50.3', 22).allowed, true, 'an address no Host has is no node');
  // No Hosts known: the peers select nothing (as upstream with no matching Node).
  assert.equal(
    new FlowJudge(nodeIntent([]), 'shop').judge({ endpoint: web, address: '10.9.0.5' }, { address: '192.168.50.1' }, 'tcp', 22).allowed,
    true,
  );
});

test("a Host's labels and address are part of the agents' policy key (a label change recompiles)", () => {
  const objects = (labels: Record<string, string>): TenetObject[] =>
    [
      { apiVersion: V, kind: 'Tenant', metadata: { name: 'shop' }, spec: {} },
      { apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant: 'shop' }, spec: { subnets: [{ cidr: '10.9.0.0/24' }] } },
      { ...web, spec: { ...web.spec, host: 'h1' } },
      host('h1', '192.168.50.1', labels),
    ] as TenetObject[];
  const key = (labels: Record<string, string>) => {
    const view = buildHostView(objects(labels), { hostName: 'h1', netnsPrefix: 't-' });
    return policyIntentKey(view, view.tenants[0]);
  };
  assert.notEqual(key({ role: 'worker' }), key({ role: 'control' }));
  assert.equal(key({ role: 'worker' }), key({ role: 'worker' }));
});

test('hostSelector is for GlobalPolicy egress peers only', () => {
  const rule = { action: 'allow' as const, to: [{ hostSelector: {} }] };
  assert.match(policyProblems('Policy', { appliesTo: {}, egress: [rule] }).join('\n'), /hostSelector: only for GlobalPolicy/);
  assert.match(
    policyProblems('GlobalPolicy', { tier: 'admin', appliesTo: {}, ingress: [{ action: 'deny', from: [{ hostSelector: {} }] }] }).join(
      '\n',
    ),
    /hostSelector: only in egress rules/,
  );
  assert.match(
    policyProblems('GlobalPolicy', {
      tier: 'admin',
      appliesTo: {},
      egress: [{ action: 'deny', to: [{ hostSelector: {}, cidr: '10.0.0.0/8' }] }],
    }).join('\n'),
    /give only one of/,
  );
  assert.deepEqual(policyProblems('GlobalPolicy', { tier: 'admin', appliesTo: {}, egress: [rule] }), []);
});
