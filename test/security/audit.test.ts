/**
 * A scripted session of mutations by several tokens, allowed, failed and refused: each appears in
 * the audit trail exactly once with the token that made it; successful changes carry their audit
 * entry in the same store revision as the change itself; tenant-admins see only their tenant.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { runCli } from '../cli/run-cli';
import type { AuditEntry } from '../../src/auth/audit-log';
import { mintToken, send } from '../helpers/http';

const V = 'tenet.dev/v1';
let controller: RunningController;

before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
});

async function audit(token: string, query = ''): Promise<AuditEntry[]> {
  const answer = await send(controller.url, 'GET', `/api/v1/audit${query}`, { token });
  assert.equal(answer.status, 200, answer.text);
  return (answer.json as { items: AuditEntry[] }).items;
}

async function revision(token: string): Promise<number> {
  return Number(
    ((await send(controller.url, 'GET', '/api/v1/tenants', { token })).json as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion,
  );
}

test('every mutation of a scripted session is audited exactly once with its token; refusals as refused', async () => {
  const base = controller.url;
  const admin = controller.adminToken;
  const adminId = admin.split('_')[1];
  const before = (await audit(admin)).length;
  const expected: string[] = [];
  const expect = (tokenId: string, verb: string, kind: string, tenant: string, name: string, outcome: string, code: number) =>
    expected.push([tokenId, verb, kind, tenant, name, outcome, code].join(' '));
  const call = async (method: string, path: string, token: string | undefined, body: unknown, status: number) => {
    const answer = await send(base, method, path, { token, body });
    assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
    return answer.json as Record<string, unknown>;
  };

  // A successful change and its audit entry are one txn: the store revision moves by exactly one.
  const r0 = await revision(admin);
  const tenant = await call('POST', '/api/v1/tenants', admin, { apiVersion: V, kind: 'Tenant', metadata: { name: 'shop' }, spec: {} }, 201);
  assert.equal(Number((tenant.metadata as { resourceVersion: string }).resourceVersion), r0 + 1);
  assert.equal(await revision(admin), r0 + 1, 'no separate audit write');
  expect(adminId, 'create', 'Tenant', 'shop', 'shop', 'allowed', 201);
  await call('POST', '/api/v1/tenants', admin, { apiVersion: V, kind: 'Tenant', metadata: { name: 'other' }, spec: {} }, 201);
  expect(adminId, 'create', 'Tenant', 'other', 'other', 'allowed', 201);

  const ta = await mintToken(base, admin, { role: 'tenant-admin', tenant: 'shop' });
  expect(adminId, 'create', 'Token', 'shop', '', 'allowed', 201);
  const viewer = await mintToken(base, admin, { role: 'viewer', tenant: 'shop' });
  expect(adminId, 'create', 'Token', 'shop', '', 'allowed', 201);

  await call(
    'POST',
    '/api/v1/tenants/shop/networks',
    ta.token,
    { apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant: 'shop' }, spec: { subnets: [{ cidr: '10.7.0.0/24' }] } },
    201,
  );
  expect(ta.id, 'create', 'Network', 'shop', 'net', 'allowed', 201);
  await call(
    'POST',
    '/api/v1/apply',
    ta.token,
    {
      objects: [
        { apiVersion: V, kind: 'Group', metadata: { name: 'web', tenant: 'shop' }, spec: { selector: { matchLabels: { app: 'web' } } } },
      ],
    },
    200,
  );
  expect(ta.id, 'apply', 'Group', 'shop', '', 'allowed', 200);
  await call('PATCH', '/api/v1/tenants/shop/groups/web', ta.token, { metadata: { labels: { tier: 'front' } } }, 200);
  expect(ta.id, 'patch', 'Group', 'shop', 'web', 'allowed', 200);
  await call(
    'POST',
    '/api/v1/tenants/shop/endpoints',
    ta.token,
    { apiVersion: V, kind: 'Endpoint', metadata: { name: 'ep1', tenant: 'shop' }, spec: { network: 'net' } },
    201,
  );
  expect(ta.id, 'create', 'Endpoint', 'shop', 'ep1', 'allowed', 201);
  await call('PUT', '/api/v1/tenants/shop/endpoints/ep1/status', ta.token, { status: { phase: 'ready' } }, 200);
  expect(ta.id, 'status', 'Endpoint', 'shop', 'ep1', 'allowed', 200);
  await call('DELETE', '/api/v1/tenants/shop/endpoints/ep1', ta.token, undefined, 200);
  expect(ta.id, 'delete', 'Endpoint', 'shop', 'ep1', 'allowed', 200);
  // An apply that changes nothing is still a request someone made.
  await call(
    'POST',
    '/api/v1/apply',
    ta.token,
    {
      objects: [
        {
          apiVersion: V,
          kind: 'Group',
          metadata: { name: 'web', tenant: 'shop', labels: { tier: 'front' } },
          spec: { selector: { matchLabels: { app: 'web' } } },
        },
      ],
    },
    200,
  );
  expect(ta.id, 'apply', 'Group', 'shop', '', 'allowed', 200);

  // Failed (the service said no) and refused (access control said no).
  await call(
    'POST',
    '/api/v1/tenants/shop/networks',
    ta.token,
    { apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant: 'shop' }, spec: { subnets: [{ cidr: '10.8.0.0/24' }] } },
    409,
  );
  expect(ta.id, 'create', 'Network', 'shop', 'net', 'failed', 409);
  await call(
    'POST',
    '/api/v1/tenants/shop/groups',
    viewer.token,
    { apiVersion: V, kind: 'Group', metadata: { name: 'g2', tenant: 'shop' }, spec: {} },
    403,
  );
  expect(viewer.id, 'create', 'Group', 'shop', 'g2', 'refused', 403);
  await call('DELETE', '/api/v1/tenants/other', ta.token, undefined, 404);
  expect(ta.id, 'delete', 'Tenant', 'other', 'other', 'refused', 404);
  await call('DELETE', '/api/v1/tenants/shop/groups/web', undefined, undefined, 401);
  expect('-', 'delete', 'Group', 'shop', 'web', 'refused', 401);

  await call('DELETE', `/api/v1/tokens/${viewer.id}`, admin, undefined, 200);
  expect(adminId, 'delete', 'Token', '', viewer.id, 'allowed', 200);
  await call(
    'POST',
    '/api/v1/tenants/shop/groups',
    viewer.token,
    { apiVersion: V, kind: 'Group', metadata: { name: 'g3', tenant: 'shop' }, spec: {} },
    401,
  );
  // Bodies of unauthenticated requests are never read: the name stays unknown.
  expect(viewer.id, 'create', 'Group', 'shop', '', 'refused', 401);

  const entries = (await audit(admin)).slice(before);
  const got = entries.map((e) => [e.tokenId, e.verb, e.kind, e.tenant ?? '', e.name ?? '', e.outcome, e.code].join(' '));
  assert.deepEqual(got.sort(), [...expected].sort());
  const created = entries.find((e) => e.kind === 'Endpoint' && e.verb === 'create')!;
  assert.match(created.summary ?? '', /created Endpoint shop\/ep1 \[10\.7\.0\.\d+\]/);
  const patched = entries.find((e) => e.verb === 'patch')!;
  assert.match(patched.summary ?? '', /configured Group shop\/web \(metadata\.labels\.tier\)/);
  assert.match(entries.find((e) => e.code === 409)!.summary ?? '', /already exists/, 'a failure records the reason');
  assert.ok(entries.every((e) => e.role.length > 0 && !Number.isNaN(Date.parse(e.at))));

  // Tenant-admins see their tenant's entries only; viewers and agents none.
  const own = await audit(ta.token);
  assert.ok(own.length > 0 && own.every((e) => e.tenant === 'shop'));
  assert.equal((await audit(ta.token, '?tenant=shop')).length, own.length);
  assert.equal((await send(base, 'GET', '/api/v1/audit?tenant=other', { token: ta.token })).status, 404);
  const viewer2 = await mintToken(base, admin, { role: 'viewer', tenant: 'shop' });
  assert.equal((await send(base, 'GET', '/api/v1/audit', { token: viewer2.token })).status, 403);

  // Append-only: there is no route that writes or deletes entries.
  const snapshot = await audit(admin);
  const count = snapshot.length;
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    for (const path of ['/api/v1/audit', `/api/v1/audit/${encodeURIComponent(entries[0].id)}`]) {
      const status = (await send(base, method, path, { token: admin, body: {} })).status;
      assert.ok(status === 404 || status === 400, `${method} ${path}: ${status}`);
    }
  }
  const afterAttempts = await audit(admin);
  assert.deepEqual(afterAttempts.slice(0, count), snapshot, 'earlier entries unchanged');
  assert.equal(afterAttempts.length, count + 8, 'the attempts themselves are recorded as failed');
  assert.ok(afterAttempts.slice(count).every((e) => e.outcome === 'failed' && (e.code === 404 || e.code === 400)));
});

test("an admin's apply over two tenants and a rollback are filed under each tenant they touched", async () => {
  const base = controller.url;
  const admin = controller.adminToken;
  const adminId = admin.split('_')[1];
  const shopAdmin = await mintToken(base, admin, { role: 'tenant-admin', tenant: 'shop' });
  const otherAdmin = await mintToken(base, admin, { role: 'tenant-admin', tenant: 'other' });
  const scope = (tenant: string, name: string) => ({
    apiVersion: V,
    kind: 'Scope',
    metadata: { name, tenant },
    spec: { description: 'x' },
  });
  const group = (tenant: string, name: string) => ({
    apiVersion: V,
    kind: 'Group',
    metadata: { name, tenant },
    spec: { selector: { matchLabels: { app: name } } },
  });
  const seenBefore = new Set((await audit(admin)).map((e) => e.id));
  const fresh = async (token: string, query = '') => (await audit(token, query)).filter((e) => !seenBefore.has(e.id));

  const applied = await send(base, 'POST', '/api/v1/apply', {
    token: admin,
    body: { objects: [scope('shop', 'both-1'), group('other', 'both-2')] },
  });
  assert.equal(applied.status, 200, applied.text);

  const all = await fresh(admin);
  assert.equal(all.length, 1, 'one entry for the apply');
  const [entry] = all;
  assert.equal(entry.tokenId, adminId);
  assert.equal(entry.verb, 'apply');
  assert.deepEqual(entry.kind.split(',').sort(), ['Group', 'Scope']);
  assert.deepEqual(entry.tenants, ['other', 'shop']);
  assert.match(entry.summary ?? '', /created Scope shop\/both-1/);
  assert.match(entry.summary ?? '', /created Group other\/both-2/);

  // Each tenant's admins see it, narrowed to their tenant; an admin's ?tenant= filter finds it under each.
  const forShop = await fresh(shopAdmin.token);
  assert.equal(forShop.length, 1);
  assert.equal(forShop[0].tenant, 'shop');
  assert.equal(forShop[0].tenants, undefined);
  assert.equal(forShop[0].kind, 'Scope');
  assert.equal(forShop[0].summary, 'created Scope shop/both-1', "nothing of the other tenant's objects");
  const forOther = await fresh(otherAdmin.token);
  assert.equal(forOther.length, 1);
  assert.equal(forOther[0].summary, 'created Group other/both-2');
  assert.deepEqual(
    (await fresh(admin, '?tenant=shop')).map((e) => e.id),
    [entry.id],
  );
  assert.deepEqual(
    (await fresh(admin, '?tenant=other')).map((e) => e.id),
    [entry.id],
  );
  const cli = await runCli(base, ['audit', '--tenant', 'other', '-o', 'json']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.ok(
    (JSON.parse(cli.stdout) as { items: AuditEntry[] }).items.some((e) => e.id === entry.id),
    'tenet audit --tenant other lists it',
  );

  // An admin's single-tenant apply carries its kind and tenant like anyone else's.
  assert.equal((await send(base, 'POST', '/api/v1/apply', { token: admin, body: { objects: [scope('shop', 'solo')] } })).status, 200);
  const solo = (await fresh(admin)).filter((e) => e.id !== entry.id);
  assert.deepEqual(
    solo.map((e) => [e.verb, e.kind, e.tenant, e.tenants]),
    [['apply', 'Scope', 'shop', undefined]],
  );
  seenBefore.add(entry.id).add(solo[0].id);

  // One tenant's objects with a cluster-scoped one: filed under that tenant, but narrowed for its admins,
  // who may not read GlobalPolicies (not even their names).
  const globalPolicy = {
    apiVersion: V,
    kind: 'GlobalPolicy',
    metadata: { name: 'secret-gp' },
    spec: { tier: 'admin', priority: 5, appliesTo: { tenants: ['shop'] }, ingress: [{ action: 'deny', from: [{ cidr: '192.0.2.0/24' }] }] },
  };
  assert.equal(
    (await send(base, 'POST', '/api/v1/apply', { token: admin, body: { objects: [scope('shop', 'with-gp'), globalPolicy] } })).status,
    200,
  );
  const mixed = (await fresh(admin)).filter((e) => e.id !== entry.id && e.id !== solo[0].id);
  assert.deepEqual(
    mixed.map((e) => [e.kind, e.tenant, e.tenants]),
    [['Scope,GlobalPolicy', undefined, ['shop']]],
  );
  assert.match(mixed[0].summary ?? '', /secret-gp/, 'admins see all of it');
  const mixedForShop = (await fresh(shopAdmin.token)).filter((e) => e.id === mixed[0].id);
  assert.deepEqual(
    mixedForShop.map((e) => [e.kind, e.tenant, e.tenants, e.summary]),
    [['Scope', 'shop', undefined, 'created Scope shop/with-gp']],
  );
  assert.deepEqual(
    (await fresh(otherAdmin.token)).filter((e) => e.id === mixed[0].id),
    [],
  );
  seenBefore.add(mixed[0].id);

  // A rollback to before the first apply deletes the five objects: one entry, under both tenants.
  const history = (await send(base, 'GET', '/api/v1/history', { token: admin })).json as { items: { revision: number }[] };
  // The last three records are the three applies; the one before them is the state to return to.
  const target = history.items[history.items.length - 4].revision;
  const rolled = await send(base, 'POST', '/api/v1/rollback', { token: admin, body: { revision: target } });
  assert.equal(rolled.status, 200, rolled.text);
  const rollback = await fresh(admin);
  assert.equal(rollback.length, 1);
  assert.equal(rollback[0].verb, 'rollback');
  assert.equal(rollback[0].outcome, 'allowed');
  assert.deepEqual(rollback[0].kind.split(',').sort(), ['GlobalPolicy', 'Group', 'Scope']);
  assert.deepEqual(rollback[0].tenants, ['other', 'shop']);
  const shopSees = await fresh(shopAdmin.token);
  assert.deepEqual(
    shopSees.map((e) => [e.verb, e.tenant, e.kind]),
    [['rollback', 'shop', 'Scope']],
  );
  assert.doesNotMatch(shopSees[0].summary ?? '', /other|secret-gp/);
  assert.deepEqual((shopSees[0].summary ?? '').split('; ').sort(), [
    'deleted Scope shop/both-1',
    'deleted Scope shop/solo',
    'deleted Scope shop/with-gp',
  ]);
  assert.deepEqual(
    (await fresh(otherAdmin.token)).map((e) => [e.verb, e.tenant, e.summary]),
    [['rollback', 'other', 'deleted Group other/both-2']],
  );
});

test('since: entries older than the window are left out', async () => {
  const base = controller.url;
  const admin = controller.adminToken;
  const mark = async (name: string) => {
    const answer = await send(base, 'POST', '/api/v1/tenants/shop/scopes', {
      token: admin,
      body: { apiVersion: V, kind: 'Scope', metadata: { name, tenant: 'shop' }, spec: {} },
    });
    assert.equal(answer.status, 201, answer.text);
  };
  await mark('older');
  // The window (3 s) lies between the two entries' ages: "older" is at least 5 s old when asked,
  // "newer" is younger than 3 s unless the request below takes longer than that.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  await mark('newer');
  const names = (items: AuditEntry[]) => items.filter((e) => e.kind === 'Scope' && e.verb === 'create').map((e) => e.name);
  const windowed = names(await audit(admin, '?since=3s'));
  assert.deepEqual(windowed, ['newer']);
  const cli = await runCli(base, ['audit', '--since', '3s', '-o', 'json']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(names((JSON.parse(cli.stdout) as { items: AuditEntry[] }).items), ['newer']);
  const wide = names(await audit(admin, '?since=1h'));
  assert.ok(wide.includes('older') && wide.includes('newer'), 'a wider window has both');
});

test('tenet audit: table and JSON, --tenant and --since, tenant-admin narrowed', async () => {
  const admin = controller.adminToken;
  const ta = await mintToken(controller.url, admin, { role: 'tenant-admin', tenant: 'shop' });
  const json = await runCli(controller.url, ['audit', '--since', '1h', '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const items = (JSON.parse(json.stdout) as { items: AuditEntry[] }).items;
  assert.ok(items.some((e) => e.tenant === 'other') && items.some((e) => e.tenant === 'shop'));
  const narrowed = await runCli(controller.url, ['audit', '-o', 'json'], { env: { TENET_TOKEN: ta.token } });
  assert.equal(narrowed.code, 0, narrowed.stderr);
  assert.ok((JSON.parse(narrowed.stdout) as { items: AuditEntry[] }).items.every((e) => e.tenant === 'shop'));
  const table = await runCli(controller.url, ['audit', '--tenant', 'shop']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^TIME\s+TOKEN\s+VERB\s+OBJECT\s+OUTCOME\s+SUMMARY/);
  assert.match(table.stdout, /create\s+Network shop\/net\s+allowed 201/);
  const bad = await runCli(controller.url, ['audit', '--since', 'yesterday']);
  assert.equal(bad.code, 2);
});

test('a request whose URL fails to decode is answered 400 in the API error shape, and audited', async () => {
  const base = controller.url;
  const admin = controller.adminToken;
  const adminId = admin.split('_')[1];
  const before = (await audit(admin)).length;
  for (const [method, path] of [
    ['DELETE', '/api/v1/tenants/%FF'],
    ['PUT', '/api/v1/tenants/t/networks/%E0%A4%A'],
  ] as const) {
    const answer = await send(base, method, path, { token: admin, ...(method === 'PUT' ? { body: {} } : {}) });
    assert.equal(answer.status, 400, `${method} ${path}: ${answer.text}`);
    const error = (answer.json as { error: { code: number; reason: string; message: string } }).error;
    assert.equal(error.code, 400);
    assert.equal(error.reason, 'Invalid');
    assert.match(error.message, /URL/);
  }
  // A stranger's bad URL is recorded too, without a token id.
  assert.equal((await send(base, 'DELETE', '/api/v1/tenants/%FF')).status, 400);
  // A parameter beyond the router's limit keeps its 414, and is recorded like the others.
  const long = `/api/v1/tenants/t/networks/${'a'.repeat(9000)}`;
  assert.equal((await send(base, 'DELETE', long, { token: admin })).status, 414);
  const longEntries = (await audit(admin)).filter((e) => e.code === 414);
  assert.equal(longEntries.length, 1);
  assert.equal(longEntries[0].kind, long.slice(0, 128), 'the path, clipped');
  const entries = (await audit(admin)).slice(before);
  const bad = entries.filter((e) => e.code === 400 && e.kind.startsWith('/api/v1/tenants/'));
  // Entries are written as answers finish, so two quick requests may be recorded in either order.
  assert.deepEqual(
    bad.map((e) => `${e.tokenId} ${e.role} ${e.verb} ${e.kind} ${e.outcome}`).sort(),
    [
      `${adminId} admin delete /api/v1/tenants/%FF failed`,
      `${adminId} admin put /api/v1/tenants/t/networks/%E0%A4%A failed`,
      `- unauthenticated delete /api/v1/tenants/%FF failed`,
    ].sort(),
  );
  assert.ok(
    bad.every((e) => /URL/.test(e.summary ?? '')),
    'the entry says why',
  );
});
