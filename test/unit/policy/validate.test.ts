import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from '../../../src/core/model/validate';
import { policyReferenceProblems } from '../../../src/core/policy/validate';
import { importKubernetes } from '../../../src/core/k8s/import';

const V = 'tenet.dev/v1';

function policy(spec: Record<string, unknown>, kind = 'Policy') {
  return {
    apiVersion: V,
    kind,
    metadata: kind === 'Policy' ? { name: 'p', tenant: 't' } : { name: 'p' },
    spec: { appliesTo: {}, ...spec },
  };
}

test('policy validation reports every problem with its path', () => {
  const result = validateObject(
    policy({
      ingress: [
        {
          action: 'pass',
          from: [{ cidr: '10.0.0.1/8', except: ['11.0.0.0/16'] }],
          ports: [
            { protocol: 'ICMP', port: 3 },
            { protocol: 'TCP', port: 'http', endPort: 90 },
          ],
        },
        { action: 'allow', to: [{ group: 'x' }] },
      ],
    }),
  );
  assert.equal(result.ok, false);
  const text = result.problems.join('\n');
  for (const expected of [
    'spec.ingress[0].action: "pass" is only meaningful',
    'spec.ingress[0].from[0].cidr: "10.0.0.1/8" has host bits set',
    'spec.ingress[0].from[0].except[0]: 11.0.0.0/16 must lie inside 10.0.0.1/8',
    'spec.ingress[0].ports[0]: ICMP takes no port',
    'spec.ingress[0].ports[1].endPort: needs a numeric port',
    'spec.ingress[1]: ingress rules take "from", not "to"',
  ]) {
    assert.ok(text.includes(expected), `missing: ${expected}\n${text}`);
  }
  assert.equal(validateObject(policy({ tier: 'admin', ingress: [{ action: 'pass' }] }, 'GlobalPolicy')).ok, true);
  assert.equal(validateObject(policy({ ingress: [{ action: 'allow' }] }, 'GlobalPolicy')).ok, false, 'GlobalPolicy needs a tier');
  for (const port of [0, 70000])
    assert.equal(validateObject(policy({ ingress: [{ action: 'allow', ports: [{ protocol: 'TCP', port }] }] })).ok, false);
});

test('policyReferenceProblems names missing groups, networks and tenants', () => {
  const lookup = { group: (t: string, n: string) => t === 'a' && n === 'web', network: () => false, tenant: (n: string) => n === 'a' };
  assert.deepEqual(
    policyReferenceProblems(
      {
        kind: 'Policy',
        metadata: { name: 'p', tenant: 'a' },
        spec: { appliesTo: { group: 'web' }, egress: [{ action: 'allow', to: [{ group: 'db' }, { network: 'n' }] }] },
      },
      lookup,
    ),
    [
      'spec.egress[0].to[0].group: group "db" does not exist in tenant "a"',
      'spec.egress[0].to[1].network: network "n" does not exist in tenant "a"',
    ],
  );
  assert.deepEqual(
    policyReferenceProblems(
      { kind: 'GlobalPolicy', metadata: { name: 'g' }, spec: { tier: 'admin', appliesTo: { tenants: ['a', 'b'], group: 'web' } } },
      lookup,
    ),
    ['spec.appliesTo.tenants[1]: tenant "b" does not exist', 'spec.appliesTo.group: group "web" does not exist in tenant "b"'],
  );
});

test('Kubernetes import: policyTypes defaulting, empty peers, long names, problems instead of exceptions', () => {
  const result = importKubernetes(
    [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'a'.repeat(60), namespace: 'team' },
        spec: { podSelector: {}, egress: [{ to: [] }] },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'bad', namespace: 'team' },
        spec: { ingress: [{ from: [{}] }] },
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha1',
        kind: 'BaselineAdminNetworkPolicy',
        metadata: { name: 'default' },
        spec: { subject: { namespaces: {} }, ingress: [{ action: 'Pass', from: [{ namespaces: {} }] }] },
      },
    ],
    't',
  );
  assert.equal(result.policies.length, 1);
  const p = result.policies[0];
  assert.ok(p.metadata.name.length <= 63 && /^[a-z0-9-]+$/.test(p.metadata.name));
  assert.deepEqual(p.spec.policyTypes, ['Ingress', 'Egress']);
  assert.deepEqual(p.spec.ingress, []);
  assert.deepEqual(p.spec.egress, [{ action: 'allow' }], 'an empty "to" list means every destination');
  assert.equal(validateObject(p).ok, true, validateObject(p).problems.join('; '));
  assert.equal(result.globalPolicies.length, 0);
  assert.equal(result.problems.length, 3, result.problems.join('\n'));
  assert.deepEqual(result.scopes, [], 'no Namespace object: no scope whose labels the import decides');
  assert.deepEqual(
    result.referencedScopes.map((s) => s.metadata.labels),
    [{ 'kubernetes.io/metadata.name': 'team' }],
  );
});
