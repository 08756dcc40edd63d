/**
 * The policy matrix agrees with judging every endpoint pair one by one (FlowJudge, as `tenet explain`):
 * counts, verdicts and examples, with overlapping groups, a label row mode and a preview.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyMatrix, redactMatrix } from '../../../src/core/policy/matrix';
import { FlowJudge } from '../../../src/core/policy/flow';
import type { PolicyIntent } from '../../../src/core/policy/intent';

const V = 'tenet.dev/v1';

function world(): PolicyIntent {
  const apps = ['web', 'web', 'web', 'db', 'db', 'cache', 'batch'];
  return {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 't' }, spec: {}, status: { vni: 4096 } }],
    scopes: [],
    networks: [{ apiVersion: V, kind: 'Network', metadata: { tenant: 't', name: 'n' }, spec: { subnets: [{ cidr: '10.0.0.0/24' }] } }],
    groups: [
      { apiVersion: V, kind: 'Group', metadata: { tenant: 't', name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } } } },
      { apiVersion: V, kind: 'Group', metadata: { tenant: 't', name: 'db' }, spec: { selector: { matchLabels: { app: 'db' } } } },
      { apiVersion: V, kind: 'Group', metadata: { tenant: 't', name: 'all' }, spec: { selector: {} } },
      { apiVersion: V, kind: 'Group', metadata: { tenant: 't', name: 'blue' }, spec: { selector: { matchLabels: { colour: 'blue' } } } },
    ],
    policies: [
      {
        apiVersion: V,
        kind: 'Policy',
        metadata: { tenant: 't', name: 'db-in' },
        spec: {
          appliesTo: { group: 'db' },
          ingress: [{ action: 'allow', from: [{ group: 'web' }], ports: [{ protocol: 'TCP', port: 5432 }] }],
        },
      },
      {
        apiVersion: V,
        kind: 'Policy',
        metadata: { tenant: 't', name: 'blue-out' },
        spec: {
          appliesTo: { selector: { matchLabels: { colour: 'blue' } } },
          egress: [{ action: 'deny', to: [{ group: 'db' }] }, { action: 'allow' }],
        },
      },
    ],
    globalPolicies: [],
    endpoints: apps.map((app, i) => ({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { tenant: 't', name: `${app}-${i}`, labels: { app, ...(i % 2 === 0 ? { colour: 'blue' } : {}), unique: `u${i}` } },
      spec: { network: 'n', host: `h${i % 2}` },
      status: { ipv4: `10.0.0.${10 + i}` },
    })),
  } as unknown as PolicyIntent;
}

test('every cell counts and judges what judging each pair one by one gives', () => {
  const intent = world();
  const ports = [{ protocol: 'tcp' as const, port: 5432 }, { protocol: 'tcp' as const, port: 80 }, { protocol: 'icmp' as const }];
  const matrix = policyMatrix(intent, 't', { ports, off: ['Policy/blue-out'] });
  assert.deepEqual(
    matrix.rows.map((r) => [r.name, r.members]),
    [
      ['all', 7],
      ['blue', 4],
      ['db', 2],
      ['web', 3],
    ],
  );
  const check = (judged: PolicyIntent, cells: typeof matrix.cells) => {
    const judge = new FlowJudge(judged, 't');
    const members = (name: string) => {
      const selector = intent.groups.find((g) => g.metadata.name === name)!.spec.selector;
      return intent.endpoints.filter((e) => Object.entries(selector.matchLabels ?? {}).every(([k, v]) => e.metadata.labels?.[k] === v));
    };
    matrix.rows.forEach((row, r) =>
      matrix.rows.forEach((column, c) =>
        ports.forEach((port, p) => {
          let allowed = 0;
          let denied = 0;
          for (const a of members(row.name))
            for (const b of members(column.name)) {
              if (a === b) continue;
              const verdict = judge.judge(
                { endpoint: a, address: a.status!.ipv4! },
                { endpoint: b, address: b.status!.ipv4! },
                port.protocol,
                port.port,
              ).allowed;
              if (verdict) allowed++;
              else denied++;
            }
          const cell = cells[r][c][p];
          const where = `${row.name} -> ${column.name} ${port.protocol}/${port.port ?? ''}`;
          assert.deepEqual([cell.allowed, cell.denied], [allowed, denied], where);
          assert.equal(cell.verdict, allowed + denied === 0 ? 'empty' : denied === 0 ? 'allow' : allowed === 0 ? 'deny' : 'mixed', where);
          for (const example of cell.examples) assert.notEqual(example.from, example.to, where);
          if (cell.verdict === 'mixed') assert.deepEqual(cell.examples.map((e) => e.allowed).sort(), [false, true], where);
        }),
      ),
    );
  };
  check(intent, matrix.cells);
  check({ ...intent, policies: intent.policies.filter((p) => p.metadata.name !== 'blue-out') }, matrix.preview!.cells);
  assert.ok(
    matrix.cells.flat(2).some((cell) => cell.verdict === 'mixed'),
    'the world has mixed cells',
  );
});

test('rows by a label, the default port, and what redaction keeps', () => {
  const matrix = policyMatrix(world(), 't', { label: 'colour' });
  assert.deepEqual(matrix.rows, [{ name: 'colour=blue', members: 4 }]);
  assert.deepEqual(matrix.ports, [matrix.suggestedPorts[0]]);
  assert.deepEqual(matrix.ports, [{ protocol: 'tcp', port: 5432 }]);
  const tenantView = redactMatrix(matrix);
  assert.deepEqual(tenantView.cells, matrix.cells, 'tenant policies keep their names');
});
