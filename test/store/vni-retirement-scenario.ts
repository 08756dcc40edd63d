/**
 * The VNI retirement sequence against a real Store, with several ObjectServices ("controllers", each
 * with its own in-memory VNI pool) and fresh ones standing for restarted controllers: a deleted
 * tenant's VNI is not handed out while a host that existed at the deletion has not confirmed, and it is
 * handed out again once every host confirmed (or was deleted).
 */
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store';
import { ObjectService } from '../../src/controller/object-service';
import { VNI_PENDING_PREFIX, vniKey, vniPendingKey } from '../../src/store/keys';
import { decodeVniValue } from '../../src/core/ipam/vni-retirement';
import type { TenetObject } from '../../src/core/model/object';

const ctx = { actor: 'test', verb: 'create' };
const V = 'tenet.dev/v1';

export async function vniRetirementScenario(
  openStore: () => Promise<Store>,
  closeStore: (store: Store) => Promise<void>,
  cleanup: (fn: () => Promise<void> | void) => void,
): Promise<void> {
  const controller = async (): Promise<ObjectService> => {
    const store = await openStore();
    const service = new ObjectService(store);
    await service.start();
    cleanup(async () => {
      service.stop();
      await closeStore(store);
    });
    return service;
  };
  const [a, b] = [await controller(), await controller()];
  const store = a.store;
  const vniOf = (t: TenetObject): number => (t.status as { vni: number }).vni;
  const tenant = (s: ObjectService, name: string) =>
    s.create('Tenant', undefined, { apiVersion: V, kind: 'Tenant', metadata: { name }, spec: {} }, ctx);
  const report = (s: ObjectService, host: string, status: Record<string, unknown>) =>
    s.replaceStatus('Host', undefined, host, { status: { ready: true, ...status } }, ctx);
  const record = async (vni: number) => {
    const kv = await store.get(vniKey(vni));
    return kv ? decodeVniValue(kv.value) : undefined;
  };

  for (const host of ['h1', 'h2'])
    await a.create(
      'Host',
      undefined,
      { apiVersion: V, kind: 'Host', metadata: { name: host }, spec: { underlayIP: host === 'h1' ? '192.0.2.1' : '192.0.2.2' } },
      ctx,
    );
  const first = vniOf(await tenant(a, 'alpha'));
  await a.create(
    'Network',
    'alpha',
    { apiVersion: V, kind: 'Network', metadata: { name: 'n' }, spec: { subnets: [{ cidr: '10.0.0.0/24' }] } },
    ctx,
  );
  await a.delete('Tenant', undefined, 'alpha', { cascade: true }, { ...ctx, verb: 'delete' });

  const retired = await record(first);
  assert.ok(retired && 'retired' in retired, `the VNI key of a deleted tenant holds a retirement record (got ${JSON.stringify(retired)})`);
  assert.deepEqual(retired.retired.hosts, ['h1', 'h2']);
  assert.equal(retired.retired.tenant, 'alpha');
  const deletedAt = (await store.get(vniPendingKey('h1', first)))!.modRevision;

  // Restarted controllers start their VNI cursor at the beginning: they must still skip the retired VNI.
  const c = await controller();
  const again = await Promise.all([tenant(c, 'beta'), tenant(b, 'gamma'), tenant(a, 'delta')]);
  for (const t of again) assert.notEqual(vniOf(t), first, `tenant ${t.metadata.name} must not get the retired VNI ${first}`);

  // Reports that do not confirm: the namespace is still there, the view predates the deletion, an older agent.
  await report(a, 'h1', { tenantNamespaces: ['alpha'], observedRevision: deletedAt + 100 });
  await report(b, 'h1', { tenantNamespaces: [], observedRevision: deletedAt - 1 });
  await report(c, 'h2', {});
  const still = await record(first);
  assert.ok(still && 'retired' in still);
  assert.deepEqual(still.retired.hosts, ['h1', 'h2']);

  // h1 confirms; h2 is still out, so a fresh controller still refuses the VNI.
  await report(a, 'h1', { tenantNamespaces: ['beta'], observedRevision: deletedAt });
  const half = await record(first);
  assert.ok(half && 'retired' in half);
  assert.deepEqual(half.retired.hosts, ['h2']);
  assert.equal(await store.get(vniPendingKey('h1', first)), undefined);
  const d = await controller();
  assert.notEqual(vniOf(await tenant(d, 'epsilon')), first);

  await report(b, 'h2', { tenantNamespaces: [], observedRevision: deletedAt + 5 });
  assert.equal(await store.get(vniKey(first)), undefined, 'the last confirmation frees the VNI');
  const e = await controller();
  assert.equal(vniOf(await tenant(e, 'zeta')), first, 'a restarted controller hands the freed VNI out again');

  // Two hosts confirming at once through two controllers: whichever commits last frees the VNI.
  const second = vniOf(await tenant(a, 'eta'));
  await a.delete('Tenant', undefined, 'eta', {}, { ...ctx, verb: 'delete' });
  const at2 = (await store.get(vniPendingKey('h2', second)))!.modRevision;
  await Promise.all([
    report(a, 'h1', { tenantNamespaces: [], observedRevision: at2 }),
    report(b, 'h2', { tenantNamespaces: [], observedRevision: at2 }),
  ]);
  assert.equal(await store.get(vniKey(second)), undefined, 'concurrent confirmations leave no retired record behind');

  // A Host deleted while a tenant is being deleted (through another controller): whichever commits
  // first, the record never waits for the deleted host.
  for (let i = 3; i < 6; i++) {
    await a.create(
      'Host',
      undefined,
      { apiVersion: V, kind: 'Host', metadata: { name: `h${i}` }, spec: { underlayIP: `192.0.2.${i}` } },
      ctx,
    );
    const raced = vniOf(await tenant(a, `kappa${i}`));
    await Promise.all([
      a.delete('Tenant', undefined, `kappa${i}`, {}, { ...ctx, verb: 'delete' }),
      b.delete('Host', undefined, `h${i}`, {}, { ...ctx, verb: 'delete' }),
    ]);
    const r = await record(raced);
    assert.ok(r && 'retired' in r);
    assert.deepEqual(r.retired.hosts, ['h1', 'h2'], `h${i} was deleted: the record must not wait for it`);
    assert.equal(await store.get(vniPendingKey(`h${i}`, raced)), undefined);
  }

  // A host that is deleted counts as confirmed; the last host leaving frees the VNI.
  const third = vniOf(await tenant(b, 'theta'));
  await b.delete('Tenant', undefined, 'theta', {}, { ...ctx, verb: 'delete' });
  await a.delete('Host', undefined, 'h2', {}, { ...ctx, verb: 'delete' });
  const left = await record(third);
  assert.ok(left && 'retired' in left);
  assert.deepEqual(left.retired.hosts, ['h1']);
  await c.delete('Host', undefined, 'h1', {}, { ...ctx, verb: 'delete' });
  assert.equal(await store.get(vniKey(third)), undefined);

  // No host at all: nothing can carry the VNI, it is free at once.
  const fourth = vniOf(await tenant(a, 'iota'));
  await a.delete('Tenant', undefined, 'iota', {}, { ...ctx, verb: 'delete' });
  assert.equal(await store.get(vniKey(fourth)), undefined);
  assert.equal((await store.range(VNI_PENDING_PREFIX)).items.length, 0, 'no marker is left behind');
}
