/**
 * Two ObjectService instances (two "controllers", each with its own in-memory allocators) on one
 * store: the store's compares alone must keep addresses, MACs and VNIs unique.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite-store';
import { ObjectService } from '../../src/controller/object-service';
import { IPAM_PREFIX, MAC_PREFIX } from '../../src/store/keys';
import type { TenetObject } from '../../src/core/model/object';

const ctx = { actor: 'test', verb: 'create' };
const V = 'tenet.dev/v1';

test('two services on one store never hand out the same address, MAC or VNI', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-two-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = await SqliteStore.open(dir);
  const a = new ObjectService(store);
  const b = new ObjectService(store);
  await a.start();
  await b.start();
  t.after(async () => {
    a.stop();
    b.stop();
    await store.close();
  });
  const services = [a, b];
  const tenants = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      services[i % 2].create('Tenant', undefined, { apiVersion: V, kind: 'Tenant', metadata: { name: `t${i}` }, spec: {} }, ctx),
    ),
  );
  assert.equal(new Set(tenants.map((x) => (x.status as { vni: number }).vni)).size, 10);
  await b.create(
    'Network',
    't0',
    { apiVersion: V, kind: 'Network', metadata: { name: 'n' }, spec: { subnets: [{ cidr: '10.0.0.0/23' }, { cidr: 'fd00::/64' }] } },
    ctx,
  );
  const create = (i: number) =>
    services[i % 2].create('Endpoint', 't0', { apiVersion: V, kind: 'Endpoint', metadata: { name: `e${i}` }, spec: { network: 'n' } }, ctx);
  const first = await Promise.all(Array.from({ length: 300 }, (_, i) => create(i)));
  await Promise.all(first.filter((_, i) => i % 3 === 0).map((e, i) => services[i % 2].delete('Endpoint', 't0', e.metadata.name, {}, ctx)));
  const second = await Promise.all(Array.from({ length: 200 }, (_, i) => create(1000 + i)));
  const live = (await a.list('Endpoint', { tenant: 't0' })).items;
  assert.equal(live.length, 300 - 100 + 200);
  const field = (e: TenetObject, f: string) => (e.status as Record<string, string>)[f];
  for (const f of ['ipv4', 'ipv6', 'mac']) assert.equal(new Set(live.map((e) => field(e, f))).size, live.length, `unique ${f}`);
  // Exactly the live endpoints hold address and MAC keys: nothing leaked by deletes or failed attempts.
  assert.equal((await store.range(IPAM_PREFIX)).items.length, live.length * 2);
  assert.equal((await store.range(MAC_PREFIX)).items.length, live.length);
  assert.ok(second.every((e) => field(e, 'ipv4') !== '10.0.0.1'));
});
