import type { AnyObject } from '../../src/core/model/object';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { ApiError } from '../../src/client/errors';
import { V, endpointObj, networkObj, tenantObj } from './api-helpers';

let controller: RunningController;
before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
});

async function settle<T>(promises: Promise<T>[]): Promise<{ ok: T[]; errors: ApiError[] }> {
  const results = await Promise.allSettled(promises);
  const ok: T[] = [];
  const errors: ApiError[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else if (r.reason instanceof ApiError) errors.push(r.reason);
    else throw r.reason;
  }
  return { ok, errors };
}

test('a network deleted while endpoints are being created in it never leaves an orphan', async () => {
  const c = controller.client;
  await c.create(tenantObj('race'));
  for (let round = 0; round < 5; round++) {
    await c.create(networkObj('race', 'n', ['10.110.0.0/24']));
    const creates = Array.from({ length: 30 }, (_, i) => c.create(endpointObj('race', 'n', `r${round}-e${i}`)));
    const deletion = settle([c.delete('Network', 'n', 'race')]);
    const created = await settle(creates);
    const deleted = await deletion;
    assert.ok(
      created.errors.every((e) => e.status === 404 || e.status === 409),
      created.errors.map((e) => e.message).join('; '),
    );
    const left = (await c.list('Endpoint', { tenant: 'race' })).items;
    if (deleted.ok.length === 1) {
      assert.equal(left.length, 0, 'the network was deleted, so no endpoint may remain in it');
    } else {
      assert.equal(deleted.errors[0].status, 409);
      assert.equal(left.length, created.ok.length);
      for (const e of left) await c.delete('Endpoint', e.metadata.name, 'race');
      await c.delete('Network', 'n', 'race');
    }
    // Either way the name is free again and fully usable.
  }
  await c.delete('Tenant', 'race', undefined, { cascade: true });
});

test('a cascading tenant delete racing with creates leaves nothing behind', async () => {
  const c = controller.client;
  await c.create(tenantObj('casc'));
  await c.create(networkObj('casc', 'n', ['10.120.0.0/24']));
  const creates = Array.from({ length: 40 }, (_, i): Promise<AnyObject> =>
    i % 2 === 0
      ? c.create(endpointObj('casc', 'n', `e${i}`))
      : c.create({ apiVersion: V, kind: 'Scope', metadata: { name: `s${i}`, tenant: 'casc' }, spec: {} }),
  );
  const deletion = c.delete('Tenant', 'casc', undefined, { cascade: true });
  const created = await settle(creates);
  await deletion;
  assert.ok(created.errors.every((e) => e.status === 404 || e.status === 409));
  assert.equal((await c.list('Endpoint', { tenant: 'casc' })).items.length, 0);
  assert.equal((await c.list('Scope', { tenant: 'casc' })).items.length, 0);
  assert.equal((await c.list('Network', { tenant: 'casc' })).items.length, 0);
});

test('concurrent overlapping networks: exactly one wins; concurrent intent writes get distinct, gap-free history numbers', async () => {
  const c = controller.client;
  await c.create(tenantObj('ovl'));
  const attempts = await settle(
    Array.from({ length: 10 }, (_, i) => c.create(networkObj('ovl', `n${i}`, [`10.130.${i}.0/24`, 'fd00:131::/64']))),
  );
  assert.equal(attempts.ok.length, 1);
  // The losers re-read after their compare failed and see the winner: overlap is bad input (400), naming it.
  assert.ok(
    attempts.errors.every((e) => e.status === 400 && /fd00:131::\/64 overlaps fd00:131::\/64 of network "n\d"/.test(e.message)),
    attempts.errors.map((e) => `${e.status} ${e.message}`).join('; '),
  );
  const start = (await c.history()).at(-1)!.revision;
  await settle(
    Array.from({ length: 20 }, (_, i) =>
      c.create({ apiVersion: V, kind: 'Group', metadata: { name: `g${i}`, tenant: 'ovl' }, spec: { selector: {} } }),
    ),
  );
  const revisions = (await c.history()).filter((h) => h.revision > start).map((h) => h.revision);
  assert.deepEqual(
    revisions,
    Array.from({ length: 20 }, (_, i) => start + 1 + i),
  );
  const tenants = await settle(Array.from({ length: 10 }, (_, i) => c.create(tenantObj(`vni-${i}`))));
  const vnis = new Set(tenants.ok.map((t) => (t.status as { vni: number }).vni));
  assert.equal(vnis.size, 10);
  for (let i = 0; i < 10; i++) await c.delete('Tenant', `vni-${i}`);
  await c.delete('Tenant', 'ovl', undefined, { cascade: true });
});
