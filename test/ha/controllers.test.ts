/**
 * Several controllers on one real 3-member etcd cluster: allocations stay unique when controllers
 * race, acknowledged writes survive a controller's kill -9 in the middle of that race, the API keeps
 * answering with an etcd member down, and what one controller writes the other serves (GET and watch).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TenetClient, type WatchEvent } from '../../src/client/api-client';
import { ApiError, UnreachableError } from '../../src/client/errors';
import { API_VERSION } from '../../src/core/model/common';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import { EtcdStore } from '../../src/store/etcd-store';
import { IPAM_PREFIX, objectPrefix } from '../../src/store/keys';
import { startEtcd, type EtcdCluster } from '../helpers/etcd';
import { startControllerProcess, type ControllerProcess } from './controller-process';

const TENANT = 'ha';
const NET = 'big';

const endpoint = (name: string, network = NET): Endpoint => ({
  apiVersion: API_VERSION,
  kind: 'Endpoint',
  metadata: { name, tenant: TENANT },
  spec: { network },
});

/** Creates `names` through `clients` round-robin with `concurrency` requests in flight per client. */
async function createMany(
  clients: TenetClient[],
  names: string[],
  concurrency: number,
  onAck?: (name: string, ip: string, count: number) => void,
): Promise<{ acked: Map<string, string>; failed: Map<string, Error> }> {
  const acked = new Map<string, string>();
  const failed = new Map<string, Error>();
  let next = 0;
  await Promise.all(
    clients.flatMap((client) =>
      Array.from({ length: concurrency }, async () => {
        while (next < names.length) {
          const name = names[next++];
          try {
            const created = await client.create(endpoint(name));
            const ip = created.status?.ipv4;
            assert.equal(typeof ip, 'string', `${name} got an address`);
            acked.set(name, ip as string);
            onAck?.(name, ip as string, acked.size);
          } catch (error) {
            if (!(error instanceof UnreachableError)) throw error;
            failed.set(name, error);
          }
        }
      }),
    ),
  );
  return { acked, failed };
}

/** Every endpoint in the network with its address, read through one controller. */
async function addresses(client: TenetClient): Promise<Map<string, string>> {
  const listed = await client.list('Endpoint', { tenant: TENANT });
  const result = new Map<string, string>();
  for (const item of listed.items)
    if ((item.spec as { network: string }).network === NET) result.set(item.metadata.name, item.status?.ipv4 as string);
  return result;
}

