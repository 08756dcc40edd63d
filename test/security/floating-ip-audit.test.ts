/**
 * Floating-IP events in the audit trail (src/core/auth/audit-events.ts): bind, move (from → to, by
 * whose token), unbind, delete and pool changes are entries' own named events, filterable with
 * `event=`; a failed move records no event; a tenant-admin sees only its own tenant's events, never a
 * pool's or another tenant's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { runCli } from '../cli/run-cli';
import type { AuditEntry, AuditEvent } from '../../src/core/auth/audit-entry';
import { mintToken, send } from '../helpers/http';
import type { TenetObject } from '../../src/core/model/object';

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
const fip = (tenant: string, name: string, spec: Record<string, unknown>): TenetObject =>
  ({ apiVersion: V, kind: 'FloatingIP', metadata: { name, tenant }, spec }) as TenetObject;
const pool = (name: string, cidrs: string[], advertise?: string): TenetObject =>
  ({ apiVersion: V, kind: 'FloatingIPPool', metadata: { name }, spec: { cidrs, ...(advertise ? { advertise } : {}) } }) as TenetObject;

test('bind, move (from, to, who), unbind, delete and pool changes are named audit events; a tenant sees only its own', async () => {
  const base = controller.url;
  const admin = controller.adminToken;
  const adminId = admin.split('_')[1];
  const c = controller.client;
  for (const name of ['shop', 'other']) await c.create({ apiVersion: V, kind: 'Tenant', metadata: { name }, spec: {} });
  await c.create(pool('public', ['198.18.100.0/24']));
  const ta = await mintToken(base, admin, { role: 'tenant-admin', tenant: 'shop' });
  const taId = ta.token.split('_')[1];
  const asShop = { env: { TENET_TOKEN: ta.token } };

  // The shop's own admin binds, moves, unbinds, binds again and deletes.
  const post = await send(base, 'POST', '/api/v1/tenants/shop/floatingips', {
    token: ta.token,
    body: fip('shop', 'web', { target: { endpoint: 'blue-1' } }),
  });
  assert.equal(post.status, 201, post.text);
  const moved = await runCli(base, ['float', 'move', 'web', '--to', 'service/green', '--tenant', 'shop'], asShop);
  assert.equal(moved.code, 0, moved.stderr);
  const applied = await runCli(base, ['apply', '-f', '-'], {
    ...asShop,
    input: JSON.stringify(fip('shop', 'web', {})),
  });
  assert.equal(applied.code, 0, applied.stderr);
  // A change that does not touch the target is no floating-IP event.
  await c.apply([fip('shop', 'web', { description: 'spare' })]);
  await c.apply([fip('shop', 'web', { target: { service: 'blue' } })]);
  // A move that fails (a stale resourceVersion) records no event.
  const current = await c.get('FloatingIP', 'web', 'shop');
  const stale = await send(base, 'PUT', '/api/v1/tenants/shop/floatingips/web', {
    token: ta.token,
    body: { ...current, metadata: { ...current.metadata, resourceVersion: '1' }, spec: { target: { service: 'red' } } },
  });
  assert.equal(stale.status, 409, stale.text);
  assert.equal((await send(base, 'DELETE', '/api/v1/tenants/shop/floatingips/web', { token: ta.token })).status, 200);
  // One apply across tenants: each tenant's admin sees only its own event.
  await c.apply([fip('shop', 'api', { target: { endpoint: 'a' } }), fip('other', 'db', { target: { endpoint: 'd' } })]);
  // Pool changes (admins only).
  await c.apply([pool('public', ['198.18.100.0/24', '198.18.101.0/24'])]);
  await c.create(pool('lan', ['192.0.2.200/29'], 'l2'));
  await c.delete('FloatingIPPool', 'lan');

  const events = (entries: AuditEntry[]): (AuditEvent & { tokenId: string })[] =>
    entries.flatMap((e) => (e.events ?? []).map((event) => ({ ...event, tokenId: e.tokenId })));
  const all = events(await audit(admin, '?event=floatingip'));
  assert.deepEqual(all, [
    { event: 'floatingip.bind', tenant: 'shop', name: 'web', address: '198.18.100.1', to: 'endpoint/blue-1', tokenId: taId },
    {
      event: 'floatingip.move',
      tenant: 'shop',
      name: 'web',
      address: '198.18.100.1',
      from: 'endpoint/blue-1',
      to: 'service/green',
      tokenId: taId,
    },
    { event: 'floatingip.unbind', tenant: 'shop', name: 'web', address: '198.18.100.1', from: 'service/green', tokenId: taId },
    { event: 'floatingip.bind', tenant: 'shop', name: 'web', address: '198.18.100.1', to: 'service/blue', tokenId: adminId },
    { event: 'floatingip.delete', tenant: 'shop', name: 'web', address: '198.18.100.1', from: 'service/blue', tokenId: taId },
    { event: 'floatingip.bind', tenant: 'shop', name: 'api', address: '198.18.100.1', to: 'endpoint/a', tokenId: adminId },
    { event: 'floatingip.bind', tenant: 'other', name: 'db', address: '198.18.100.2', to: 'endpoint/d', tokenId: adminId },
  ]);
  assert.deepEqual(
    events(await audit(admin, '?event=floatingippool')).map((e) => [e.event, e.name, e.from, e.to]),
    [
      ['floatingippool.create', 'public', undefined, '198.18.100.0/24 bgp'],
      ['floatingippool.update', 'public', '198.18.100.0/24 bgp', '198.18.100.0/24,198.18.101.0/24 bgp'],
      ['floatingippool.create', 'lan', undefined, '192.0.2.200/29 l2'],
      ['floatingippool.delete', 'lan', '192.0.2.200/29 l2', undefined],
    ],
  );
  assert.deepEqual(
    events(await audit(admin, '?event=floatingip.move')).map((e) => e.event),
    ['floatingip.move'],
  );

  // The shop's admin: its own events only (the cross-tenant apply narrowed to shop's part), no pool's.
  const shopEvents = events(await audit(ta.token, '?event=floatingip'));
  assert.deepEqual(
    shopEvents.map((e) => `${e.event} ${e.tenant}/${e.name}`),
    [
      'floatingip.bind shop/web',
      'floatingip.move shop/web',
      'floatingip.unbind shop/web',
      'floatingip.bind shop/web',
      'floatingip.delete shop/web',
      'floatingip.bind shop/api',
    ],
  );
  assert.deepEqual(events(await audit(ta.token, '?event=floatingippool')), []);
  assert.ok(
    events(await audit(ta.token)).every((e) => e.tenant === 'shop'),
    'no other tenant and no pool in what shop sees',
  );

  // The CLI: --event filters; the table says what moved, from where to where.
  const table = await runCli(base, ['audit', '--event', 'floatingip.move']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    new RegExp(
      `${taId} tenant-admin\\(shop\\)\\s+update\\s+FloatingIP shop/web\\s+allowed 200\\s+floatingip\\.move shop/web 198\\.18\\.100\\.1: endpoint/blue-1 -> service/green`,
    ),
  );
  assert.equal(table.stdout.trim().split('\n').length, 2, 'one entry: the move');
  const bad = await send(base, 'GET', '/api/v1/audit?event=floatingip.steal', { token: admin });
  assert.equal(bad.status, 400);
});
