import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import type { AnyObject, TenetObject } from '../../src/core/model/object';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { KINDS } from '../../src/core/model/registry';
import { openStore } from '../../src/store/open-store';
import { TokenStore } from '../../src/auth/token-store';
import { installAuth } from '../../src/controller/auth/install';
import { buildControllerServer } from '../../src/controller/server';
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
  {
    apiVersion: V,
    kind: 'Group',
    metadata: { name: 'web', tenant, labels: { tier: 'front' } },
    spec: { selector: { matchLabels: { app: 'web' } } },
  },
  {
    apiVersion: V,
    kind: 'Policy',
    metadata: { name: 'allow-web', tenant },
    spec: {
      appliesTo: { group: 'web' },
      ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: 'lb' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    },
  },
  {
    apiVersion: V,
    kind: 'Service',
    metadata: { name: 'web', tenant },
    spec: { selector: { matchLabels: { app: 'web' } }, ports: [{ protocol: 'TCP', port: 80 }] },
  },
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
    const changed = await c.update({
      ...read,
      metadata: { ...read.metadata, labels: { ...(read.metadata.labels ?? {}), changed: 'yes' } },
    });
    assert.equal(changed.metadata.labels?.changed, 'yes');
    assert.ok(Number(changed.metadata.resourceVersion) > Number(read.metadata.resourceVersion));
    const patched = await c.patch(object.kind, object.metadata.name, 'crud', { metadata: { labels: { patched: 'true' } } });
    assert.equal((patched as TenetObject).metadata.labels?.patched, 'true');
    assert.equal((patched as TenetObject).metadata.labels?.changed, 'yes');
  }
  // A patch of the spec alone (no metadata at all) applies to the live version.
  const mtu = await c.patch<AnyObject>('Network', 'web', 'crud', { spec: { mtu: 1450 } });
  assert.equal(mtu.spec.mtu, 1450);
  assert.deepEqual((mtu.spec.subnets as unknown[]).length, 2);
  // null removes a field (RFC 7386).
  assert.equal((await c.patch<AnyObject>('Network', 'web', 'crud', { spec: { mtu: null } })).spec.mtu, undefined);
  const global = await c.create({
    apiVersion: V,
    kind: 'GlobalPolicy',
    metadata: { name: 'deny-outside' },
    spec: {
      tier: 'admin',
      priority: 10,
      appliesTo: { tenants: ['crud'] },
      ingress: [{ action: 'deny', from: [{ cidr: '192.0.2.0/24' }] }],
    },
  });
  assert.equal((global as TenetObject).metadata.tenant, undefined);
  const host = await c.create({
    apiVersion: V,
    kind: 'Host',
    metadata: { name: 'node-1', labels: { zone: 'a' } },
    spec: { underlayIP: '192.0.2.10' },
  });
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

  assert.deepEqual(
    (await c.list('Endpoint', { tenant: 'crud', labelSelector: 'app=web' })).items.map((o) => o.metadata.name),
    ['ep-1'],
  );
  assert.deepEqual(
    (await c.list('Endpoint', { tenant: 'crud', labelSelector: 'app!=web' })).items.map((o) => o.metadata.name),
    ['ep-2'],
  );
  assert.deepEqual(
    (await c.list('Endpoint', { labelSelector: 'app in (web,db)' })).items.map((o) => o.metadata.name),
    ['ep-1', 'ep-2'],
  );
  assert.deepEqual(
    (await c.list('Host', { labelSelector: 'zone' })).items.map((o) => o.metadata.name),
    ['node-1'],
  );
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

