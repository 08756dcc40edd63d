import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import type { TenetObject } from '../../src/core/model/object';
import { V, endpointObj, expectStatus, networkObj, raw, tenantObj } from './api-helpers';

let controller: RunningController;
before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
});

const samples = (tenant: string): TenetObject[] => [
  { apiVersion: V, kind: 'Scope', metadata: { name: 'prod', tenant, labels: { env: 'prod' } }, spec: { description: 'production' } },
  { apiVersion: V, kind: 'Group', metadata: { name: 'web', tenant, labels: { tier: 'front' } }, spec: { selector: { matchLabels: { app: 'web' } } } },
  {
    apiVersion: V,
    kind: 'Policy',
    metadata: { name: 'allow-web', tenant },
    spec: { appliesTo: { group: 'web' }, ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: 'lb' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
  },
  { apiVersion: V, kind: 'Service', metadata: { name: 'web', tenant }, spec: { selector: { matchLabels: { app: 'web' } }, ports: [{ protocol: 'TCP', port: 80 }] } },
];

test('CRUD for every kind, with label selectors, PUT, PATCH, status and DELETE', async () => {
  const c = controller.client;
  const tenant = await c.create(tenantObj('crud', { team: 'a' }));
  assert.ok((tenant.status as { vni: number }).vni >= 4096);
  assert.ok(tenant.metadata.uid && tenant.metadata.createdAt && tenant.metadata.resourceVersion);
  const net = await c.create(networkObj('crud', 'web', ['10.10.0.0/24', 'fd00:10::/64']));
  assert.deepEqual((net.status as { gateways: string[] }).gateways, ['10.10.0.1', 'fd00:10::1']);
  for (const object of samples('crud')) {
    const created = await c.create(object);
    assert.equal(created.kind, object.kind);
    const read = await c.get(object.kind, object.metadata.name, 'crud');
    assert.deepEqual(read.spec, object.spec);
    const changed = await c.update({ ...read, metadata: { ...read.metadata, labels: { ...(read.metadata.labels ?? {}), changed: 'yes' } } });
    assert.equal(changed.metadata.labels?.changed, 'yes');
    assert.ok(Number(changed.metadata.resourceVersion) > Number(read.metadata.resourceVersion));
    const patched = await c.patch(object.kind, object.metadata.name, 'crud', { metadata: { labels: { patched: 'true' } } });
    assert.equal((patched as TenetObject).metadata.labels?.patched, 'true');
    assert.equal((patched as TenetObject).metadata.labels?.changed, 'yes');
  }
  // A patch of the spec alone (no metadata at all) applies to the live version.
  const mtu = await c.patch<TenetObject>('Network', 'web', 'crud', { spec: { mtu: 1450 } });
  assert.equal(mtu.spec.mtu, 1450);
  assert.deepEqual((mtu.spec.subnets as unknown[]).length, 2);
  // null removes a field (RFC 7386).
  assert.equal((await c.patch<TenetObject>('Network', 'web', 'crud', { spec: { mtu: null } })).spec.mtu, undefined);
  const global = await c.create({
    apiVersion: V,
    kind: 'GlobalPolicy',
    metadata: { name: 'deny-outside' },
    spec: { tier: 'admin', priority: 10, appliesTo: { tenants: ['crud'] }, ingress: [{ action: 'deny', from: [{ cidr: '192.0.2.0/24' }] }] },
  });
  assert.equal((global as TenetObject).metadata.tenant, undefined);
  const host = await c.create({ apiVersion: V, kind: 'Host', metadata: { name: 'node-1', labels: { zone: 'a' } }, spec: { underlayIP: '192.0.2.10' } });
  const hostStatus = await c.updateStatus<TenetObject>('Host', 'node-1', undefined, { ready: true, agentVersion: '0.1.0' });
  assert.deepEqual(hostStatus.status, { ready: true, agentVersion: '0.1.0' });
  assert.deepEqual((await c.get('Host', 'node-1')).spec, host.spec);

  const ep = await c.create(endpointObj('crud', 'web', 'ep-1', { host: 'node-1' }, { app: 'web' }));
  const st = ep.status as { ipv4: string; ipv6: string; mac: string; phase: string };
  assert.equal(st.ipv4, '10.10.0.2');
  assert.equal(st.ipv6, 'fd00:10::2');
  assert.match(st.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(st.phase, 'pending');
  // Agents set the phase; the addresses stay the server's.
  const ready = await c.updateStatus<TenetObject>('Endpoint', 'ep-1', 'crud', { phase: 'ready', ipv4: '10.10.0.99', hostIfName: 'tn-abc' });
  assert.deepEqual(ready.status, { ipv4: '10.10.0.2', ipv6: 'fd00:10::2', mac: st.mac, phase: 'ready', hostIfName: 'tn-abc' });
  await c.create(endpointObj('crud', 'web', 'ep-2', {}, { app: 'db' }));

  assert.deepEqual((await c.list('Endpoint', { tenant: 'crud', labelSelector: 'app=web' })).items.map((o) => o.metadata.name), ['ep-1']);
  assert.deepEqual((await c.list('Endpoint', { tenant: 'crud', labelSelector: 'app!=web' })).items.map((o) => o.metadata.name), ['ep-2']);
  assert.deepEqual((await c.list('Endpoint', { labelSelector: 'app in (web,db)' })).items.map((o) => o.metadata.name), ['ep-1', 'ep-2']);
  assert.deepEqual((await c.list('Host', { labelSelector: 'zone' })).items.map((o) => o.metadata.name), ['node-1']);
  const bad = await raw(controller.url, 'GET', '/api/v1/endpoints?labelSelector=' + encodeURIComponent('a in (b'));
  assert.equal(bad.status, 400);

  const deleted = await c.delete('Endpoint', 'ep-2', 'crud');
  assert.equal(deleted.metadata.name, 'ep-2');
  await expectStatus(c.get('Endpoint', 'ep-2', 'crud'), 404);
  await expectStatus(c.delete('Endpoint', 'ep-2', 'crud'), 404);
  for (const object of samples('crud')) await c.delete(object.kind, object.metadata.name, 'crud');
  await c.delete('GlobalPolicy', 'deny-outside');
  await c.delete('Host', 'node-1');
  await c.delete('Endpoint', 'ep-1', 'crud');
  await c.delete('Network', 'web', 'crud');
  await c.delete('Tenant', 'crud');
  assert.equal((await c.list('Network', { tenant: 'crud' })).items.length, 0);
});

test('conflicts: duplicate create, stale resourceVersion, overlap, network in use, tenant not empty, cascade', async () => {
  const c = controller.client;
  await c.create(tenantObj('cf'));
  await expectStatus(c.create(tenantObj('cf')), 409);
  const net = await c.create(networkObj('cf', 'a', ['10.20.0.0/16']));
  const fresh = await c.update({ ...net, spec: { ...net.spec, mtu: 1400 } });
  const stale = await expectStatus(c.update({ ...net, spec: { ...net.spec, mtu: 1300 } }), 409);
  assert.match(stale.message, /changed since resourceVersion/);
  assert.equal((await c.get('Network', 'a', 'cf')).spec.mtu, 1400);
  await expectStatus(c.patch('Network', 'a', 'cf', { metadata: { resourceVersion: net.metadata.resourceVersion }, spec: { mtu: 1500 } }), 409);
  assert.equal((await c.patch<TenetObject>('Network', 'a', 'cf', { metadata: { resourceVersion: fresh.metadata.resourceVersion }, spec: { mtu: 1500 } })).spec.mtu, 1500);
  const overlap = await expectStatus(c.create(networkObj('cf', 'b', ['10.20.5.0/24'])), 409);
  assert.match(overlap.details.join(';'), /overlaps 10\.20\.0\.0\/16/);
  // The same subnet in another tenant is fine: tenants are isolated.
  await c.create(tenantObj('cf2'));
  await c.create(networkObj('cf2', 'a', ['10.20.0.0/16']));

  await c.create(endpointObj('cf', 'a', 'e1'));
  const inUse = await expectStatus(c.delete('Network', 'a', 'cf'), 409);
  assert.match(inUse.message, /still has 1 endpoint/);
  await expectStatus(c.update({ ...(await c.get('Network', 'a', 'cf')), spec: { subnets: [{ cidr: '10.21.0.0/16' }] } }), 409);
  const notEmpty = await expectStatus(c.delete('Tenant', 'cf'), 409);
  assert.match(notEmpty.message, /not empty/);
  // After the refused deletions the tenant is fully usable again (its guard was restored).
  await c.create(endpointObj('cf', 'a', 'e2'));

  await expectStatus(c.create(networkObj('nope', 'a', ['10.0.0.0/24'])), 404);
  const missingNet = await expectStatus(c.create(endpointObj('cf', 'missing', 'e3')), 404);
  assert.match(missingNet.message, /network "missing" not found/);
  await expectStatus(c.create(endpointObj('nope', 'a', 'e3')), 404);

  const gone = await c.delete('Tenant', 'cf', undefined, { cascade: true });
  assert.equal(gone.metadata.name, 'cf');
  assert.equal((await c.list('Endpoint', { tenant: 'cf' })).items.length, 0);
  assert.equal((await c.list('Network', { tenant: 'cf' })).items.length, 0);
  // The name and the subnets can be used again.
  await c.create(tenantObj('cf'));
  await c.create(networkObj('cf', 'a', ['10.20.0.0/16']));
  const e = await c.create(endpointObj('cf', 'a', 'e1'));
  assert.equal((e.status as { ipv4: string }).ipv4, '10.20.0.2');
  await c.delete('Tenant', 'cf', undefined, { cascade: true });
  await c.delete('Tenant', 'cf2', undefined, { cascade: true });
});

test('IPAM through the API: requested IP and MAC honoured or refused, exhaustion, release on delete', async () => {
  const c = controller.client;
  await c.create(tenantObj('ipam'));
  await c.create({
    apiVersion: V,
    kind: 'Network',
    metadata: { name: 'small', tenant: 'ipam' },
    spec: { subnets: [{ cidr: '10.30.0.0/29', gateway: '10.30.0.6', reserved: [{ start: '10.30.0.1', end: '10.30.0.2' }] }] },
  });
  const wanted = await c.create(endpointObj('ipam', 'small', 'r1', { ips: ['10.30.0.4'], mac: '02:AA:BB:CC:DD:EE' }));
  assert.equal((wanted.status as { ipv4: string }).ipv4, '10.30.0.4');
  assert.equal((wanted.status as { mac: string }).mac, '02:aa:bb:cc:dd:ee');
  const taken = await expectStatus(c.create(endpointObj('ipam', 'small', 'r2', { ips: ['10.30.0.4'] })), 409);
  assert.match(taken.message, /already used by endpoint "r1"/);
  assert.match((await expectStatus(c.create(endpointObj('ipam', 'small', 'r2', { ips: ['10.30.0.6'] })), 409)).message, /gateway/);
  assert.match((await expectStatus(c.create(endpointObj('ipam', 'small', 'r2', { ips: ['10.30.0.2'] })), 409)).message, /reserved/);
  assert.match((await expectStatus(c.create(endpointObj('ipam', 'small', 'r2', { ips: ['10.30.0.7'] })), 409)).message, /broadcast/);
  await expectStatus(c.create(endpointObj('ipam', 'small', 'r2', { ips: ['10.31.0.3'] })), 400);
  await expectStatus(c.create(endpointObj('ipam', 'small', 'r2', { mac: '02:aa:bb:cc:dd:ee' })), 409);
  await expectStatus(c.create(endpointObj('ipam', 'small', 'r2', { mac: '01:aa:bb:cc:dd:ee' })), 400);
  const a = await c.create(endpointObj('ipam', 'small', 'a'));
  const b = await c.create(endpointObj('ipam', 'small', 'b'));
  assert.deepEqual([(a.status as { ipv4: string }).ipv4, (b.status as { ipv4: string }).ipv4].sort(), ['10.30.0.3', '10.30.0.5']);
  const full = await expectStatus(c.create(endpointObj('ipam', 'small', 'c')), 409);
  assert.match(full.message, /no free IPv4 address/);
  await c.delete('Endpoint', 'a', 'ipam');
  const again = await c.create(endpointObj('ipam', 'small', 'c'));
  assert.equal((again.status as { ipv4: string }).ipv4, (a.status as { ipv4: string }).ipv4);
  // Endpoint addresses are immutable through PUT.
  const current = await c.get('Endpoint', 'c', 'ipam');
  await expectStatus(c.update({ ...current, spec: { ...current.spec, ips: ['10.30.0.3'] } }), 400);
  await c.delete('Tenant', 'ipam', undefined, { cascade: true });
});

test('500 concurrent endpoint creates get 500 distinct addresses and MACs', async () => {
  const c = controller.client;
  await c.create(tenantObj('many'));
  await c.create(networkObj('many', 'big', ['10.40.0.0/22', 'fd00:40::/64']));
  const created = await Promise.all(Array.from({ length: 500 }, (_, i) => c.create(endpointObj('many', 'big', `ep-${i}`))));
  const v4 = new Set(created.map((e) => (e.status as { ipv4: string }).ipv4));
  const v6 = new Set(created.map((e) => (e.status as { ipv6: string }).ipv6));
  const macs = new Set(created.map((e) => (e.status as { mac: string }).mac));
  assert.equal(v4.size, 500);
  assert.equal(v6.size, 500);
  assert.equal(macs.size, 500);
  assert.ok(!v4.has('10.40.0.1') && !v4.has('10.40.0.0'));
  const metrics = await raw(controller.url, 'GET', '/metrics');
  assert.match(metrics.text, /tenet_ipam_addresses_allocated\{tenant="many",network="big",family="ipv4"\} 500/);
  assert.match(metrics.text, /tenet_ipam_addresses_total\{tenant="many",network="big",family="ipv4"\} 1021/);
  assert.match(metrics.text, /tenet_objects\{kind="Endpoint"\} 500/);
  assert.match(metrics.text, /tenet_http_requests_total\{method="POST",route="\/api\/v1\/tenants\/:tenant\/endpoints",code="201"\} \d+/);
  await c.delete('Tenant', 'many', undefined, { cascade: true });
});

test('bad input is refused with 400/404/413 and changes nothing', async () => {
  const c = controller.client;
  await c.create(tenantObj('bad'));
  await c.create(networkObj('bad', 'n', ['10.50.0.0/24']));
  // Objects and their resourceVersions, not the store revision: an audit trail may record refused requests.
  const state = async () => (await c.snapshot(['Tenant', 'Network', 'Scope', 'Group', 'Policy', 'GlobalPolicy', 'Service', 'Endpoint', 'Host'])).items.map((o) => `${o.kind}/${o.metadata.tenant ?? ''}/${o.metadata.name}@${o.metadata.resourceVersion}`);
  const start = await state();
  const historyBefore = (await c.history()).length;
  const url = controller.url;
  const cases: [string, string, string | Buffer, number, Record<string, string>?][] = [
    ['POST', '/api/v1/tenants', '{"metadata": {"name": "x"', 400],
    ['POST', '/api/v1/tenants', 'null', 400],
    ['POST', '/api/v1/tenants', '[]', 400],
    ['POST', '/api/v1/tenants', '"text"', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":42},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"a;b"},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"$(reboot)"},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"a/b"},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"a b"},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"ünï"},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"ok"},"spec":{"defaultPolicy":"maybe"}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"ok","__proto__":{"x":1}},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"metadata":{"name":"ok"},"spec":{}}', 400, { 'content-type': 'text/plain' }],
    ['POST', '/api/v1/tenants/bad/networks', '{"metadata":{"name":"o"},"spec":{"subnets":[{"cidr":"10.50.0.128/25"}]}}', 409],
    ['POST', '/api/v1/tenants/bad/networks', '{"metadata":{"name":"g"},"spec":{"subnets":[{"cidr":"10.60.0.0/24","gateway":"10.61.0.1"}]}}', 400],
    ['POST', '/api/v1/tenants/bad/networks', '{"metadata":{"name":"h"},"spec":{"subnets":[{"cidr":"10.60.0.1/24"}]}}', 400],
    ['POST', '/api/v1/tenants/bad/networks', '{"metadata":{"name":"h","tenant":"other"},"spec":{"subnets":[{"cidr":"10.60.0.0/24"}]}}', 400],
    ['POST', '/api/v1/tenants/a%3Bb/networks', '{"metadata":{"name":"h"},"spec":{"subnets":[{"cidr":"10.60.0.0/24"}]}}', 400],
    ['POST', '/api/v1/tenants/ghost/networks', '{"metadata":{"name":"h"},"spec":{"subnets":[{"cidr":"10.60.0.0/24"}]}}', 404],
    ['PUT', '/api/v1/tenants/bad/networks/n', '{"metadata":{"name":"other"},"spec":{"subnets":[{"cidr":"10.50.0.0/24"}]}}', 400],
    ['PUT', '/api/v1/tenants/bad/networks/n', '{"metadata":{"name":"n","resourceVersion":"abc"},"spec":{"subnets":[{"cidr":"10.50.0.0/24"}]}}', 400],
    ['PATCH', '/api/v1/tenants/bad/networks/n', '{"spec":{"subnets":"no"}}', 400, { 'content-type': 'application/merge-patch+json' }],
    ['PATCH', '/api/v1/tenants/bad/networks/n', '[1]', 400, { 'content-type': 'application/merge-patch+json' }],
    ['PUT', '/api/v1/tenants/bad/networks/n/status', '{"status":{"allocated":-1}}', 400],
    ['PUT', '/api/v1/tenants/bad/networks/n/status', '{"nostatus":1}', 400],
    ['POST', '/api/v1/tenants/bad/endpoints', '{"metadata":{"name":"e"},"spec":{"network":"n","ips":["10.50.0.1"]}}', 409],
    ['POST', '/api/v1/tenants/bad/endpoints', '{"metadata":{"name":"e"},"spec":{"network":"n","ips":["not-an-ip"]}}', 400],
    ['POST', '/api/v1/apply', '{"objects":[{"kind":"Tenant","apiVersion":"tenet.dev/v1","metadata":{"name":"fine"},"spec":{}},{"kind":"Nope"}]}', 400],
    ['POST', '/api/v1/apply', '{"objects":"x"}', 400],
    ['POST', '/api/v1/rollback', '{"revision":"x"}', 400],
    ['POST', '/api/v1/rollback', '{"revision":99999}', 404],
    ['GET', '/api/v1/snapshot?kinds=Nope', '', 400],
    ['GET', '/api/v1/tenants?watch=1&resourceVersion=-1', '', 400],
    ['DELETE', '/api/v1/tenants/ghost', '', 404],
    ['GET', '/api/v1/unknown', '', 404],
    ['POST', '/api/v1/tenants', Buffer.alloc(1024 * 1024 + 10, 0x20), 413],
  ];
  for (const [method, path, body, status, headers] of cases) {
    const answer = await raw(url, method, path, body === '' ? undefined : body, headers);
    assert.equal(answer.status, status, `${method} ${path} ${String(body).slice(0, 80)} -> ${answer.status} ${answer.text.slice(0, 300)}`);
    const error = (answer.json as { error?: { code: number; reason: string; message: string; details: string[] } }).error;
    assert.ok(error, `JSON error body for ${method} ${path}: ${answer.text.slice(0, 200)}`);
    assert.equal(error.code, status);
    assert.equal(typeof error.message, 'string');
  }
  const many = await raw(url, 'POST', '/api/v1/tenants/bad/networks', JSON.stringify({ metadata: { name: 'BAD' }, spec: { subnets: [{ cidr: '10.0.0.1/33', gateway: 'x' }], mtu: 1 } }));
  assert.equal(many.status, 400);
  assert.ok((many.json as { error: { details: string[] } }).error.details.length >= 2, many.text);
  assert.deepEqual(await state(), start, 'no object was written');
  assert.equal((await c.history()).length, historyBefore, 'no history revision was made');
  assert.deepEqual((await c.list('Tenant')).items.map((t) => t.metadata.name), ['bad']);
  await c.delete('Tenant', 'bad', undefined, { cascade: true });
});

test('health, OpenAPI and snapshot', async () => {
  assert.deepEqual((await raw(controller.url, 'GET', '/healthz')).json, { ok: true });
  const openapi = (await raw(controller.url, 'GET', '/api/v1/openapi.json')).json as {
    paths: Record<string, unknown>;
    components: { schemas: Record<string, { properties: Record<string, unknown> }> };
  };
  assert.ok(openapi.paths['/api/v1/tenants/{tenant}/endpoints']);
  assert.ok(openapi.components.schemas.Network.properties.spec);
  const c = controller.client;
  await c.create(tenantObj('snap'));
  await c.create(networkObj('snap', 'n', ['10.70.0.0/24']));
  await c.create(endpointObj('snap', 'n', 'e'));
  const snapshot = await c.snapshot(['Tenant', 'Network', 'Endpoint']);
  assert.deepEqual(snapshot.items.map((o) => o.kind), ['Tenant', 'Network', 'Endpoint']);
  assert.ok(snapshot.revision >= Number(snapshot.items[2].metadata.resourceVersion));
  await c.delete('Tenant', 'snap', undefined, { cascade: true });
});
