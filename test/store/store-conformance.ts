/**
 * One behavioural suite for every Store implementation: whatever runs above the store (objects,
 * IPAM, watches) relies on exactly these properties, so each backend must pass all of them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompactedError, type Store, type StoreEvent, type Watcher } from '../../src/store/store';

export interface StoreBackend {
  name: string;
  /** Called once before the suite (e.g. start a server). */
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Another client on the same data: a second connection where the backend has them, else the same store. */
  client(store: Store): Promise<Store>;
  /** Make history before `revision` unavailable to watches (compaction). */
  compact(store: Store, revision: number): Promise<void>;
}

interface Collector {
  batches: StoreEvent[][];
  errors: Error[];
  watcher: Watcher;
  events(): StoreEvent[];
  /** Resolves once at least `count` events have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<StoreEvent[]>;
}

async function collect(store: Store, prefix: string, afterRevision: number): Promise<Collector> {
  const batches: StoreEvent[][] = [];
  const errors: Error[] = [];
  let wake: () => void = () => undefined;
  const watcher = await store.watch(prefix, afterRevision, {
    onEvents: (events) => {
      batches.push(events);
      wake();
    },
    onError: (error) => {
      errors.push(error);
      wake();
    },
  });
  const events = () => batches.flat();
  return {
    batches,
    errors,
    watcher,
    events,
    waitFor: async (count, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (events().length < count) {
        if (errors.length > 0) throw errors[0];
        if (Date.now() > deadline) throw new Error(`watch saw ${events().length} of ${count} events`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return events();
    },
  };
}

const put = (key: string, value: string) => ({ type: 'put' as const, key, value });
const del = (key: string) => ({ type: 'delete' as const, key });

export function storeConformance(backend: StoreBackend): void {
  describe(`Store conformance: ${backend.name}`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const store = await backend.open();
      opened.push(store);
      return store;
    };
    const client = async (store: Store) => {
      const other = await backend.client(store);
      if (other !== store) opened.push(other);
      return other;
    };

    before(async () => backend.setup?.());
    after(async () => {
      for (const store of opened) await store.close();
      await backend.teardown?.();
    });

    it('put, get, update and delete keep create and mod revisions', async () => {
      const store = await open();
      assert.equal(await store.get('/a/x'), undefined);
      const r1 = await store.txn([], [put('/a/x', 'one')]);
      assert.equal(r1.succeeded, true);
      const first = await store.get('/a/x');
      assert.deepEqual(first, { key: '/a/x', value: 'one', createRevision: r1.revision, modRevision: r1.revision });
      const r2 = await store.txn([], [put('/a/x', 'two')]);
      assert.equal(r2.revision, r1.revision + 1);
      assert.deepEqual(await store.get('/a/x'), { key: '/a/x', value: 'two', createRevision: r1.revision, modRevision: r2.revision });
      const r3 = await store.txn([], [del('/a/x')]);
      assert.equal(r3.succeeded, true);
      assert.equal(await store.get('/a/x'), undefined);
      assert.equal(await store.currentRevision(), r3.revision);
    });

    it('range returns only keys under the prefix, sorted, with the read revision and a limit', async () => {
      const store = await open();
      const r = await store.txn([], [put('/r/b', '2'), put('/r/a', '1'), put('/r/c', '3'), put('/rx/a', 'other'), put('/q', 'other')]);
      const all = await store.range('/r/');
      assert.deepEqual(
        all.items.map((kv) => [kv.key, kv.value, kv.modRevision]),
        [
          ['/r/a', '1', r.revision],
          ['/r/b', '2', r.revision],
          ['/r/c', '3', r.revision],
        ],
      );
      assert.equal(all.revision, r.revision);
      const limited = await store.range('/r/', { limit: 2 });
      assert.deepEqual(
        limited.items.map((kv) => kv.key),
        ['/r/a', '/r/b'],
      );
      assert.deepEqual((await store.range('/none/')).items, []);
    });

    it('range of more keys than one page is complete and in order', async () => {
      const store = await open();
      const keys = Array.from({ length: 1203 }, (_, i) => `/big/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 100)
        await store.txn(
          [],
          keys.slice(i, i + 100).map((k) => put(k, k)),
        );
      const result = await store.range('/big/');
      assert.deepEqual(
        result.items.map((kv) => kv.key),
        keys,
      );
      assert.equal(result.revision, await store.currentRevision());
    });

    it('one successful txn is exactly one revision, shared by all its writes', async () => {
      const store = await open();
      await store.txn([], [put('/t/gone', 'x')]);
      const before = await store.currentRevision();
      const r = await store.txn([], [put('/t/a', '1'), put('/t/b', '2'), del('/t/gone')]);
      assert.equal(r.succeeded, true);
      assert.equal(r.revision, before + 1);
      assert.equal((await store.get('/t/a'))?.modRevision, r.revision);
      assert.equal((await store.get('/t/b'))?.modRevision, r.revision);
      assert.equal(await store.get('/t/gone'), undefined);
      assert.equal(await store.currentRevision(), before + 1);
    });

    it('a txn of 2,000 writes (a cascading delete, a large apply) is applied whole, as one revision', async () => {
      const store = await open();
      const keys = Array.from({ length: 2000 }, (_, i) => `/many/${String(i).padStart(4, '0')}`);
      const created = await store.txn(
        [],
        keys.map((k) => put(k, 'v'.repeat(200))),
      );
      assert.equal(created.succeeded, true);
      assert.equal((await store.range('/many/')).items.length, 2000);
      const deleted = await store.txn(
        keys.map((key) => ({ key, modRevision: created.revision })),
        keys.map((k) => del(k)),
      );
      assert.equal(deleted.succeeded, true);
      assert.equal(deleted.revision, created.revision + 1);
      assert.deepEqual((await store.range('/many/')).items, []);
    });

    it('txn compares: modRevision 0 means absent; a failed compare writes nothing and names the compare', async () => {
      const store = await open();
      const created = await store.txn([{ key: '/c/k', modRevision: 0 }], [put('/c/k', 'v1')]);
      assert.equal(created.succeeded, true);
      const rev = created.revision;

      const again = await store.txn([{ key: '/c/k', modRevision: 0 }], [put('/c/k', 'v2'), put('/c/side', 's')]);
      assert.equal(again.succeeded, false);
      assert.equal(again.revision, rev);
      assert.deepEqual(again.failed, [{ key: '/c/k', modRevision: 0 }]);
      assert.equal((await store.get('/c/k'))?.value, 'v1');
      assert.equal(await store.get('/c/side'), undefined);
      assert.equal(await store.currentRevision(), rev);

      const stale = await store.txn(
        [
          { key: '/c/k', modRevision: rev },
          { key: '/c/missing', modRevision: 7 },
        ],
        [put('/c/k', 'v3')],
      );
      assert.equal(stale.succeeded, false);
      assert.deepEqual(stale.failed, [{ key: '/c/missing', modRevision: 7 }]);

      const ok = await store.txn(
        [
          { key: '/c/k', modRevision: rev },
          { key: '/c/missing', modRevision: 0 },
        ],
        [put('/c/k', 'v3'), del('/c/k2')],
      );
      assert.equal(ok.succeeded, true);
      assert.equal(ok.revision, rev + 1);
      const stale2 = await store.txn([{ key: '/c/k', modRevision: rev }], [del('/c/k')]);
      assert.equal(stale2.succeeded, false);
      assert.equal((await store.get('/c/k'))?.value, 'v3');
    });

    it('watch from a revision replays then follows every change in order with no gaps, grouped by revision', async () => {
      const store = await open();
      const writer = await client(store);
      await store.txn([], [put('/w/before', 'x')]);
      const start = await store.currentRevision();
      // Some history before the watch starts (replayed) and more after (followed).
      const revisions: number[] = [];
      for (let i = 0; i < 5; i++) revisions.push((await writer.txn([], [put(`/w/k${i}`, `v${i}`), put(`/w/k${i}b`, `b${i}`)])).revision);
      const watch = await collect(store, '/w/', start);
      for (let i = 5; i < 30; i++) {
        const ops = i % 3 === 0 ? [del(`/w/k${i - 5}`), put(`/w/k${i}`, `v${i}`)] : [put(`/w/k${i}`, `v${i}`), put(`/w/k${i}b`, `b${i}`)];
        revisions.push((await writer.txn([], ops)).revision);
      }
      const events = await watch.waitFor(60);
      watch.watcher.cancel();
      assert.deepEqual(watch.errors, []);
      assert.equal(events.length, 60);
      // Every revision after the start, each exactly once and in order: no gaps, no repeats.
      const seen = [...new Set(events.map((e) => e.revision))];
      assert.deepEqual(seen, revisions);
      assert.deepEqual(
        revisions,
        Array.from({ length: 30 }, (_, i) => start + 1 + i),
      );
      for (let i = 1; i < events.length; i++) assert.ok(events[i].revision >= events[i - 1].revision);
      // A revision's events arrive in one batch.
      const batchOf = new Map<number, number>();
      watch.batches.forEach((batch, index) => {
        for (const event of batch) {
          assert.equal(batchOf.get(event.revision) ?? index, index, `revision ${event.revision} split across batches`);
          batchOf.set(event.revision, index);
        }
      });
      const deleted = events.find((e) => e.type === 'delete' && e.key === '/w/k1');
      assert.ok(deleted, 'delete of /w/k1 seen');
      assert.equal(deleted.value, 'v1');
      const created = events.find((e) => e.key === '/w/k7');
      assert.equal(created?.type, 'put');
      assert.equal(created?.createRevision, created?.revision);
    });

    it('watch of a prefix sees only keys under that prefix', async () => {
      const store = await open();
      const start = await store.currentRevision();
      const watch = await collect(store, '/p/', start);
      await store.txn([], [put('/px/no', '1')]);
      await store.txn([], [put('/q/no', '1')]);
      await store.txn([], [put('/p/yes', '1'), put('/pz', 'no')]);
      await store.txn([], [put('/p/also', '2')]);
      const events = await watch.waitFor(2);
      // One more write outside the prefix after the last expected event, then a marker inside it:
      // if anything outside leaked, it would show up before the marker.
      await store.txn([], [put('/p-/no', '1')]);
      await store.txn([], [put('/p/marker', '3')]);
      await watch.waitFor(3);
      watch.watcher.cancel();
      assert.deepEqual(
        watch.events().map((e) => e.key),
        ['/p/yes', '/p/also', '/p/marker'],
      );
      assert.equal(events[0].revision, start + 3);
    });

    it('a cancelled watch delivers nothing more', async () => {
      const store = await open();
      const watch = await collect(store, '/cw/', await store.currentRevision());
      await store.txn([], [put('/cw/a', '1')]);
      await watch.waitFor(1);
      watch.watcher.cancel();
      await store.txn([], [put('/cw/b', '2')]);
      // A second watch proves the write was published before we look at the first one.
      const probe = await collect(store, '/cw/', (await store.currentRevision()) - 1);
      await probe.waitFor(1);
      probe.watcher.cancel();
      assert.deepEqual(
        watch.events().map((e) => e.key),
        ['/cw/a'],
      );
    });

    it('watching from a compacted revision throws CompactedError; from a retained one it works', async () => {
      const store = await open();
      const first = (await store.txn([], [put('/old/k', '0')])).revision;
      for (let i = 1; i <= 25; i++) await store.txn([], [put('/old/k', String(i))]);
      const now = await store.currentRevision();
      await backend.compact(store, now - 2);
      await assert.rejects(store.watch('/old/', first - 1, { onEvents: () => undefined, onError: () => undefined }), (error: unknown) => {
        assert.ok(error instanceof CompactedError, `expected CompactedError, got ${String(error)}`);
        assert.equal(error.requested, first - 1);
        assert.ok(error.oldest > first, `oldest ${error.oldest} > ${first}`);
        return true;
      });
      const recent = await collect(store, '/old/', now - 1);
      const events = await recent.waitFor(1);
      recent.watcher.cancel();
      assert.deepEqual(
        events.map((e) => [e.revision, e.value]),
        [[now, '25']],
      );
    });

    it('concurrent compare-and-swap increments from several clients never lose an update', async () => {
      const store = await open();
      const clients = [store, await client(store), await client(store), await client(store)];
      await store.txn([], [put('/cas/counter', '0')]);
      const perClient = 25;
      let conflicts = 0;
      const revisions: number[] = [];
      await Promise.all(
        clients.map(async (c) => {
          for (let done = 0; done < perClient;) {
            const current = await c.get('/cas/counter');
            assert.ok(current);
            const next = String(Number(current.value) + 1);
            const r = await c.txn([{ key: '/cas/counter', modRevision: current.modRevision }], [put('/cas/counter', next)]);
            if (r.succeeded) {
              done++;
              revisions.push(r.revision);
            } else conflicts++;
          }
        }),
      );
      assert.equal((await store.get('/cas/counter'))?.value, String(clients.length * perClient));
      assert.equal(new Set(revisions).size, revisions.length, 'every successful txn has its own revision');
      // Reported for the reader; the invariant above is what must hold.
      process.stdout.write(`# ${backend.name}: ${conflicts} CAS conflicts retried\n`);
    });

    it('close ends open watches through onError', async () => {
      const store = await backend.open();
      const watch = await collect(store, '/close/', await store.currentRevision());
      await store.close();
      const deadline = Date.now() + 5000;
      while (watch.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(watch.errors.length, 1);
      await assert.rejects(store.get('/close/x'));
    });
  });
}
