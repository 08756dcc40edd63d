/** The Store conformance suite on a real single-node etcd, plus what only etcd has: several members. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EtcdStore } from '../../src/store/etcd-store';
import { parseEtcdSpec } from '../../src/store/etcd-spec';
import type { Store } from '../../src/store/store';
import { startEtcd, type EtcdCluster } from '../helpers/etcd';
import { storeConformance } from './store-conformance';

let etcd: EtcdCluster | undefined;
const prefixes = new Map<Store, string>();

storeConformance({
  name: 'etcd',
  setup: async () => {
    etcd = await startEtcd({ size: 1 });
  },
  teardown: async () => {
    await etcd?.stop();
  },
  open: async () => {
    // Each test gets its own key prefix on the shared node, so tests never see each other's keys.
    const prefix = `/t${randomBytes(4).toString('hex')}`;
    const store = await EtcdStore.open({ hosts: etcd!.hosts, prefix });
    prefixes.set(store, prefix);
    return store;
  },
  client: async (store) => {
    const prefix = prefixes.get(store)!;
    const other = await EtcdStore.open({ hosts: etcd!.hosts, prefix });
    prefixes.set(other, prefix);
    return other;
  },
  compact: async (store, revision) => (store as EtcdStore).compact(revision),
});

describe('etcd store spec', () => {
  it('parses hosts and an optional prefix and rejects malformed specs', () => {
    assert.deepEqual(parseEtcdSpec('etcd://127.0.0.1:2379,10.0.0.2:2379'), {
      hosts: ['127.0.0.1:2379', '10.0.0.2:2379'],
      prefix: '/tenet',
    });
    assert.deepEqual(parseEtcdSpec('etcd://e1:2379/team/a/'), { hosts: ['e1:2379'], prefix: '/team/a' });
    for (const bad of ['etcd://', 'etcd://host', 'etcd://h:0', 'etcd://h:70000', 'etcd://h:1/a b', 'http://h:1', 'etcd://h:1;rm:2']) {
      assert.throws(() => parseEtcdSpec(bad), /etcd/, bad);
    }
  });

  it("a txn beyond the server's --max-txn-ops fails with a message naming the flag, and writes nothing", async () => {
    const small = await startEtcd({ size: 1, extraArgs: ['--max-txn-ops', '16'] });
    const store = await EtcdStore.open({ hosts: small.hosts, prefix: '/limit' });
    try {
      const ops = Array.from({ length: 17 }, (_, i) => ({ type: 'put' as const, key: `/k/${i}`, value: 'v' }));
      await assert.rejects(store.txn([], ops), /transaction of 17 operations: .*--max-txn-ops/);
      assert.deepEqual((await store.range('/k/')).items, []);
      assert.equal((await store.txn([], ops.slice(0, 16))).succeeded, true);
    } finally {
      await store.close();
      await small.stop();
    }
  });

  it('fails to open with a clear error when nothing listens', async () => {
    await assert.rejects(
      EtcdStore.open({ hosts: ['127.0.0.1:1'], prefix: '/x', callTimeoutMs: 1000 }),
      /cannot reach etcd at 127\.0\.0\.1:1/,
    );
  });
});

/**
 * A TCP relay to etcd that can lose one reply: once armed, it drops the connection instead of
 * forwarding the next sizeable server frame (small ones are HTTP/2 housekeeping), so the request
 * was applied by etcd but the client never hears back.
 */
