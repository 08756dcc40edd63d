/**
 * FloatingIPPool and FloatingIP through the API: pools are an admin's, addresses are claimed
 * cluster-wide from a pool (allocated or requested), fixed once held, released on delete; a tenant
 * cannot take another tenant's address, cannot create pools, and cannot drain a pool past its quota.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import type { TenetObject } from '../../src/core/model/object';
import { ApiError } from '../../src/client/errors';

/** An API refusal whose message or details match. */
const refused =
  (status: number, pattern: RegExp) =>
  (error: unknown): boolean =>
    error instanceof ApiError && error.status === status && pattern.test([error.message, ...error.details].join(' '));

const V = 'tenet.dev/v1';
let controller: RunningController;

before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
});

const pool = (name: string, cidrs: string[]): TenetObject =>
  ({ apiVersion: V, kind: 'FloatingIPPool', metadata: { name }, spec: { cidrs } }) as TenetObject;
const fip = (tenant: string, name: string, spec: Record<string, unknown> = {}): TenetObject =>
  ({ apiVersion: V, kind: 'FloatingIP', metadata: { name, tenant }, spec }) as TenetObject;
const tenant = (name: string, spec: Record<string, unknown> = {}): TenetObject =>
  ({ apiVersion: V, kind: 'Tenant', metadata: { name }, spec }) as TenetObject;
const statusOf = (o: TenetObject): { address?: string; pool?: string } => (o.status ?? {}) as { address?: string; pool?: string };

test('addresses come from a pool, requested or allocated, unique across tenants, fixed, released on delete', async () => {
  const c = controller.client;
  await assert.rejects(c.create(pool('bad', ['198.18.0.0/30', 'fd00::/64'])), refused(400, /one address family/));
  await c.create(tenant('fa'));
  await c.create(tenant('fb'));
  await assert.rejects(c.create(fip('fa', 'none')), refused(409, /no floating IP pool exists/));
  await c.create(pool('p1', ['198.18.0.0/30']));
  const first = await c.create(fip('fa', 'web', { target: { endpoint: 'w1' } }));
  assert.deepEqual(statusOf(first), { address: '198.18.0.1', pool: 'p1' });
  const second = await c.create(fip('fb', 'web'));
  assert.equal(statusOf(second).address, '198.18.0.2', 'the same name in another tenant gets another address');
  await assert.rejects(c.create(fip('fb', 'grab', { address: '198.18.0.1' })), refused(409, /already held/));
  await assert.rejects(c.create(fip('fb', 'outside', { address: '203.0.113.1' })), refused(409, /in no floating IP pool/));
  await assert.rejects(c.create(fip('fb', 'full')), refused(409, /no free address/));
  await assert.rejects(
    c.create(fip('fa', 'both', { target: { endpoint: 'a', service: 'b' } })),
    refused(400, /exactly one of endpoint, service/),
  );
  // Moving the target is an update; the address is not.
  const moved = await c.apply([fip('fa', 'web', { target: { service: 'green' } })]);
  assert.equal(moved.results[0].action, 'configured');
  assert.deepEqual(statusOf(await c.get('FloatingIP', 'web', 'fa')), { address: '198.18.0.1', pool: 'p1' });
  await assert.rejects(c.apply([fip('fa', 'web', { address: '198.18.0.2' })]), refused(400, /fixed at creation/));
  await c.delete('FloatingIP', 'web', 'fa');
  const again = await c.create(fip('fb', 'again', { address: '198.18.0.1' }));
  assert.equal(statusOf(again).address, '198.18.0.1', 'a deleted floating IP released its address');
});

