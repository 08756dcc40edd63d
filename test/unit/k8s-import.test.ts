/**
 * Kubernetes import keeps namespace labels it was not given: a file holding only a NetworkPolicy
 * (or Pods) names namespaces but says nothing about their labels, so their scopes are created where
 * missing and never rewritten — rewriting wiped `env: prod` and switched off an AdminNetworkPolicy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importKubernetes, planReferencedScopes, NAMESPACE_NAME_LABEL } from '../../src/core/k8s/import';
import { FlowJudge } from '../../src/core/policy/flow';
import type { PolicyIntent } from '../../src/core/policy/intent';
import type { Scope } from '../../src/core/model/kinds/scope';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';

const V = 'tenet.dev/v1' as const;
const scope = (name: string, labels: Record<string, string>): Scope => ({
  apiVersion: V,
  kind: 'Scope',
  metadata: { name, tenant: 'shop', labels },
  spec: {},
});
const endpoint = (name: string, ns: string, ip: string): Endpoint => ({
  apiVersion: V,
  kind: 'Endpoint',
  metadata: { name, tenant: 'shop', labels: { app: name } },
  spec: { network: 'net', scope: ns, ips: [ip] },
});

const guard = {
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name: 'guard' },
  spec: {
    priority: 5,
    subject: { namespaces: { matchLabels: { env: 'prod' } } },
    ingress: [
      {
        name: 'no-dev',
        action: 'Deny',
        from: [{ namespaces: { matchLabels: { env: 'dev' } } }],
        ports: [{ portNumber: { protocol: 'TCP', port: 80 } }],
      },
    ],
  },
};
const openProd = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web', namespace: 'prod' },
  spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 80 }] }] },
};

/** The intent after an apply of these objects: an applied scope replaces the stored one of its name, as the controller does. */
function applyScopes(stored: Scope[], applied: Scope[]): Scope[] {
  const names = new Set(applied.map((s) => s.metadata.name));
  return [...stored.filter((s) => !names.has(s.metadata.name)), ...applied];
}

function devToProd80(scopes: Scope[], objects: unknown[]): boolean {
  const imported = importKubernetes([guard, ...objects], 'shop');
  assert.deepEqual(imported.problems, []);
  const intent: PolicyIntent = {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 'shop' }, spec: { defaultPolicy: 'allow' } }],
    scopes,
    groups: [],
    networks: [],
    policies: imported.policies,
    globalPolicies: imported.globalPolicies,
    endpoints: [endpoint('web', 'dev', '10.0.0.1'), endpoint('api', 'prod', '10.0.0.2')],
  };
  return new FlowJudge(intent, 'shop').judge(
    { endpoint: intent.endpoints[0], address: '10.0.0.1' },
    { endpoint: intent.endpoints[1], address: '10.0.0.2' },
    'tcp',
    80,
  ).allowed;
}

test('a file holding only a NetworkPolicy changes no namespace labels; the AdminNetworkPolicy keeps denying', () => {
  const stored = [
    scope('prod', { env: 'prod', [NAMESPACE_NAME_LABEL]: 'prod' }),
    scope('dev', { env: 'dev', [NAMESPACE_NAME_LABEL]: 'dev' }),
  ];
  assert.equal(devToProd80(stored, []), false, 'dev -> prod tcp/80 is denied by the admin tier');

  const result = importKubernetes(
    [openProd, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'staging', labels: { app: 'x' } }, spec: {} }],
    'shop',
  );
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.scopes, [], 'no Namespace in the file: no scope whose labels the import decides');
  assert.deepEqual(
    result.referencedScopes.map((s) => [s.metadata.name, s.metadata.labels]),
    [
      ['prod', { [NAMESPACE_NAME_LABEL]: 'prod' }],
      ['staging', { [NAMESPACE_NAME_LABEL]: 'staging' }],
    ],
  );
  const plan = planReferencedScopes(result.referencedScopes, stored);
  assert.deepEqual(
    plan.create.map((s) => s.metadata.name),
    ['staging'],
    'only the missing scope is created',
  );
  assert.deepEqual(plan.unlabelled, []);
  const after = applyScopes(stored, [...plan.create, ...result.scopes]);
  assert.deepEqual(after.find((s) => s.metadata.name === 'prod')?.metadata.labels, { env: 'prod', [NAMESPACE_NAME_LABEL]: 'prod' });
  assert.equal(devToProd80(after, [openProd]), false, 'the admin tier still denies dev -> prod tcp/80 after the import');
});

test('a Namespace in the file is authoritative for its labels; existing scopes without the name label are reported, not rewritten', () => {
  const stored = [
    scope('prod', { env: 'prod', [NAMESPACE_NAME_LABEL]: 'prod' }),
    scope('dev', { env: 'dev', [NAMESPACE_NAME_LABEL]: 'dev' }),
  ];
  const result = importKubernetes(
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { tier: 'web' } } }, openProd],
    'shop',
  );
  assert.deepEqual(
    result.scopes.map((s) => [s.metadata.name, s.metadata.labels]),
    [['prod', { tier: 'web', [NAMESPACE_NAME_LABEL]: 'prod' }]],
  );
  assert.deepEqual(result.referencedScopes, [], 'prod is defined by its Namespace, not merely named');
  assert.equal(
    devToProd80(applyScopes(stored, result.scopes), [openProd]),
    true,
    'the Namespace dropped env: prod, so the admin policy no longer selects it',
  );

  const handMade = [scope('prod', { env: 'prod' })];
  const plan = planReferencedScopes(importKubernetes([openProd], 'shop').referencedScopes, handMade);
  assert.deepEqual(plan, { create: [], unlabelled: [`prod (${NAMESPACE_NAME_LABEL}=prod)`] });
});