test('conflicts: duplicate create, stale resourceVersion, network in use, tenant not empty, cascade; overlap is 400', async () => {
  const c = controller.client;
  await c.create(tenantObj('cf'));
  await expectStatus(c.create(tenantObj('cf')), 409);
  const net = await c.create(networkObj('cf', 'a', ['10.20.0.0/16']));
  const fresh = await c.update({ ...net, spec: { ...net.spec, mtu: 1400 } });
  const stale = await expectStatus(c.update({ ...net, spec: { ...net.spec, mtu: 1300 } }), 409);
  assert.match(stale.message, /changed since resourceVersion/);
  assert.equal((await c.get('Network', 'a', 'cf')).spec.mtu, 1400);
  await expectStatus(
    c.patch('Network', 'a', 'cf', { metadata: { resourceVersion: net.metadata.resourceVersion }, spec: { mtu: 1500 } }),
    409,
  );
  assert.equal(
    (await c.patch<AnyObject>('Network', 'a', 'cf', { metadata: { resourceVersion: fresh.metadata.resourceVersion }, spec: { mtu: 1500 } }))
      .spec.mtu,
    1500,
  );
  // Overlap is bad input (400), named with the other network and both subnets.
  const overlap = await expectStatus(c.create(networkObj('cf', 'b', ['10.20.5.0/24'])), 400);
  assert.match(overlap.message, /10\.20\.5\.0\/24 overlaps 10\.20\.0\.0\/16 of network "a"/);
  assert.match(overlap.details.join(';'), /overlaps 10\.20\.0\.0\/16/);
  const viaApply = await expectStatus(c.apply([networkObj('cf', 'b', ['10.0.0.0/8'])]), 400);
  assert.match(viaApply.message, /10\.0\.0\.0\/8 overlaps 10\.20\.0\.0\/16 of network "a"/);
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
  assert.match(metrics.text, /tenet_ipam_addresses_capacity\{tenant="many",network="big",family="ipv4"\} 1021/);
  assert.match(metrics.text, /tenet_objects\{kind="Endpoint"\} 500/);
  assert.match(metrics.text, /tenet_http_requests_total\{method="POST",route="\/api\/v1\/tenants\/:tenant\/endpoints",code="201"\} \d+/);
  await c.delete('Tenant', 'many', undefined, { cascade: true });
});

const AV = (kind: string) => `"apiVersion":"${V}","kind":"${kind}"`;
const badKeys = [
  'a;b $(reboot)',
  'ключ',
  'k k',
  '',
  '-lead',
  'trail-',
  'a'.repeat(64),
  `${'a'.repeat(254)}/k`,
  `${'a'.repeat(64)}.example.com/k`,
  'Example.com/k',
  'example.com/',
  '/k',
  'a/b/c',
  'a\nb',
];
const badValues = ['v;v', '$(reboot)', 'ü', 'a b', '-lead', 'trail.', 'v'.repeat(64), 'a\u0000'];
const badLabels: Record<string, string>[] = [...badKeys.map((key) => ({ [key]: 'x' })), ...badValues.map((value) => ({ k: value }))];

