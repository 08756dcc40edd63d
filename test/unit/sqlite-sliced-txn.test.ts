/**
 * A huge txn on the SQLite store commits in slices with turns of the event loop between them
 * (fairness: other tenants' reads run meanwhile), and is still one atomic, isolated revision:
 * reads during it see only committed state, a txn sent meanwhile commits after it, watchers get all
 * its events at once after the commit, a failed compare or a restart mid-way leaves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SqliteStore } from '../../src/store/sqlite-store';
import type { StoreEvent, WriteOp } from '../../src/store/store';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-sliced-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const puts = (n: number, value: string): WriteOp[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: `/big/${String(i).padStart(5, '0')}`, value }));

test('a sliced txn lets reads run meanwhile, and they see only committed state', async (t) => {
  const store = await SqliteStore.open(tempDir(t), { slicedTxnOps: 100 });
  t.after(() => store.close());
  await store.txn([], [...puts(10, 'old'), { type: 'put', key: '/big/zz-gone', value: 'old' }]);
  const events: StoreEvent[][] = [];
  await store.watch('/', 1, { onEvents: (batch) => events.push(batch), onError: () => undefined });

  const ops: WriteOp[] = [...puts(5000, 'new'), { type: 'delete', key: '/big/zz-gone' }];
  let done = false;
  let deliveredAtResolve = -1;
  const big = store.txn([{ key: '/big/00000', modRevision: 1 }], ops).finally(() => {
    done = true;
    deliveredAtResolve = events.flat().length;
  });
  const seen: { value: string | undefined; count: number; gone: boolean; revision: number }[] = [];
  let late: Promise<unknown> | undefined;
  while (!done) {
    const one = await store.get('/big/00003');
    const listed = await store.range('/big/');
    seen.push({
      value: one?.value,
      count: listed.items.length,
      gone: !listed.items.some((kv) => kv.key === '/big/zz-gone'),
      revision: await store.currentRevision(),
    });
    // A small txn sent while the big one is open waits for it (and then sees its writes).
    late ??= store.txn([{ key: '/big/00004', modRevision: 2 }], [{ type: 'put', key: '/late', value: 'x' }]);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await big, { succeeded: true, revision: 2 });
  const before = { value: 'old', count: 11, gone: false, revision: 1 };
  const after = { value: 'new', count: 5000, gone: true, revision: 2 };
  assert.ok(seen.filter((s) => s.revision === 1).length >= 3, `reads ran while the txn was open (${seen.length})`);
  // Never a part of it: either all of the commit or none (reads after COMMIT, while watchers are told, see it all).
  // (The late txn may commit, as revision 3, while watchers are still being told of revision 2.)
  for (const s of seen) assert.deepEqual(s, s.revision === 1 ? before : { ...after, revision: s.revision });
  assert.ok(seen.every((s) => s.revision <= 3));
  assert.equal(deliveredAtResolve, 5001, 'the txn resolves once every watcher has had all its events');
  assert.deepEqual(await late, { succeeded: true, revision: 3 });
  assert.equal((await store.get('/big/00003'))?.value, 'new');
  assert.equal((await store.range('/big/')).items.length, 5000);
  assert.ok(events.length > 1, 'handed to watchers in slices');
  const delivered = events.flat();
  assert.equal(delivered.length, 5002, 'the revision once, then the late txn');
  assert.ok(delivered.slice(0, 5001).every((e) => e.revision === 2));
  assert.deepEqual(
    delivered.slice(0, 3).map((e) => e.key),
    ['/big/00000', '/big/00001', '/big/00002'],
    'in order',
  );
  assert.equal(delivered[5001].revision, 3);
  // A watch started now from before it replays it whole.
  const replay: StoreEvent[] = [];
  const watcher = await store.watch('/big/', 1, { onEvents: (batch) => replay.push(...batch), onError: () => undefined });
  await new Promise((resolve) => setImmediate(resolve));
  watcher.cancel();
  assert.equal(replay.length, 5001);
});

test('a sliced txn whose compare fails leaves nothing; close waits for an open one', async (t) => {
  const dir = tempDir(t);
  let store = await SqliteStore.open(dir, { slicedTxnOps: 100 });
  await store.txn([], [{ type: 'put', key: '/k', value: '1' }]);
  const failed = await store.txn([{ key: '/k', modRevision: 0 }], puts(3000, 'x'));
  assert.equal(failed.succeeded, false);
  assert.deepEqual(failed.failed, [{ key: '/k', modRevision: 0 }]);
  assert.equal((await store.range('/big/')).items.length, 0);
  assert.equal(await store.currentRevision(), 1);
  // Closing while one is open waits for it: it is whole afterwards.
  const whole = store.txn([], puts(3000, 'y'));
  await store.close();
  assert.equal((await whole).succeeded, true);
  store = await SqliteStore.open(dir, { slicedTxnOps: 100 });
  t.after(() => store.close());
  assert.equal((await store.range('/big/')).items.length, 3000);
  assert.equal(await store.currentRevision(), 2);
});

test('a process killed (SIGKILL) in the middle of a sliced txn leaves none of it', async (t) => {
  const dir = tempDir(t);
  const module = path.join(__dirname, '..', '..', 'src', 'store', 'sqlite-store.js');
  // The child commits one txn, starts a sliced one of 200,000 writes and kills itself after some slices.
  const script = `
    const { SqliteStore } = require(${JSON.stringify(module)});
    (async () => {
      const store = await SqliteStore.open(${JSON.stringify(dir)}, { slicedTxnOps: 100 });
      await store.txn([], [{ type: 'put', key: '/k', value: '1' }]);
      const ops = Array.from({ length: 200000 }, (_, i) => ({ type: 'put', key: '/big/' + i, value: 'x' }));
      void store.txn([], ops);
      let turns = 0;
      const tick = () => { if (++turns === 20) process.kill(process.pid, 'SIGKILL'); setImmediate(tick); };
      setImmediate(tick);
    })();`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const store = await SqliteStore.open(dir, { slicedTxnOps: 100 });
  t.after(() => store.close());
  assert.equal(await store.currentRevision(), 1);
  assert.equal((await store.range('/big/')).items.length, 0);
  assert.equal((await store.get('/k'))?.value, '1');
});