test('hostile tenant-admin: no pools, no floating IPs in another tenant, no address of another tenant, a flood stops at the quota', async () => {
  const c = controller.client;
  await c.create(tenant('ha', { quota: { floatingips: 2 } }));
  await c.create(tenant('hb'));
  await c.create(pool('hp', ['198.18.8.0/24']));
  const victim = await c.create(fip('hb', 'db', { pool: 'hp' }));
  const ta = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'ha' })).token;
  assert.equal(
    (await send(controller.url, 'POST', '/api/v1/floatingippools', { token: ta, body: pool('mine', ['198.18.9.0/24']) })).status,
    403,
  );
  assert.equal((await send(controller.url, 'GET', '/api/v1/floatingippools', { token: ta })).status, 403);
  const post = (t: string, body: TenetObject) => send(controller.url, 'POST', `/api/v1/tenants/${t}/floatingips`, { token: ta, body });
  assert.equal((await post('hb', fip('hb', 'grab', { pool: 'hp' }))).status, 404);
  const taken = await post('ha', fip('ha', 'grab', { address: statusOf(victim).address }));
  assert.equal(taken.status, 409);
  assert.doesNotMatch(taken.text, /hb/, "the holder's tenant is not revealed");
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) codes.push((await post('ha', fip('ha', `flood${i}`, { pool: 'hp' }))).status);
  assert.deepEqual(codes, [201, 201, 403, 403]);
  assert.deepEqual(statusOf(await c.get('FloatingIP', 'db', 'hb')), statusOf(victim));
});

test('floating IPs created in one apply get distinct addresses (each sees the others claimed in the same transaction)', async () => {
  const c = controller.client;
  await c.create(tenant('one'));
  await c.create(pool('p-one', ['198.18.20.0/29']));
  await c.apply([fip('one', 'a', { pool: 'p-one' }), fip('one', 'b', { pool: 'p-one' }), fip('one', 'c', { pool: 'p-one' })]);
  const addresses = await Promise.all(['a', 'b', 'c'].map(async (n) => statusOf(await c.get('FloatingIP', n, 'one')).address));
  assert.deepEqual(addresses, ['198.18.20.1', '198.18.20.2', '198.18.20.3']);
  // Two requests for one address in one apply: refused whole, nothing written.
  await assert.rejects(
    c.apply([fip('one', 'd', { address: '198.18.20.5' }), fip('one', 'e', { address: '198.18.20.5' })]),
    refused(409, /already held/),
  );
  assert.equal(await c.find('FloatingIP', 'd', 'one'), undefined);
});

test('an IPv6 pool hands out IPv6 floating IPs (not its subnet-router anycast address); a request of the wrong family is refused', async () => {
  const c = controller.client;
  await c.create(tenant('six'));
  await c.create(pool('p6', ['2001:db8:100::/126']));
  const first = await c.create(fip('six', 'a', { pool: 'p6' }));
  assert.deepEqual(statusOf(first), { address: '2001:db8:100::1', pool: 'p6' });
  const asked = await c.create(fip('six', 'b', { address: '2001:DB8:100::3' }));
  assert.equal(statusOf(asked).address, '2001:db8:100::3', 'requested, canonical');
  await assert.rejects(c.create(fip('six', 'c', { pool: 'p6', address: '2001:db8:100::' })), refused(409, /not a usable address/));
  await assert.rejects(c.create(fip('six', 'd', { pool: 'p6', address: '198.18.0.3' })), refused(409, /not a usable address/));
  await c.create(fip('six', 'e', { pool: 'p6' }));
  await assert.rejects(c.create(fip('six', 'f', { pool: 'p6' })), refused(409, /no free address/));
});

test("a Host's IPv6 underlay address must be IPv6", async () => {
  const c = controller.client;
  const host = (underlayIPv6: string): TenetObject =>
    ({ apiVersion: V, kind: 'Host', metadata: { name: 'h6' }, spec: { underlayIP: '192.0.2.61', underlayIPv6 } }) as TenetObject;
  await assert.rejects(c.create(host('192.0.2.62')), refused(400, /underlayIPv6: not an IPv6 address/));
  assert.equal(await c.find('Host', 'h6'), undefined);
  const made = await c.create(host('fd00:250::61'));
  assert.equal((made.spec as { underlayIPv6?: string }).underlayIPv6, 'fd00:250::61');
});