test('label keys and values that follow the Kubernetes rules are accepted', async () => {
  const c = controller.client;
  const labels = {
    a: '',
    'A.b_c-9': 'V.a_l-9',
    [`${'k'.repeat(63)}`]: 'v'.repeat(63),
    'example.com/app': 'web',
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}/${'n'.repeat(63)}`]: 'x',
  };
  const tenant = await c.create(tenantObj('lbl-ok', labels));
  assert.deepEqual(tenant.metadata.labels, labels);
  const group = await c.create({
    apiVersion: V,
    kind: 'Group',
    metadata: { name: 'g', tenant: 'lbl-ok' },
    spec: { selector: { matchLabels: labels, matchExpressions: [{ key: 'example.com/app', operator: 'NotIn', values: ['', 'db'] }] } },
  });
  assert.deepEqual((group.spec as { selector: { matchLabels: unknown } }).selector.matchLabels, labels);
  assert.deepEqual(
    (await c.list('Tenant', { labelSelector: 'example.com/app=web,a=' })).items.map((t) => t.metadata.name),
    ['lbl-ok'],
  );
  await c.delete('Tenant', 'lbl-ok', undefined, { cascade: true });
});

test('deleting a tenant returns its VNI to the pool', async () => {
  const c = controller.client;
  const vnis = async () => Number(/^tenet_vnis_allocated (\d+)$/m.exec((await raw(controller.url, 'GET', '/metrics')).text)?.[1]);
  const before = await vnis();
  assert.ok(Number.isInteger(before), 'the metric is exported');
  const first = await c.create(tenantObj('vni-a'));
  const vni = (first.status as { vni: number }).vni;
  assert.ok(vni >= 4096);
  assert.equal(await vnis(), before + 1);
  await c.delete('Tenant', 'vni-a');
  // The pool follows the store's VNI keys: the count drops once the deletion committed.
  assert.equal(await vnis(), before);
  const second = await c.create(tenantObj('vni-b'));
  assert.notEqual((second.status as { vni: number }).vni, undefined);
  assert.equal(await vnis(), before + 1);
  // Cascade deletion returns it too.
  await c.create(networkObj('vni-b', 'n', ['10.71.0.0/24']));
  await c.delete('Tenant', 'vni-b', undefined, { cascade: true });
  assert.equal(await vnis(), before);
});

test('apply takes more than 1 MiB of intent in one request (export -> apply of a large intent)', async () => {
  const c = controller.client;
  const objects: TenetObject[] = [tenantObj('big-intent')];
  for (let i = 0; i < 1500; i++) {
    objects.push({
      apiVersion: V,
      kind: 'Group',
      metadata: { name: `g-${i}`, tenant: 'big-intent', labels: { n: String(i) } },
      spec: { selector: { matchLabels: { app: `a${i}` } }, description: 'd'.repeat(1000) },
    });
  }
  const size = Buffer.byteLength(JSON.stringify({ objects }));
  assert.ok(size > 1.5 * 1024 * 1024, `body is ${size} bytes`);
  const applied = await c.apply(objects, { message: 'large' });
  assert.equal(applied.results.length, objects.length);
  assert.ok(applied.results.every((r) => r.action === 'created'));
  assert.equal((await c.list('Group', { tenant: 'big-intent' })).items.length, 1500);
  const again = await c.apply(objects);
  assert.equal(again.revision, null);
  // Other routes keep the 1 MiB limit.
  const huge = await raw(
    controller.url,
    'POST',
    '/api/v1/tenants/big-intent/groups',
    JSON.stringify({ ...objects[1], spec: { selector: {}, description: 'x'.repeat(1024 * 1024) } }),
  );
  assert.equal(huge.status, 413);
  assert.match(huge.text, /larger than 1048576 bytes/);
  await c.delete('Tenant', 'big-intent', undefined, { cascade: true });
});

test('bad input is refused with 400/404/413 and changes nothing', async () => {
  const c = controller.client;
  await c.create(tenantObj('bad'));
  await c.create(networkObj('bad', 'n', ['10.50.0.0/24']));
  // Objects and their resourceVersions, not the store revision: an audit trail may record refused requests.
  const state = async () =>
    (await c.snapshot(['Tenant', 'Network', 'Scope', 'Group', 'Policy', 'GlobalPolicy', 'Service', 'Endpoint', 'Host'])).items.map(
      (o) => `${o.kind}/${o.metadata.tenant ?? ''}/${o.metadata.name}@${o.metadata.resourceVersion}`,
    );
  const start = await state();
  const historyBefore = (await c.history()).length;
  const url = controller.url;
  const cases: [string, string, string | Buffer, number, Record<string, string>?][] = [
    ['POST', '/api/v1/tenants', '{"metadata": {"name": "x"', 400],
    ['POST', '/api/v1/tenants', 'null', 400],
    ['POST', '/api/v1/tenants', '[]', 400],
    ['POST', '/api/v1/tenants', '"text"', 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":42},"spec":{}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"a;b"},"spec":{}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"$(reboot)"},"spec":{}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"a/b"},"spec":{}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"a b"},"spec":{}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"ünï"},"spec":{}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"ok"},"spec":{"defaultPolicy":"maybe"}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"ok","__proto__":{"x":1}},"spec":{}}`, 400],
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"ok"},"spec":{}}`, 400, { 'content-type': 'text/plain' }],
    [
      'POST',
      '/api/v1/tenants/bad/networks',
      `{${AV('Network')},"metadata":{"name":"o"},"spec":{"subnets":[{"cidr":"10.50.0.128/25"}]}}`,
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/bad/networks',
      `{${AV('Network')},"metadata":{"name":"o"},"spec":{"subnets":[{"cidr":"10.61.0.0/24"},{"cidr":"10.61.0.0/25"}]}}`,
      400,
    ],
    [
      'PUT',
      '/api/v1/tenants/bad/networks/n',
      `{${AV('Network')},"metadata":{"name":"n"},"spec":{"subnets":[{"cidr":"10.50.0.0/24"},{"cidr":"10.50.0.0/23"}]}}`,
      400,
    ],
    // apiVersion and kind are required, as the OpenAPI document says.
    ['POST', '/api/v1/tenants', '{"kind":"Tenant","metadata":{"name":"nover"},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"apiVersion":"tenet.dev/v1","metadata":{"name":"nokind"},"spec":{}}', 400],
    ['POST', '/api/v1/tenants', '{"apiVersion":"tenet.dev/v2","kind":"Tenant","metadata":{"name":"badver"},"spec":{}}', 400],
    ['PUT', '/api/v1/tenants/bad/networks/n', '{"metadata":{"name":"n"},"spec":{"subnets":[{"cidr":"10.50.0.0/24"}]}}', 400],
    ['POST', '/api/v1/apply', '{"objects":[{"kind":"Tenant","metadata":{"name":"nover"},"spec":{}}]}', 400],
    // Label keys and values follow the Kubernetes rules wherever they appear.
    ...badLabels.map((labels): [string, string, string, number] => [
      'POST',
      '/api/v1/tenants',
      JSON.stringify({ apiVersion: V, kind: 'Tenant', metadata: { name: 'lbl', labels }, spec: {} }),
      400,
    ]),
    ...badLabels.map((labels): [string, string, string, number] => [
      'POST',
      '/api/v1/tenants/bad/groups',
      JSON.stringify({ apiVersion: V, kind: 'Group', metadata: { name: 'g' }, spec: { selector: { matchLabels: labels } } }),
      400,
    ]),
    ...badKeys.map((key): [string, string, string, number] => [
      'POST',
      '/api/v1/tenants/bad/groups',
      JSON.stringify({
        apiVersion: V,
        kind: 'Group',
        metadata: { name: 'g' },
        spec: { selector: { matchExpressions: [{ key, operator: 'Exists' }] } },
      }),
      400,
    ]),
    ...badValues.map((value): [string, string, string, number] => [
      'POST',
      '/api/v1/tenants/bad/groups',
      JSON.stringify({
        apiVersion: V,
        kind: 'Group',
        metadata: { name: 'g' },
        spec: { selector: { matchExpressions: [{ key: 'k', operator: 'In', values: ['ok', value] }] } },
      }),
      400,
    ]),
    [
      'POST',
      '/api/v1/tenants/bad/endpoints',
      JSON.stringify({
        apiVersion: V,
        kind: 'Endpoint',
        metadata: { name: 'e', labels: { 'a;b $(reboot)': 'x' } },
        spec: { network: 'n' },
      }),
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/bad/services',
      JSON.stringify({
        apiVersion: V,
        kind: 'Service',
        metadata: { name: 's' },
        spec: { selector: { matchLabels: { 'k k': 'v;v' } }, ports: [{ protocol: 'TCP', port: 80 }] },
      }),
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/bad/policies',
      JSON.stringify({
        apiVersion: V,
        kind: 'Policy',
        metadata: { name: 'p' },
        spec: { appliesTo: { selector: { matchLabels: { ключ: 'v' } } } },
      }),
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/bad/policies',
      JSON.stringify({
        apiVersion: V,
        kind: 'Policy',
        metadata: { name: 'p' },
        spec: { appliesTo: { selector: {} }, ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: '$(reboot)' } } }] }] },
      }),
      400,
    ],
    [
      'PATCH',
      '/api/v1/tenants/bad/networks/n',
      JSON.stringify({ metadata: { labels: { 'a;b': 'x' } } }),
      400,
      { 'content-type': 'application/merge-patch+json' },
    ],
    [
      'POST',
      '/api/v1/apply',
      JSON.stringify({
        objects: [
          { apiVersion: V, kind: 'Group', metadata: { name: 'g', tenant: 'bad' }, spec: { selector: { matchLabels: { 'k k': 'v;v' } } } },
        ],
      }),
      400,
    ],
    ['GET', `/api/v1/endpoints?labelSelector=${encodeURIComponent('ключ=v')}`, '', 400],
    ['GET', `/api/v1/endpoints?labelSelector=${encodeURIComponent(`a=${'v'.repeat(64)}`)}`, '', 400],
    // JSON nested far deeper than any object: refused at the body, before anything recurses over it.
    [
      'POST',
      '/api/v1/tenants',
      `{${AV('Tenant')},"metadata":{"name":"deep"},"spec":{"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`,
      400,
    ],
    [
      'POST',
      '/api/v1/tenants',
      `{${AV('Tenant')},"metadata":{"name":"deep"},"spec":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`,
      400,
    ],
    [
      'PATCH',
      '/api/v1/tenants/bad/networks/n',
      `{"spec":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      400,
      { 'content-type': 'application/merge-patch+json' },
    ],
    ['POST', '/api/v1/apply', `{"objects":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`, 400],
    // Within the limit the schema refuses it, and the error message renders it without failing.
    ['POST', '/api/v1/tenants', `{${AV('Tenant')},"metadata":{"name":"deep"},"spec":{"x":${'['.repeat(60)}${']'.repeat(60)}}}`, 400],
    ['GET', '/api/v1/tenants?watch=1&resourceVersion=999999999', '', 400],
    ['GET', '/api/v1/tenants/bad/networks?watch=1&resourceVersion=999999999&labelSelector=a%3Db', '', 400],
    ['GET', '/api/v1/watch?kinds=Tenant&resourceVersion=999999999', '', 400],
    [
      'POST',
      '/api/v1/tenants/bad/networks',
      `{${AV('Network')},"metadata":{"name":"g"},"spec":{"subnets":[{"cidr":"10.60.0.0/24","gateway":"10.61.0.1"}]}}`,
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/bad/networks',
      `{${AV('Network')},"metadata":{"name":"h"},"spec":{"subnets":[{"cidr":"10.60.0.1/24"}]}}`,
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/bad/networks',
      `{${AV('Network')},"metadata":{"name":"h","tenant":"other"},"spec":{"subnets":[{"cidr":"10.60.0.0/24"}]}}`,
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/a%3Bb/networks',
      `{${AV('Network')},"metadata":{"name":"h"},"spec":{"subnets":[{"cidr":"10.60.0.0/24"}]}}`,
      400,
    ],
    [
      'POST',
      '/api/v1/tenants/ghost/networks',
      `{${AV('Network')},"metadata":{"name":"h"},"spec":{"subnets":[{"cidr":"10.60.0.0/24"}]}}`,
      404,
    ],
    [
      'PUT',
      '/api/v1/tenants/bad/networks/n',
      `{${AV('Network')},"metadata":{"name":"other"},"spec":{"subnets":[{"cidr":"10.50.0.0/24"}]}}`,
      400,
    ],
    [
      'PUT',
      '/api/v1/tenants/bad/networks/n',
      `{${AV('Network')},"metadata":{"name":"n","resourceVersion":"abc"},"spec":{"subnets":[{"cidr":"10.50.0.0/24"}]}}`,
      400,
    ],
    ['PATCH', '/api/v1/tenants/bad/networks/n', '{"spec":{"subnets":"no"}}', 400, { 'content-type': 'application/merge-patch+json' }],
    ['PATCH', '/api/v1/tenants/bad/networks/n', '[1]', 400, { 'content-type': 'application/merge-patch+json' }],
    ['PUT', '/api/v1/tenants/bad/networks/n/status', '{"status":{"allocated":-1}}', 400],
    ['PUT', '/api/v1/tenants/bad/networks/n/status', '{"nostatus":1}', 400],
    [
      'POST',
      '/api/v1/tenants/bad/endpoints',
      `{${AV('Endpoint')},"metadata":{"name":"e"},"spec":{"network":"n","ips":["10.50.0.1"]}}`,
      409,
    ],
    [
      'POST',
      '/api/v1/tenants/bad/endpoints',
      `{${AV('Endpoint')},"metadata":{"name":"e"},"spec":{"network":"n","ips":["not-an-ip"]}}`,
      400,
    ],
    [
      'POST',
      '/api/v1/apply',
      '{"objects":[{"kind":"Tenant","apiVersion":"tenet.dev/v1","metadata":{"name":"fine"},"spec":{}},{"kind":"Nope"}]}',
      400,
    ],
    ['POST', '/api/v1/apply', '{"objects":"x"}', 400],
    ['POST', '/api/v1/rollback', '{"revision":"x"}', 400],
    ['POST', '/api/v1/rollback', '{"revision":99999}', 404],
    ['GET', '/api/v1/snapshot?kinds=Nope', '', 400],
    ['GET', '/api/v1/tenants?watch=1&resourceVersion=-1', '', 400],
    ['DELETE', '/api/v1/tenants/ghost', '', 404],
    ['GET', '/api/v1/unknown', '', 404],
    ['POST', '/api/v1/tenants', Buffer.alloc(1024 * 1024 + 10, 0x20), 413],
    ['POST', '/api/v1/apply', Buffer.alloc(32 * 1024 * 1024 + 10, 0x20), 413],
  ];
  for (const [method, path, body, status, headers] of cases) {
    const answer = await raw(url, method, path, body === '' ? undefined : body, headers);
    assert.equal(answer.status, status, `${method} ${path} ${String(body).slice(0, 80)} -> ${answer.status} ${answer.text.slice(0, 300)}`);
    const error = (answer.json as { error?: { code: number; reason: string; message: string; details: string[] } }).error;
    assert.ok(error, `JSON error body for ${method} ${path}: ${answer.text.slice(0, 200)}`);
    assert.equal(error.code, status);
    assert.equal(typeof error.message, 'string');
    if (/\[{1000}|\{"a":\{"a":/.test(String(body))) assert.match(error.message, /nests arrays\/objects deeper than 64 levels/);
    if (/resourceVersion=999999999/.test(path))
      assert.match(error.message, /resourceVersion 999999999 is newer than the store's current revision \d+/);
    if (path === '/api/v1/apply' && status === 413) assert.match(error.message, /larger than 33554432 bytes/);
  }
  const many = await raw(
    url,
    'POST',
    '/api/v1/tenants/bad/networks',
    JSON.stringify({ metadata: { name: 'BAD' }, spec: { subnets: [{ cidr: '10.0.0.1/33', gateway: 'x' }], mtu: 1 } }),
  );
  assert.equal(many.status, 400);
  assert.ok((many.json as { error: { details: string[] } }).error.details.length >= 2, many.text);
  assert.deepEqual(await state(), start, 'no object was written');
  assert.equal((await c.history()).length, historyBefore, 'no history revision was made');
  assert.deepEqual(
    (await c.list('Tenant')).items.map((t) => t.metadata.name),
    ['bad'],
  );
  await c.delete('Tenant', 'bad', undefined, { cascade: true });
});

test('health, OpenAPI and snapshot', async () => {
  assert.deepEqual((await raw(controller.url, 'GET', '/healthz')).json, { ok: true });
  const openapi = (await raw(controller.url, 'GET', '/api/v1/openapi.json')).json as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
  };
  assert.ok(openapi.paths['/api/v1/tenants/{tenant}/endpoints']);
  // Every kind's schema is exactly the one that validates requests.
  for (const info of KINDS) {
    const expected = JSON.parse(JSON.stringify(info.schema)) as Record<string, unknown>;
    delete expected.$id;
    assert.deepEqual(openapi.components.schemas[info.kind], expected, `components.schemas.${info.kind}`);
    assert.deepEqual([...(openapi.components.schemas[info.kind].required ?? [])].sort(), ['apiVersion', 'kind', 'metadata', 'spec']);
  }
  // Labels reach the document with their key rule enforced (no free-form keys).
  const meta = (
    openapi.components.schemas.Tenant.properties.metadata as {
      properties: { labels: { additionalProperties?: boolean; patternProperties?: object } };
    }
  ).properties.labels;
  assert.equal(meta.additionalProperties, false);
  assert.ok(meta.patternProperties);
  // Every route the controller serves is documented (HEAD comes with every GET).
  const documented = new Set(
    Object.entries(openapi.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)),
  );
  const served = await servedRoutes([...documented]);
  assert.ok(served.routes.length > 50, `routes seen: ${served.routes.length}`);
  const missing = served.routes.filter((route) => !documented.has(route));
  assert.deepEqual(missing, [], 'routes missing from the OpenAPI document');
  assert.deepEqual(served.notServed, [], 'documented routes that are not served');
  assert.deepEqual(
    openapi.paths['/api/v1/endpoints'].get.parameters?.filter((p) => p.in === 'query').map((p) => p.name),
    ['tenant', 'labelSelector', 'watch', 'resourceVersion', 'fieldSelector', 'limit', 'continue'],
  );
  const c = controller.client;
  await c.create(tenantObj('snap'));
  await c.create(networkObj('snap', 'n', ['10.70.0.0/24']));
  await c.create(endpointObj('snap', 'n', 'e'));
  const snapshot = await c.snapshot(['Tenant', 'Network', 'Endpoint']);
  assert.deepEqual(
    snapshot.items.map((o) => o.kind),
    ['Tenant', 'Network', 'Endpoint'],
  );
  assert.ok(snapshot.revision >= Number(snapshot.items[2].metadata.resourceVersion));
  await c.delete('Tenant', 'snap', undefined, { cascade: true });
});

/**
 * METHOD /path{param} of every route a controller (auth included, as `tenet controller` runs it) registers
 * from its object, cluster and auth routes on (the hook starts after /metrics), and which of `documented` it lacks.
 */
async function servedRoutes(documented: string[]): Promise<{ routes: string[]; notServed: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-routes-'));
  const store = await openStore('sqlite', dir);
  const routes: string[] = [];
  const server = await buildControllerServer({
    store,
    logger: pino({ level: 'silent' }),
    beforeRoutes: async (app, service) => {
      app.addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) {
          if (method !== 'HEAD') routes.push(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
        }
      });
      await installAuth(app, service, { tokens: new TokenStore(store) });
    },
  });
  try {
    const notServed = documented.filter((route) => {
      const [method, url] = route.split(' ');
      return !server.app.hasRoute({ method: method as 'GET', url: url.replace(/\{(\w+)\}/g, ':$1') });
    });
    return { routes: [...new Set(routes)].sort(), notServed };
  } finally {
    await server.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
