import { test } from 'node:test';
import assert from 'node:assert/strict';
import { previewImpact } from '../../src/core/policy/impact';
import type { PolicyIntent } from '../../src/core/policy/intent';
import type { Policy } from '../../src/core/model/kinds/policy';

const V = 'tenet.dev/v1' as const;

function world(policies: Policy[]): PolicyIntent {
  const ep = (name: string, app: string, ip: string) => ({
    apiVersion: V,
    kind: 'Endpoint' as const,
    metadata: { name, tenant: 't', labels: { app } },
    spec: { network: 'n', host: name.endsWith('2') ? 'h2' : 'h1', ips: [ip] },
  });
  return {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 't' }, spec: { defaultPolicy: 'allow' } }],
    scopes: [],
    groups: [],
    networks: [],
    policies,
    globalPolicies: [],
    endpoints: [ep('web-1', 'web', '10.0.0.1'), ep('web-2', 'web', '10.0.0.2'), ep('db-1', 'db', '10.0.0.3'), ep('batch-1', 'batch', '10.0.0.4')],
  };
}

const dbOnlyFromWeb: Policy = {
  apiVersion: V,
  kind: 'Policy',
  metadata: { name: 'db', tenant: 't' },
  spec: { appliesTo: { selector: { matchLabels: { app: 'db' } } }, ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] },
};

test('impact preview lists exactly the flows whose verdict changes', () => {
  const changes = previewImpact(world([]), world([dbOnlyFromWeb]));
  const text = changes.map((c) => `${c.from}->${c.to} ${c.protocol}/${c.port ?? ''} ${c.before}->${c.after} x${c.pairs}`).sort();
  // Everything into db that is not web on 5432 becomes denied; web on other ports too.
  assert.ok(text.includes('batch-1->db-1 tcp/5432 true->false x1'), text.join('\n'));
  assert.ok(text.includes('web-1->db-1 tcp/65000 true->false x2'), text.join('\n'));
  assert.ok(!text.some((t) => t.startsWith('web-1->db-1 tcp/5432')), 'web to db on 5432 stays allowed');
  assert.ok(!text.some((t) => /->(web|batch)-/.test(t)), 'nothing else changes');
  assert.deepEqual(previewImpact(world([dbOnlyFromWeb]), world([dbOnlyFromWeb])), []);
  // The reverse change reports the same flows opening again.
  assert.equal(previewImpact(world([dbOnlyFromWeb]), world([])).length, changes.length);
});
