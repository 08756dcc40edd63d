/**
 * The controller's policy questions (explain, the policy matrix): the same verdicts as `tenet explain`
 * computes from the intent, a preview with policies switched off, and access — a tenant role gets
 * verdicts for its own tenant only and never the name of a GlobalPolicy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import { endpointObj, networkObj, tenantObj, V } from './api-helpers';
import { TenetClient } from '../../src/client/api-client';
import { loadIntent } from '../../src/client/intent';
import { explainFlow } from '../../src/core/policy/explain-flow';

let controller: RunningController;
let shopAdmin: string;
let shopViewer: string;
let bankAdmin: string;

before(async () => {
  controller = await startController();
  const c = controller.client;
  for (const tenant of ['shop', 'bank']) await c.create(tenantObj(tenant));
  await c.create(networkObj('shop', 'net', ['10.1.0.0/24']));
  await c.create(networkObj('bank', 'net', ['10.2.0.0/24']));
  for (const [name, app] of [
    ['web-1', 'web'],
    ['web-2', 'web'],
    ['db-1', 'db'],
  ])
    await c.create(endpointObj('shop', 'net', name, {}, { app }));
  await c.create(endpointObj('bank', 'net', 'ledger-1', {}, { app: 'ledger' }));
  await c.apply([
    { apiVersion: V, kind: 'Group', metadata: { tenant: 'shop', name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } } } },
    { apiVersion: V, kind: 'Group', metadata: { tenant: 'shop', name: 'db' }, spec: { selector: { matchLabels: { app: 'db' } } } },
    {
      apiVersion: V,
      kind: 'Policy',
      metadata: { tenant: 'shop', name: 'db-in' },
      spec: {
        appliesTo: { group: 'db' },
        ingress: [{ name: 'web to postgres', action: 'allow', from: [{ group: 'web' }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      },
    },
    {
      apiVersion: V,
      kind: 'GlobalPolicy',
      metadata: { name: 'secret-guard' },
      spec: {
        tier: 'admin',
        priority: 10,
        appliesTo: { tenants: ['shop'] },
        ingress: [{ action: 'deny', ports: [{ protocol: 'TCP', port: 6666 }] }],
      },
    },
  ]);
  shopAdmin = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'shop' })).token;
  shopViewer = (await mintToken(controller.url, controller.adminToken, { role: 'viewer', tenant: 'shop' })).token;
  bankAdmin = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'bank' })).token;
});

after(async () => controller?.stop());

const get = (token: string, path: string) => send(controller.url, 'GET', path, { token });

type Cell = {
  verdict: string;
  allowed: number;
  denied: number;
  examples: Array<{ from: string; to: string; allowed: boolean; ingress: any; egress: any }>;
};
type Matrix = {
  rows: Array<{ name: string; members: number }>;
  ports: Array<{ protocol: string; port?: number }>;
  cells: Cell[][][];
  preview?: { cells: Cell[][][] };
};

function cell(matrix: Matrix, from: string, to: string, port: string): Cell {
  const r = matrix.rows.findIndex((x) => x.name === from);
  const c = matrix.rows.findIndex((x) => x.name === to);
  const p = matrix.ports.findIndex((x) => `${x.protocol}${x.port !== undefined ? `/${x.port}` : ''}` === port);
  assert.ok(r >= 0 && c >= 0 && p >= 0, `${from} ${to} ${port}`);
  return matrix.cells[r][c][p];
}

test('the matrix judges groups x groups per port with the compiled policy, and previews a policy switched off', async () => {
  const answer = await get(controller.adminToken, '/api/v1/tenants/shop/policymatrix?ports=tcp/5432,tcp/80,tcp/6666&off=Policy/db-in');
  assert.equal(answer.status, 200, answer.text);
  const matrix = answer.json as Matrix;
  assert.deepEqual(
    matrix.rows.map((r) => [r.name, r.members]),
    [
      ['db', 1],
      ['web', 2],
    ],
  );
  const allowed = cell(matrix, 'web', 'db', 'tcp/5432');
  assert.deepEqual([allowed.verdict, allowed.allowed, allowed.denied], ['allow', 2, 0]);
  assert.equal(allowed.examples[0].ingress.origin.policy, 'Policy shop/db-in');
  assert.equal(allowed.examples[0].ingress.origin.ruleName, 'web to postgres');
  assert.equal(cell(matrix, 'web', 'db', 'tcp/80').verdict, 'deny');
  assert.equal(cell(matrix, 'db', 'web', 'tcp/80').verdict, 'allow', 'web is not isolated');
  assert.equal(cell(matrix, 'web', 'web', 'tcp/80').verdict, 'allow', 'web-1 <-> web-2, never an endpoint to itself');
  assert.equal(cell(matrix, 'web', 'web', 'tcp/80').allowed, 2);
  assert.equal(cell(matrix, 'db', 'db', 'tcp/80').verdict, 'empty', 'one member: no flow');
  const guarded = cell(matrix, 'web', 'web', 'tcp/6666');
  assert.equal(guarded.verdict, 'deny');
  assert.equal(guarded.examples[0].ingress.origin.policy, 'GlobalPolicy secret-guard', 'an admin sees which GlobalPolicy decided');
  // The preview without db-in: web -> db on 80 opens; the GlobalPolicy still denies 6666.
  const preview = { ...matrix, cells: matrix.preview!.cells };
  assert.equal(cell(preview, 'web', 'db', 'tcp/80').verdict, 'allow');
  assert.equal(cell(preview, 'web', 'web', 'tcp/6666').verdict, 'deny');

  // Rows by a label's values instead of groups; default ports are the ones the policies name (+ one other per protocol).
  const byLabel = (await get(controller.adminToken, '/api/v1/tenants/shop/policymatrix?label=app')).json as Matrix;
  assert.deepEqual(
    byLabel.rows.map((r) => r.name),
    ['app=db', 'app=web'],
  );
  // One port unless asked for more: the first the policies name; the rest are suggested.
  assert.deepEqual(byLabel.ports, [{ protocol: 'tcp', port: 5432 }]);
  assert.ok((byLabel as any).suggestedPorts.some((p: any) => p.protocol === 'tcp' && p.port === 6666));
  assert.equal(cell(byLabel, 'app=web', 'app=db', 'tcp/5432').verdict, 'allow');
});

test('explain answers what tenet explain computes from the intent', async () => {
  const answer = await get(controller.adminToken, '/api/v1/tenants/shop/explain?from=web-1&to=db-1&port=tcp/5432');
  assert.equal(answer.status, 200, answer.text);
  const client = new TenetClient({ servers: [controller.url], token: controller.adminToken });
  const local = JSON.parse(
    explainFlow(await loadIntent(client, 'shop'), 'shop', 'web-1', 'db-1', { protocol: 'tcp', port: 5432 }, { output: 'json' }),
  );
  assert.deepEqual(answer.json, local);
  assert.equal((answer.json as { allowed: boolean }).allowed, true);
  const denied = (await get(controller.adminToken, '/api/v1/tenants/shop/explain?from=web-1&to=db-1&port=tcp/80')).json as any;
  assert.equal(denied.allowed, false);
  const bad = await get(controller.adminToken, '/api/v1/tenants/shop/explain?from=nobody&to=db-1&port=tcp/80');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /neither an address nor an endpoint/);
  assert.equal((await get(controller.adminToken, '/api/v1/tenants/shop/explain?from=web-1&to=db-1&port=tcp/99999')).status, 400);
  assert.equal((await get(controller.adminToken, '/api/v1/tenants/nope/explain?from=a&to=b&port=icmp')).status, 404);
  const verbose = (await get(controller.adminToken, '/api/v1/tenants/shop/explain?from=web-1&to=db-1&port=tcp/80&verbose=1')).json as any;
  assert.ok(Array.isArray(verbose.trace) && verbose.trace.length > 0);
});

test('tenant roles get verdicts of their own tenant only, without GlobalPolicy names; agents none', async () => {
  for (const token of [shopAdmin, shopViewer]) {
    const matrix = await get(token, '/api/v1/tenants/shop/policymatrix?ports=tcp/6666,tcp/5432');
    assert.equal(matrix.status, 200, matrix.text);
    const guarded = cell(matrix.json as Matrix, 'web', 'web', 'tcp/6666');
    assert.equal(guarded.verdict, 'deny', 'the verdict is the same');
    assert.deepEqual(guarded.examples[0].ingress.origin, {
      direction: 'ingress',
      tier: 'admin',
      policyKind: 'GlobalPolicy',
      action: 'deny',
    });
    assert.doesNotMatch(matrix.text, /secret-guard/);
    assert.equal(cell(matrix.json as Matrix, 'web', 'db', 'tcp/5432').examples[0].ingress.origin.policy, 'Policy shop/db-in');
    const explain = await get(token, '/api/v1/tenants/shop/explain?from=web-1&to=web-2&port=tcp/6666');
    assert.equal(explain.status, 200);
    assert.doesNotMatch(explain.text, /secret-guard/);
    assert.equal((explain.json as any).allowed, false);
    assert.equal((await get(token, '/api/v1/tenants/shop/explain?from=web-1&to=web-2&port=tcp/6666&verbose=1')).status, 403);
    assert.equal((await get(token, '/api/v1/tenants/shop/policymatrix?off=GlobalPolicy/secret-guard')).status, 403);
    assert.equal((await get(token, '/api/v1/tenants/shop/policymatrix?off=Policy/db-in')).status, 200);
  }
  // Another tenant does not exist for bank's admin, whichever question it asks.
  for (const path of ['/api/v1/tenants/shop/policymatrix', '/api/v1/tenants/shop/explain?from=web-1&to=db-1&port=tcp/80']) {
    const hidden = await get(bankAdmin, path);
    assert.equal(hidden.status, 404, path);
    assert.doesNotMatch(hidden.text, /web-1|db-in/);
  }
  const agent = (await mintToken(controller.url, controller.adminToken, { role: 'agent', host: 'h1' })).token;
  assert.equal((await get(agent, '/api/v1/tenants/shop/policymatrix')).status, 403);
  assert.equal((await get(controller.adminToken, '/api/v1/tenants/shop/policymatrix?colour=red')).status, 400);
  assert.equal((await get(controller.adminToken, '/api/v1/tenants/shop/policymatrix?off=Policy/nope')).status, 400);
  assert.equal((await get(controller.adminToken, '/api/v1/tenants/shop/policymatrix?ports=tcp/0')).status, 400);
  assert.equal((await send(controller.url, 'GET', '/api/v1/tenants/shop/policymatrix')).status, 401);
});
