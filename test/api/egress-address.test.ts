/**
 * Egress addresses through the API (docs/external.md, "Egress address"): an address from an admin's
 * BGP FloatingIPPool, unique cluster-wide (against other tenants' egress addresses and floating IPs
 * alike), released when changed or when the tenant goes; a tenant-admin can neither set one nor take
 * another tenant's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import type { TenetObject } from '../../src/core/model/object';
import { ApiError } from '../../src/client/errors';

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

const tenant = (name: string, egress?: Record<string, unknown>): TenetObject =>
  ({ apiVersion: V, kind: 'Tenant', metadata: { name }, spec: egress ? { egress: { mode: 'nat', ...egress } } : {} }) as TenetObject;
const pool = (name: string, cidrs: string[], advertise?: string): TenetObject =>
  ({ apiVersion: V, kind: 'FloatingIPPool', metadata: { name }, spec: { cidrs, ...(advertise ? { advertise } : {}) } }) as TenetObject;
const fip = (t: string, name: string, spec: Record<string, unknown>): TenetObject =>
  ({ apiVersion: V, kind: 'FloatingIP', metadata: { name, tenant: t }, spec }) as TenetObject;
const egressOf = async (name: string): Promise<unknown> => (await controller.client.get('Tenant', name)).spec.egress;

test('an egress address comes from a BGP pool, is unique against egress addresses and floating IPs, and is released', async () => {
  const c = controller.client;
  await c.apply([pool('eg', ['198.18.210.0/24']), pool('lan', ['192.168.250.200/29'], 'l2'), pool('small', ['198.18.211.0/30'])]);
  await c.apply([tenant('ea', { address: '198.18.210.5', host: 'h1' })]);
  await assert.rejects(c.apply([tenant('eb', { address: '198.18.210.5', host: 'h2' })]), refused(409, /198\.18\.210\.5 is already held/));
  await c.apply([tenant('eb')]);
  await assert.rejects(c.create(fip('eb', 'grab', { address: '198.18.210.5' })), refused(409, /already held/));
  await assert.rejects(c.apply([tenant('eb', { address: '203.0.113.5', host: 'h1' })]), refused(409, /in no floating IP pool/));
  await assert.rejects(c.apply([tenant('eb', { address: '192.168.250.201', host: 'h1' })]), refused(409, /layer 2/));
  await assert.rejects(c.apply([tenant('eb', { address: '198.18.210.7' })]), refused(400, /spec\.egress\.host: required/));
  await assert.rejects(c.apply([tenant('eb', { host: 'h1' })]), refused(400, /only with spec\.egress\.address/));
  await assert.rejects(c.apply([tenant('eb', { address: 'fd00::5', host: 'h1' })]), refused(400, /not an IPv4 address/));
  assert.equal(await egressOf('eb'), undefined, 'no refused write changed anything');

  // Changing the address releases the old one; deleting the tenant releases its address.
  await c.apply([tenant('ea', { address: '198.18.210.6', host: 'h1' })]);
  await c.apply([tenant('eb', { address: '198.18.210.5', host: 'h2' })]);
  await c.delete('Tenant', 'ea');
  const taken = await c.create(fip('eb', 'six', { address: '198.18.210.6' }));
  assert.equal((taken.status as { address?: string }).address, '198.18.210.6');

  // Allocation of floating IPs skips an address held as an egress address.
  await c.apply([tenant('ec', { address: '198.18.211.1', host: 'h1' })]);
  const allocated = await c.create(fip('eb', 'auto', { pool: 'small' }));
  assert.equal((allocated.status as { address?: string }).address, '198.18.211.2');
});

test("hostile tenant-admin: cannot set an egress address, nor take another tenant's, nor learn whose it is", async () => {
  const c = controller.client;
  // The pool exists before the address is claimed (as for floating IPs: not in the same apply).
  await c.apply([pool('hp', ['198.18.220.0/24'])]);
  await c.apply([tenant('hv', { address: '198.18.220.9', host: 'h1' }), tenant('hx')]);
  const token = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'hx' })).token;
  const put = await send(controller.url, 'PUT', '/api/v1/tenants/hx', {
    token,
    body: tenant('hx', { address: '198.18.220.10', host: 'h1' }),
  });
  assert.equal(put.status, 403);
  assert.equal(await egressOf('hx'), undefined);
  const grab = await send(controller.url, 'POST', '/api/v1/tenants/hx/floatingips', {
    token,
    body: fip('hx', 'grab', { address: '198.18.220.9' }),
  });
  assert.equal(grab.status, 409);
  assert.doesNotMatch(grab.text, /hv/, "the holder's tenant is not revealed");
  assert.deepEqual(await egressOf('hv'), { mode: 'nat', address: '198.18.220.9', host: 'h1' });
});