async function lossyRelay(target: number): Promise<{ port: number; armLoss(): void; close(): Promise<void> }> {
  let armed = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(target, '127.0.0.1');
    sockets.add(down).add(up);
    const drop = () => {
      down.destroy();
      up.destroy();
    };
    down.on('data', (chunk) => up.write(chunk));
    up.on('data', (chunk) => {
      if (armed && chunk.length >= 40) {
        armed = false;
        drop();
        return;
      }
      down.write(chunk);
    });
    down.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    armLoss: () => (armed = true),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('etcd store: prefixes and lost replies', () => {
  let node: EtcdCluster;
  before(async () => {
    node = await startEtcd({ size: 1 });
  });
  after(async () => {
    await node?.stop();
  });

  it("installations under prefixes that share a start never see each other's keys", async () => {
    const one = await EtcdStore.open({ hosts: node.hosts, prefix: '/iso' });
    const two = await EtcdStore.open({ hosts: node.hosts, prefix: '/iso2' });
    try {
      const start = await one.currentRevision();
      const events: string[] = [];
      const watcher = await one.watch('', start, { onEvents: (e) => events.push(...e.map((x) => x.key)), onError: () => undefined });
      await two.txn([], [{ type: 'put', key: '/objects/x', value: 'two' }]);
      await one.txn([], [{ type: 'put', key: '/objects/y', value: 'one' }]);
      while (events.length === 0) await new Promise((r) => setTimeout(r, 20));
      watcher.cancel();
      assert.deepEqual(events, ['/objects/y']);
      assert.deepEqual(
        (await one.range('')).items.map((kv) => kv.key),
        ['/objects/y'],
      );
      assert.deepEqual(
        (await two.range('')).items.map((kv) => kv.key),
        ['/objects/x'],
      );
      await assert.rejects(one.txn([], [{ type: 'put', key: 'no-slash', value: 'x' }]), /must be a string starting with '\/'/);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('reports the txn that etcd applied as succeeded, not as a conflict with itself', async () => {
    const relay = await lossyRelay(node.members[0].clientPort);
    const store = await EtcdStore.open({ hosts: [`127.0.0.1:${relay.port}`], prefix: '/lost' });
    try {
      const before = await store.currentRevision();
      relay.armLoss();
      const result = await store.txn(
        [{ key: '/k', modRevision: 0 }],
        [
          { type: 'put', key: '/k', value: 'mine' },
          { type: 'put', key: '/k2', value: 'too' },
        ],
      );
      assert.equal(result.succeeded, true, `txn reported ${JSON.stringify(result)}`);
      const kv = await store.get('/k');
      assert.equal(kv?.value, 'mine');
      assert.equal(result.revision, kv?.modRevision);
      // Applied once: the retry found its own write and did not write again.
      assert.equal(await store.currentRevision(), before + 1);
      // A real conflict is still a conflict.
      const again = await store.txn([{ key: '/k', modRevision: 0 }], [{ type: 'put', key: '/k', value: 'other' }]);
      assert.equal(again.succeeded, false);
    } finally {
      await store.close();
      await relay.close();
    }
  });
});

describe('etcd store on a 3-member cluster', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcd({ size: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('keeps writing and reading while a member is down, and a broken watch reports onError', async () => {
    const store = await EtcdStore.open({ hosts: cluster.hosts, prefix: '/ha' });
    // A watch pinned to member 0 only, so killing that member must break it.
    const pinned = await EtcdStore.open({ hosts: [cluster.hosts[0]], prefix: '/ha' });
    try {
      const errors: Error[] = [];
      const seen: string[] = [];
      await pinned.watch('/k/', await store.currentRevision(), {
        onEvents: (events) => seen.push(...events.map((e) => e.key)),
        onError: (error) => errors.push(error),
      });
      const first = (await store.txn([], [{ type: 'put', key: '/k/a', value: '1' }])).revision;
      while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
      await cluster.kill(0);
      for (let i = 0; i < 20; i++) {
        const r = await store.txn([{ key: `/k/n${i}`, modRevision: 0 }], [{ type: 'put', key: `/k/n${i}`, value: String(i) }]);
        assert.equal(r.succeeded, true);
      }
      assert.equal((await store.range('/k/')).items.length, 21);
      // New watches while the member is down still start (on a live member) and replay what they asked for.
      for (let i = 0; i < 6; i++) {
        const got: string[] = [];
        const w = await store.watch('/k/', first - 1, {
          onEvents: (events) => got.push(...events.map((e) => e.key)),
          onError: () => undefined,
        });
        while (got.length < 21) await new Promise((r) => setTimeout(r, 20));
        w.cancel();
        assert.equal(got[0], '/k/a');
      }
      while (errors.length === 0) await new Promise((r) => setTimeout(r, 20));
      assert.match(errors[0].message, /re-list/);
      await cluster.restart(0);
      // The restarted member catches up and serves the same data.
      const rejoined = await EtcdStore.open({ hosts: [cluster.hosts[0]], prefix: '/ha' });
      try {
        assert.equal((await rejoined.range('/k/')).items.length, 21);
      } finally {
        await rejoined.close();
      }
    } finally {
      await pinned.close();
      await store.close();
    }
  });
});
