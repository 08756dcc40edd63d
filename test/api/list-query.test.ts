/** List pagination (limit/continue at one revision), field selectors, and 400 for unknown query parameters. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken } from '../helpers/http';
import { networkObj, raw, tenantObj } from './api-helpers';
import { send } from '../helpers/http';

let controller: RunningController;
before(async () => {
  controller = await startController();
  const c = controller.client;
  await c.create(tenantObj('pg'));
  await c.create(tenantObj('pg2'));
  for (const [i, name] of ['a', 'b', 'c', 'd', 'e'].entries()) await c.create(networkObj('pg', name, [`10.50.${i}.0/24`]));
  await c.create(networkObj('pg2', 'a', ['10.51.0.0/24']));
});
after(async () => {
  await controller?.stop();
});

type ListBody = {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: { metadata: { name: string; tenant?: string } }[];
};

async function get(path: string): Promise<{ status: number; body: ListBody & { error?: { message: string; details: string[] } } }> {
  const answer = await raw(controller.url, 'GET', path);
  return { status: answer.status, body: answer.json as ListBody & { error?: { message: string; details: string[] } } };
}

test("limit cuts the list and continue pages through it at the first page's revision", async () => {
  const first = await get('/api/v1/tenants/pg/networks?limit=2');
  assert.equal(first.status, 200);
  assert.deepEqual(
    first.body.items.map((i) => i.metadata.name),
    ['a', 'b'],
  );
  assert.equal(first.body.metadata.remainingItemCount, 3);
  const token = first.body.metadata.continue;
  assert.ok(token, 'a continue token');
  // A change between pages does not show: every page is of the first page's revision.
  await controller.client.create(networkObj('pg', 'bb', ['10.50.9.0/24']));
  const second = await get(`/api/v1/tenants/pg/networks?limit=2&continue=${encodeURIComponent(token)}`);
  assert.equal(second.status, 200);
  assert.deepEqual(
    second.body.items.map((i) => i.metadata.name),
    ['c', 'd'],
  );
  assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
  const third = await get(`/api/v1/tenants/pg/networks?limit=2&continue=${encodeURIComponent(second.body.metadata.continue!)}`);
  assert.deepEqual(
    third.body.items.map((i) => i.metadata.name),
    ['e'],
  );
  assert.equal(third.body.metadata.continue, undefined, 'the last page has no token');
  // A token is used once; used again (or expired, or from another controller) it is 410 Gone.
  const again = await get(`/api/v1/tenants/pg/networks?limit=2&continue=${encodeURIComponent(token)}`);
  assert.equal(again.status, 410);
  assert.match(again.body.error!.message, /list again/);
  // Without limit, everything (now including bb).
  assert.equal((await get('/api/v1/tenants/pg/networks')).body.items.length, 6);
  assert.equal((await get('/api/v1/tenants/pg/networks?limit=0')).body.items.length, 6);
  assert.equal((await get('/api/v1/networks?limit=1')).body.items.length, 1, 'limit=1 answers one item');
});

test('continue tokens: malformed 400, another query 400, another caller 400', async () => {
  assert.equal((await get('/api/v1/tenants/pg/networks?continue=not-a-token')).status, 400);
  const first = await get('/api/v1/tenants/pg/networks?limit=1');
  const token = encodeURIComponent(first.body.metadata.continue!);
  assert.equal((await get(`/api/v1/tenants/pg/networks?limit=1&labelSelector=x%3Dy&continue=${token}`)).status, 400);
  const viewer = await mintToken(controller.url, controller.adminToken, { role: 'viewer', tenant: 'pg' });
  const other = await send(controller.url, 'GET', `/api/v1/tenants/pg/networks?limit=1&continue=${token}`, { token: viewer.token });
  assert.equal(other.status, 400, other.text);
  for (const bad of ['-1', 'x', '1.5']) assert.equal((await get(`/api/v1/tenants/pg/networks?limit=${bad}`)).status, 400, `limit=${bad}`);
  assert.equal((await get('/api/v1/tenants/pg/networks?watch=1&limit=1')).status, 400, 'limit on a watch');
});

test('fieldSelector: metadata.name and metadata.tenant; other fields are refused by name', async () => {
  assert.deepEqual(
    (await get('/api/v1/networks?fieldSelector=metadata.name%3Da')).body.items.map((i) => `${i.metadata.tenant}/${i.metadata.name}`),
    ['pg/a', 'pg2/a'],
  );
  assert.deepEqual(
    (await get('/api/v1/networks?fieldSelector=metadata.name%3D%3Da,metadata.tenant!%3Dpg')).body.items.map(
      (i) => `${i.metadata.tenant}/${i.metadata.name}`,
    ),
    ['pg2/a'],
  );
  assert.deepEqual(
    (await get('/api/v1/tenants?fieldSelector=metadata.name%3Dpg2')).body.items.map((i) => i.metadata.name),
    ['pg2'],
  );
  const refused = await get('/api/v1/networks?fieldSelector=spec.mtu%3D1400');
  assert.equal(refused.status, 400);
  assert.match(refused.body.error!.message, /field "spec.mtu" is not supported; supported: metadata.name, metadata.tenant/);
  assert.equal((await get('/api/v1/networks?fieldSelector=metadata.name')).status, 400, 'no operator');
});

test('an unknown query parameter is 400 on every route, naming it and the allowed ones', async () => {
  const cases: [string, string, string?][] = [
    ['GET', '/api/v1/tenants/pg/networks?labelSelectr=a%3Db'],
    ['GET', '/api/v1/networks?bogus=1'],
    ['GET', '/api/v1/tenants/pg/networks/a?pretty=true'],
    ['GET', '/api/v1/tenants/pg?x=1'],
    ['DELETE', '/api/v1/tenants/pg/networks/a?cascade=true'],
    ['POST', '/api/v1/apply?dryRun=true', JSON.stringify({ objects: [tenantObj('zz')] })],
    ['GET', '/api/v1/history?limit=1'],
    ['GET', '/api/v1/snapshot?kinds=Tenant&x=1'],
    ['GET', '/api/v1/audit?foo=1'],
    ['GET', '/api/v1/openapi.json?v=2'],
    ['GET', '/api/v1/whoami?me=1'],
  ];
  for (const [method, path, body] of cases) {
    const answer = await raw(controller.url, method, path, body);
    assert.equal(answer.status, 400, `${method} ${path}: ${answer.text}`);
    assert.match((answer.json as { error: { message: string } }).error.message, /unknown query parameter/, path);
  }
  const listAnswer = (await get('/api/v1/tenants/pg/networks?labelSelectr=a')).body;
  assert.match(listAnswer.error!.message, /"labelSelectr"; this route takes labelSelector, fieldSelector/);
  // Nothing was changed by the refused requests.
  assert.ok(await controller.client.find('Network', 'a', 'pg'));
  assert.equal(await controller.client.find('Tenant', 'zz'), undefined);
  // The known ones still work.
  assert.equal((await raw(controller.url, 'GET', '/api/v1/audit?limit=1')).status, 200);
  assert.equal((await raw(controller.url, 'GET', '/api/v1/snapshot?kinds=Tenant')).status, 200);
});

test('the OpenAPI document lists limit, continue and fieldSelector', async () => {
  const doc = (await raw(controller.url, 'GET', '/api/v1/openapi.json')).json as {
    paths: Record<string, { get?: { parameters: { name: string }[] } }>;
  };
  const names = doc.paths['/api/v1/tenants/{tenant}/networks'].get!.parameters.map((p) => p.name);
  for (const name of ['limit', 'continue', 'fieldSelector', 'labelSelector']) assert.ok(names.includes(name), name);
});
