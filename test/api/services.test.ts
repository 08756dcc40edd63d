/**
 * Services through the API: virtual IPs from the tenant's service range, allocated with the
 * service and released with it, never inside the tenant's networks, requested ones honoured or
 * refused (409); the server owns them; computed readyBackends; and what a hostile tenant-admin can
 * and cannot do with them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import type { TenetObject } from '../../src/core/model/object';
import { V, endpointObj, expectStatus, networkObj, tenantObj } from './api-helpers';

let controller: RunningController;
before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
});

type ServiceStatus = { virtualIPs: string[]; dnsName: string; readyBackends: number; realizedHosts: number };
const statusOf = (o: TenetObject) => o.status as ServiceStatus;

function serviceObj(tenant: string, name: string, extra: Record<string, unknown> = {}): TenetObject {
  return {
    apiVersion: V,
    kind: 'Service',
    metadata: { name, tenant },
    spec: { selector: { matchLabels: { app: name } }, ports: [{ protocol: 'TCP', port: 80 }], ...extra },
  };
}

const inV4Default = (ip: string) => /^10\.96\.\d+\.\d+$/.test(ip);
const inV6Default = (ip: string) => /^fd00:96::[0-9a-f]{1,4}$/.test(ip);

test('a service gets one VIP per family of the tenant from the default range, a DNS name, and the same VIPs as its namesake in another tenant', async () => {
  const c = controller.client;
  for (const t of ['sa', 'sb']) {
    await c.create(tenantObj(t));
    await c.create(networkObj(t, 'net', ['10.0.0.0/24', 'fd00:1::/64']));
  }
  const a = await c.create(serviceObj('sa', 'db'));
  const b = await c.create(serviceObj('sb', 'db'));
  const [v4, v6] = statusOf(a).virtualIPs;
  assert.ok(inV4Default(v4), v4);
  assert.ok(inV6Default(v6), v6);
  assert.equal(statusOf(a).dnsName, 'db.sa.svc.cluster.local');
  assert.deepEqual(statusOf(b).virtualIPs, statusOf(a).virtualIPs, 'VIPs are per tenant: identical ones in two tenants are fine');
  assert.equal(statusOf(b).dnsName, 'db.sb.svc.cluster.local');
  const read = await c.get('Service', 'db', 'sa');
  assert.deepEqual(statusOf(read).virtualIPs, [v4, v6]);
  assert.equal(statusOf(read).readyBackends, 0);
  assert.equal(statusOf(read).realizedHosts, 0);

  // A second service of the same tenant gets other VIPs.
  const other = await c.create(serviceObj('sa', 'api'));
  assert.notEqual(statusOf(other).virtualIPs[0], v4);
  assert.notEqual(statusOf(other).virtualIPs[1], v6);

  // A tenant with IPv4 only gets an IPv4 VIP only.
  await c.create(tenantObj('s4'));
  await c.create(networkObj('s4', 'net', ['10.0.0.0/24']));
  const only4 = await c.create(serviceObj('s4', 'db'));
  assert.equal(statusOf(only4).virtualIPs.length, 1);
  assert.ok(inV4Default(statusOf(only4).virtualIPs[0]));
});

test('requested VIPs are honoured or refused with 409 and change nothing; a deleted service frees its VIP', async () => {
  const c = controller.client;
  await c.create(tenantObj('sr'));
  await c.create(networkObj('sr', 'net', ['10.0.0.0/24']));
  await c.create(networkObj('sr', 'near', ['10.96.7.0/24']));
  const asked = await c.create(serviceObj('sr', 'one', { virtualIPs: ['10.96.1.10'] }));
  assert.deepEqual(statusOf(asked).virtualIPs, ['10.96.1.10']);
  const taken = await expectStatus(c.create(serviceObj('sr', 'two', { virtualIPs: ['10.96.1.10'] })), 409);
  assert.match(taken.message, /10\.96\.1\.10 is already held by service "one"/);
  await expectStatus(c.create(serviceObj('sr', 'two', { virtualIPs: ['10.200.0.1'] })), 409);
  await expectStatus(c.create(serviceObj('sr', 'two', { virtualIPs: ['10.96.0.0'] })), 409);
  const inside = await expectStatus(c.create(serviceObj('sr', 'two', { virtualIPs: ['10.96.7.20'] })), 409);
  assert.match(inside.message, /inside a network/);
  await expectStatus(c.create(serviceObj('sr', 'two', { virtualIPs: ['10.96.1.11', '10.96.1.12'] })), 400);
  assert.equal(await c.find('Service', 'two', 'sr'), undefined);

  // A network may not come to contain a VIP.
  const clash = await expectStatus(c.create(networkObj('sr', 'other', ['10.96.1.0/24'])), 409);
  assert.match(clash.message, /10\.96\.1\.10, the virtual IP of service "one"/);
  assert.equal(await c.find('Network', 'other', 'sr'), undefined);

  await c.delete('Service', 'one', 'sr');
  const again = await c.create(serviceObj('sr', 'two', { virtualIPs: ['10.96.1.10'] }));
  assert.deepEqual(statusOf(again).virtualIPs, ['10.96.1.10']);
});

test('the server owns virtualIPs and dnsName: a status write or a spec change cannot move them', async () => {
  const c = controller.client;
  await c.create(tenantObj('so'));
  const created = await c.create(serviceObj('so', 'db'));
  const vips = statusOf(created).virtualIPs;
  const written = await c.updateStatus('Service', 'db', 'so', { virtualIPs: ['10.96.9.9'], dnsName: 'evil.example.' });
  assert.deepEqual(statusOf(written).virtualIPs, vips);
  assert.equal(statusOf(written).dnsName, 'db.so.svc.cluster.local');
  await expectStatus(c.patch('Service', 'db', 'so', { spec: { virtualIPs: ['10.96.9.9'] } }), 400);
  // Naming the VIP it holds is fine, and a selector change keeps the VIPs.
  const same = await c.patch('Service', 'db', 'so', { spec: { virtualIPs: vips, selector: { matchLabels: { app: 'x' } } } });
  assert.deepEqual(statusOf(same).virtualIPs, vips);
});

test('a tenant service range is honoured, validated, and fixed while services hold VIPs; cascade deletion releases them', async () => {
  const c = controller.client;
  await expectStatus(c.create({ ...tenantObj('bad'), spec: { serviceRange: { ipv4: '10.97.0.1/24' } } }), 400);
  await expectStatus(c.create({ ...tenantObj('bad'), spec: { serviceRange: { ipv4: 'fd00::/64' } } }), 400);
  await expectStatus(c.create({ ...tenantObj('bad'), spec: { serviceRange: { ipv4: '10.0.0.0/30' } } }), 400);
  await c.create({ ...tenantObj('sx'), spec: { serviceRange: { ipv4: '172.20.5.0/24' } } });
  const svc = await c.create(serviceObj('sx', 'db'));
  assert.match(statusOf(svc).virtualIPs[0], /^172\.20\.5\.\d+$/);
  await expectStatus(c.patch('Tenant', 'sx', undefined, { spec: { serviceRange: { ipv4: '172.20.6.0/24' } } }), 409);
  await c.delete('Tenant', 'sx', undefined, { cascade: true });
  await c.create({ ...tenantObj('sx'), spec: { serviceRange: { ipv4: '172.20.5.0/24' } } });
  const back = await c.create(serviceObj('sx', 'other', { virtualIPs: statusOf(svc).virtualIPs }));
  assert.deepEqual(statusOf(back).virtualIPs, statusOf(svc).virtualIPs);
  // Without services the range may change.
  await c.delete('Service', 'other', 'sx');
  await c.patch('Tenant', 'sx', undefined, { spec: { serviceRange: { ipv4: '172.20.6.0/24' } } });
});

test('readyBackends counts the ready endpoints the selector matches in the service network', async () => {
  const c = controller.client;
  await c.create(tenantObj('sk'));
  await c.create(networkObj('sk', 'a', ['10.1.0.0/24']));
  await c.create(networkObj('sk', 'b', ['10.2.0.0/24']));
  await c.create(serviceObj('sk', 'db'));
  await c.create(serviceObj('sk', 'dba', { network: 'a', selector: { matchLabels: { app: 'db' } } }));
  await expectStatus(c.create(serviceObj('sk', 'dbz', { network: 'zzz' })), 404);
  const ready = async (name: string, network: string, app: string, phase: string) => {
    await c.create(endpointObj('sk', network, name, {}, { app }));
    await c.updateStatus('Endpoint', name, 'sk', { phase });
  };
  await ready('e1', 'a', 'db', 'ready');
  await ready('e2', 'b', 'db', 'ready');
  await ready('e3', 'a', 'db', 'pending');
  await ready('e4', 'a', 'web', 'ready');
  const counts = Object.fromEntries(
    (await c.list('Service', { tenant: 'sk' })).items.map((s) => [s.metadata.name, statusOf(s).readyBackends]),
  );
  assert.deepEqual(counts, { db: 2, dba: 1 });
  assert.equal(statusOf(await c.get('Service', 'dba', 'sk')).readyBackends, 1);
});

test("hostile tenant-admin: no services in another tenant, the other tenant's VIPs are not its business, and a flood stops at the quota", async () => {
  const c = controller.client;
  await c.create({ ...tenantObj('ha'), spec: { quota: { services: 3 } } });
  await c.create(tenantObj('hb'));
  const victim = await c.create(serviceObj('hb', 'db'));
  const ta = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'ha' })).token;
  const post = (tenant: string, body: TenetObject) =>
    send(controller.url, 'POST', `/api/v1/tenants/${tenant}/services`, { token: ta, body });
  // Another tenant does not exist for it (404, as every cross-tenant request), and nothing is created there.
  assert.equal((await post('hb', serviceObj('hb', 'grab'))).status, 404);
  assert.equal(await c.find('Service', 'grab', 'hb'), undefined);
  // Asking for the VIP tenant hb's service holds gives tenant ha its own, unrelated VIP; hb's service is untouched.
  const mine = await post('ha', serviceObj('ha', 'db', { virtualIPs: statusOf(victim).virtualIPs }));
  assert.equal(mine.status, 201, mine.text);
  assert.deepEqual(statusOf(await c.get('Service', 'db', 'hb')), { ...statusOf(victim), readyBackends: 0, realizedHosts: 0 });
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) codes.push((await post('ha', serviceObj('ha', `flood${i}`))).status);
  assert.deepEqual(codes, [201, 201, 403, 403, 403, 403]);
  assert.equal((await c.list('Service', { tenant: 'ha' })).items.length, 3);
  // The refused creates held no VIP: after one deletion a create requesting a fresh address succeeds.
  await c.delete('Service', 'flood0', 'ha');
  assert.equal((await post('ha', serviceObj('ha', 'late'))).status, 201);
});

test('--cluster-domain: services are named under it, /version tells agents, and a bad domain is refused at start', async () => {
  const corp = await startController({ extraArgs: ['--cluster-domain', 'corp.example'] });
  try {
    const c = corp.client;
    await c.create(tenantObj('cd'));
    const made = await c.create(serviceObj('cd', 'db'));
    assert.equal(statusOf(made).dnsName, 'db.cd.svc.corp.example');
    assert.equal(statusOf(await c.get('Service', 'db', 'cd')).dnsName, 'db.cd.svc.corp.example');
    const version = (await c.request('GET', '/version')) as { clusterDomain?: string };
    assert.equal(version.clusterDomain, 'corp.example');
  } finally {
    await corp.stop();
  }
  // The default controller says cluster.local.
  assert.equal(((await controller.client.request('GET', '/version')) as { clusterDomain?: string }).clusterDomain, 'cluster.local');
  for (const bad of ['Corp.Example', 'corp..example', 'x'.repeat(64) + '.example']) {
    await assert.rejects(startController({ extraArgs: ['--cluster-domain', bad] }), /cluster domain/, bad);
  }
});

test('services created by one apply never share a VIP (an address another of them took is not in the store yet)', async () => {
  const c = controller.client;
  // 1,500 names hashed into 65,534 addresses: about 17 pairs would collide within the apply.
  await c.create({ ...tenantObj('bulk'), spec: { quota: { services: 2000 } } });
  await c.create(networkObj('bulk', 'net', ['10.0.0.0/24']));
  const names = Array.from({ length: 1500 }, (_, i) => `s${i}`);
  await c.apply(names.map((n) => serviceObj('bulk', n)));
  const vips = new Map<string, string[]>();
  for (const n of names) {
    const [vip] = statusOf(await c.get('Service', n, 'bulk')).virtualIPs;
    vips.set(vip, [...(vips.get(vip) ?? []), n]);
  }
  const shared = [...vips].filter(([, holders]) => holders.length > 1);
  assert.deepEqual(shared, [], 'VIPs held by two services');
  assert.equal(vips.size, names.length);
});
