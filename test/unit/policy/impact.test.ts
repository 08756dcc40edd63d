import { test } from 'node:test';
import assert from 'node:assert/strict';
import { previewImpact } from '../../../src/core/policy/impact';
import type { PolicyIntent } from '../../../src/core/policy/intent';
import type { Policy } from '../../../src/core/model/kinds/policy';

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
    endpoints: [
      ep('web-1', 'web', '10.0.0.1'),
      ep('web-2', 'web', '10.0.0.2'),
      ep('db-1', 'db', '10.0.0.3'),
      ep('batch-1', 'batch', '10.0.0.4'),
    ],
  };
}

const dbOnlyFromWeb: Policy = {
  apiVersion: V,
  kind: 'Policy',
  metadata: { name: 'db', tenant: 't' },
  spec: {
    appliesTo: { selector: { matchLabels: { app: 'db' } } },
    ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
  },
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

function dualWorld(policies: Policy[]): PolicyIntent {
  const ep = (name: string, app: string, ips: string[]) => ({
    apiVersion: V,
    kind: 'Endpoint' as const,
    metadata: { name, tenant: 't', labels: { app } },
    spec: { network: 'n', host: 'h1', ips },
  });
  return {
    ...world(policies),
    endpoints: [
      ep('web-1', 'web', ['10.0.0.1', 'fd00::1']),
      ep('web-2', 'web', ['10.0.0.2', 'fd00:1::2']),
      ep('db-1', 'db', ['10.0.0.3', 'fd00::3']),
    ],
  };
}

function dbPolicy(rule: Record<string, unknown>): Policy {
  return {
    apiVersion: V,
    kind: 'Policy',
    metadata: { name: 'db', tenant: 't' },
    spec: { appliesTo: { selector: { matchLabels: { app: 'db' } } }, ingress: [{ action: 'allow', ...rule }] },
  } as Policy;
}

const lines = (changes: ReturnType<typeof previewImpact>) =>
  changes.map((c) => `${c.from}->${c.to} ${c.protocol}/${c.port ?? ''}${c.family ? ` v${c.family}` : ''} ${c.before}->${c.after}`).sort();

test('impact preview lists a change that only touches ICMP, though no rule names ICMP', () => {
  const web = { from: [{ selector: { matchLabels: { app: 'web' } } }] };
  // Every TCP, UDP and SCTP port from web before; everything from web after: only ICMP opens.
  const narrow = dbPolicy({ ...web, ports: [{ protocol: 'TCP' }, { protocol: 'UDP' }, { protocol: 'SCTP' }] });
  const wide = dbPolicy(web);
  const v4 = lines(previewImpact(world([narrow]), world([wide])));
  assert.deepEqual(v4, ['web-1->db-1 icmp/ false->true'], v4.join('\n'));
  // web-1 and web-2 are alike here (no rule names a CIDR): one representative pair stands for both.
  const dual = lines(previewImpact(dualWorld([narrow]), dualWorld([wide])));
  assert.deepEqual(dual, ['web-1->db-1 icmp/ false->true', 'web-1->db-1 icmpv6/ false->true'], dual.join('\n'));
  assert.deepEqual(previewImpact(world([wide]), world([wide])), []);
});

test('impact preview lists a change that only touches IPv6 peers, per endpoint address', () => {
  const both = dbPolicy({
    from: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }, { cidr: 'fd00:1::/64' }],
    ports: [{ protocol: 'TCP', port: 5432 }],
  });
  const v4AndOneV6 = dbPolicy({ from: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }], ports: [{ protocol: 'TCP', port: 5432 }] });
  // Dropping fd00:1::/64 closes IPv6 from web-2 only (web-1 is in fd00::/64); IPv4 stays open.
  const changes = previewImpact(dualWorld([both]), dualWorld([v4AndOneV6]));
  assert.deepEqual(lines(changes), ['web-2->db-1 tcp/5432 v6 true->false'], lines(changes).join('\n'));
  const dropAllV6 = dbPolicy({ from: [{ cidr: '10.0.0.0/24' }], ports: [{ protocol: 'TCP', port: 5432 }] });
  assert.deepEqual(lines(previewImpact(dualWorld([both]), dualWorld([dropAllV6]))), [
    'web-1->db-1 tcp/5432 v6 true->false',
    'web-2->db-1 tcp/5432 v6 true->false',
  ]);
  // A change of both families alike is one line, without a family (every other port closes).
  const closing = lines(previewImpact(dualWorld([]), dualWorld([dropAllV6])));
  assert.deepEqual(
    closing.filter((l) => l.includes('tcp/65000')),
    ['web-1->db-1 tcp/65000 true->false'],
    closing.join('\n'),
  );
  assert.ok(closing.includes('web-1->db-1 tcp/5432 v6 true->false'), closing.join('\n'));
});
