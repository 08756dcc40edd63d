import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SqliteStore } from '../../src/store/sqlite-store';
import { CompactedError, type StoreEvent } from '../../src/store/store';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-sqlite-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('txn: compares, one revision per successful txn, create/mod revisions', async (t) => {
  const store = await SqliteStore.open(tempDir(t));
  t.after(() => store.close());
  assert.equal(await store.currentRevision(), 0);
  const r1 = await store.txn(
    [{ key: '/a', modRevision: 0 }],
    [
      { type: 'put', key: '/a', value: '1' },
      { type: 'put', key: '/b', value: '2' },
    ],
  );
  assert.deepEqual(r1, { succeeded: true, revision: 1 });
  const again = await store.txn([{ key: '/a', modRevision: 0 }], [{ type: 'put', key: '/a', value: 'x' }]);
  assert.equal(again.succeeded, false);
  assert.deepEqual(again.failed, [{ key: '/a', modRevision: 0 }]);
  assert.equal(again.revision, 1);
  const r2 = await store.txn([{ key: '/a', modRevision: 1 }], [{ type: 'put', key: '/a', value: '3' }]);
  assert.equal(r2.revision, 2);
  assert.deepEqual(await store.get('/a'), { key: '/a', value: '3', createRevision: 1, modRevision: 2 });
  await store.txn([], [{ type: 'delete', key: '/b' }]);
  assert.equal(await store.get('/b'), undefined);
  assert.equal(await store.currentRevision(), 3);
});

test('range by prefix is sorted, bounded by the prefix, and honours limit', async (t) => {
  const store = await SqliteStore.open(tempDir(t));
  t.after(() => store.close());
  await store.txn(
    [],
    ['/x/b', '/x/a', '/x0', '/y/a', '/x/c'].map((key) => ({ type: 'put' as const, key, value: key })),
  );
  const all = await store.range('/x/');
  assert.deepEqual(
    all.items.map((kv) => kv.key),
    ['/x/a', '/x/b', '/x/c'],
  );
  assert.equal(all.revision, 1);
  assert.deepEqual(
    (await store.range('/x/', { limit: 2 })).items.map((kv) => kv.key),
    ['/x/a', '/x/b'],
  );
  assert.equal((await store.range('')).items.length, 5);
});

test('watch replays from a revision and then follows, in order with no gaps', async (t) => {
  const store = await SqliteStore.open(tempDir(t));
  t.after(() => store.close());
  for (let i = 1; i <= 10; i++)
    await store.txn(
      [],
      [
        { type: 'put', key: `/k/${i}`, value: String(i) },
        { type: 'put', key: `/other/${i}`, value: '' },
      ],
    );
  const seen: StoreEvent[] = [];
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolve = r));
  const watcher = await store.watch('/k/', 5, {
    onEvents: (events) => {
      seen.push(...events);
      if (seen.length === 7) resolve();
    },
    onError: (error) => assert.fail(error),
  });
  await store.txn([], [{ type: 'put', key: '/k/1', value: 'changed' }]);
  await store.txn([], [{ type: 'delete', key: '/k/2' }]);
  await done;
  watcher.cancel();
  assert.deepEqual(
    seen.map((e) => e.revision),
    [6, 7, 8, 9, 10, 11, 12],
  );
  assert.deepEqual(
    seen.map((e) => e.key),
    ['/k/6', '/k/7', '/k/8', '/k/9', '/k/10', '/k/1', '/k/2'],
  );
  assert.equal(seen[5].createRevision, 1);
  assert.equal(seen[6].type, 'delete');
  assert.equal(seen[6].value, '2');
});

test('old revisions are compacted: watching from before them throws CompactedError', async (t) => {
  const store = await SqliteStore.open(tempDir(t), { retainRevisions: 10 });
  t.after(() => store.close());
  for (let i = 0; i < 30; i++) await store.txn([], [{ type: 'put', key: '/k', value: String(i) }]);
  await assert.rejects(store.watch('/', 1, { onEvents: () => undefined, onError: () => undefined }), CompactedError);
  const recent = await store.watch('/', 25, { onEvents: () => undefined, onError: () => undefined });
  recent.cancel();
});

test('data survives kill -9 of a writer process (WAL)', async (t) => {
  const dir = tempDir(t);
  const module = path.join(__dirname, '..', '..', 'src', 'store', 'sqlite-store.js');
  const script = `
    const { SqliteStore } = require(${JSON.stringify(module)});
    SqliteStore.open(${JSON.stringify(dir)}).then(async (store) => {
      for (let i = 0; i < 200; i++) await store.txn([], [{ type: 'put', key: '/n/' + i, value: String(i) }]);
      process.kill(process.pid, 'SIGKILL');
    });`;
  const result = spawnSync(process.execPath, ['-e', script]);
  assert.equal(result.signal, 'SIGKILL');
  const store = await SqliteStore.open(dir);
  t.after(() => store.close());
  assert.equal(await store.currentRevision(), 200);
  assert.equal((await store.range('/n/')).items.length, 200);
  const events: StoreEvent[] = [];
  const watcher = await store.watch('/n/', 190, { onEvents: (e) => events.push(...e), onError: () => undefined });
  await new Promise((r) => setImmediate(r));
  watcher.cancel();
  assert.deepEqual(
    events.map((e) => e.revision),
    [191, 192, 193, 194, 195, 196, 197, 198, 199, 200],
  );
});

test('a second store on the same data dir is refused while the first is open, and allowed after close', async (t) => {
  const dir = tempDir(t);
  const first = await SqliteStore.open(dir);
  await first.txn([], [{ type: 'put', key: '/a', value: '1' }]);
  const module = path.join(__dirname, '..', '..', 'src', 'store', 'sqlite-store.js');
  const script = `require(${JSON.stringify(module)}).SqliteStore.open(${JSON.stringify(dir)}).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`;
  const refused = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(refused.status, 3);
  assert.match(refused.stderr, /in use by another process/);
  await first.close();
  const second = await SqliteStore.open(dir);
  t.after(() => second.close());
  assert.equal((await second.get('/a'))?.value, '1');
});