describe('several controllers on a 3-member etcd', () => {
  let etcd: EtcdCluster;
  let store: EtcdStore;
  const controllers: ControllerProcess[] = [];
  let a: TenetClient;
  let b: TenetClient;

  before(async () => {
    etcd = await startEtcd({ size: 3 });
    store = await EtcdStore.open(etcd.spec);
    controllers.push(await startControllerProcess(etcd.spec), await startControllerProcess(etcd.spec));
    a = new TenetClient({ servers: [controllers[0].url], token: controllers[0].token });
    b = new TenetClient({ servers: [controllers[1].url], token: controllers[0].token });
    await a.create({ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: TENANT }, spec: {} });
    // A /20: room for every endpoint these tests create, so only duplicates (never exhaustion) can fail them.
    await b.create({
      apiVersion: API_VERSION,
      kind: 'Network',
      metadata: { name: NET, tenant: TENANT },
      spec: { subnets: [{ cidr: '10.20.0.0/20' }] },
    });
  });

  after(async () => {
    await Promise.all(controllers.map((c) => c.kill()));
    await store?.close();
    await etcd?.stop();
  });

  it('2,000 concurrent creates over both controllers, one killed -9 mid-run: acknowledged creates survive, 2,000 distinct addresses', async () => {
    const names = Array.from({ length: 2000 }, (_, i) => `c${i}`);
    const victim = controllers[1];
    let killing: Promise<void> | undefined;
    let ackedAtKill = 0;
    const { acked, failed } = await createMany([a, b], names, 16, (_name, _ip, count) => {
      if (count === 500) {
        ackedAtKill = count;
        killing = victim.kill();
      }
    });
    assert.ok(killing, 'the controller was killed during the run');
    await killing;
    assert.ok(ackedAtKill > 0 && ackedAtKill < names.length, 'killed with creates still to come');
    assert.ok(failed.size > 0, 'some creates went to the dead controller');

    // What a client does after losing its controller: send the unanswered creates to the survivor.
    // A create that committed before the kill answers 409 there, and then it is read back.
    for (const name of failed.keys()) {
      try {
        const created = await a.create(endpoint(name));
        assert.equal(typeof created.status?.ipv4, 'string');
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409)) throw error;
      }
    }

    const stored = await addresses(a);
    for (const [name, ip] of acked) assert.equal(stored.get(name), ip, `acknowledged ${name} kept its address`);
    assert.deepEqual([...stored.keys()].sort(), [...names].sort(), 'every create happened exactly once');
    assert.equal(new Set(stored.values()).size, 2000, 'no address handed out twice');
    // Creates cut off by the kill committed whole or not at all: allocation records match the endpoints exactly.
    const ipam = await store.range(`${IPAM_PREFIX}${TENANT}/${NET}/`);
    const owners = new Map(ipam.items.map((kv) => [kv.key.slice(kv.key.lastIndexOf('/') + 1), kv.value]));
    assert.equal(owners.size, stored.size);
    for (const [name, ip] of stored) assert.equal(owners.get(ip), name, `${ip} is recorded for ${name}`);
    const objects = await store.range(objectPrefix('Endpoint', TENANT));
    assert.equal(objects.items.length, stored.size);

    // A new controller takes the dead one's place for the tests below, and serves the same state.
    controllers[1] = await startControllerProcess(etcd.spec);
    b = new TenetClient({ servers: [controllers[1].url], token: controllers[0].token });
    assert.deepEqual(await addresses(b), stored);
  });

  it('with the etcd leader killed the API keeps answering through both controllers', async () => {
    // The leader, not any member: the cluster must elect a new one and the controllers must move to it.
    const leader = await etcd.leaderIndex();
    await etcd.kill(leader);
    try {
      const names = Array.from({ length: 100 }, (_, i) => `m${i}`);
      const { acked, failed } = await createMany([a, b], names, 4);
      assert.equal(failed.size, 0);
      assert.equal(acked.size, 100);
      for (const name of ['m0', 'm99']) {
        assert.equal((await a.get('Endpoint', name, TENANT)).status?.ipv4, acked.get(name));
        assert.equal((await b.get('Endpoint', name, TENANT)).status?.ipv4, acked.get(name));
      }
      const all = await addresses(a);
      assert.equal(new Set(all.values()).size, all.size);
      assert.notEqual(await etcd.leaderIndex(), leader);
    } finally {
      await etcd.restart(leader);
    }
  });

  it('an object written through one controller is seen through the other, by GET and by watch', async () => {
    const since = (await b.list('Endpoint', { tenant: TENANT })).resourceVersion;
    const events: WatchEvent[] = [];
    let wake: () => void = () => undefined;
    const watch = b.watch({ kind: 'Endpoint', tenant: TENANT }, since, (event) => {
      events.push(event);
      wake();
    });
    try {
      const created = await a.create(endpoint('seen-by-b'));
      const got = await b.get('Endpoint', 'seen-by-b', TENANT);
      assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);
      assert.equal(got.status?.ipv4, created.status?.ipv4);
      const deadline = Date.now() + 15_000;
      const isOurs = (e: WatchEvent) => e.type === 'ADDED' && e.object?.metadata.name === 'seen-by-b';
      while (!events.some(isOurs) && Date.now() < deadline) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), new Promise((resolve) => setTimeout(resolve, 200))]);
      }
      const added = events.find(isOurs);
      assert.ok(added, `watch through B saw the create through A (events: ${events.map((e) => e.type).join(',')})`);
      assert.equal(added.object?.metadata.resourceVersion, created.metadata.resourceVersion);
      await a.delete('Endpoint', 'seen-by-b', TENANT);
      assert.equal(await b.find('Endpoint', 'seen-by-b', TENANT), undefined);
    } finally {
      watch.close();
      await watch.done.catch(() => undefined);
    }
  });

  it('a client given two controllers keeps working when the first one is killed', async () => {
    const first = await startControllerProcess(etcd.spec);
    controllers.push(first);
    const client = new TenetClient({ servers: [first.url, controllers[0].url], token: controllers[0].token });
    const before = await client.create(endpoint('fo-before'));
    assert.equal(client.server, first.url);
    await first.kill();
    const afterKill = await client.create(endpoint('fo-after'));
    assert.notEqual(afterKill.status?.ipv4, before.status?.ipv4);
    assert.equal(client.server, controllers[0].url);
    assert.equal((await client.get('Endpoint', 'fo-before', TENANT)).status?.ipv4, before.status?.ipv4);
    const listed = await client.list('Endpoint', { tenant: TENANT });
    assert.ok(listed.items.some((e) => e.metadata.name === 'fo-after'));
    await assert.rejects(client.create(endpoint('fo-after')), (error: unknown) => error instanceof ApiError && error.status === 409);
  });
  it('a cascading delete of the tenant and its thousands of endpoints is one txn on etcd too', async () => {
    const before = (await a.list('Endpoint', { tenant: TENANT })).items.length;
    assert.ok(before > 2000, `${before} endpoints to delete`);
    await b.delete('Tenant', TENANT, undefined, { cascade: true });
    assert.equal(await a.find('Tenant', TENANT), undefined);
    assert.deepEqual((await store.range(objectPrefix('Endpoint', TENANT))).items, []);
    assert.deepEqual((await store.range(`${IPAM_PREFIX}${TENANT}/`)).items, []);
  });
});
