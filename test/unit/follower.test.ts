/**
 * The agent's Follower against a fake API client: nothing before the first successful list, a 410 or a
 * stream that ends leads to a new list, the periodic resync lists again by itself, a lost controller is
 * reported and listed again after a back-off; and the agent makes no pass before the first list.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { TenetClient, WatchEvent } from '../../src/client/api-client';
import { ApiError, UnreachableError } from '../../src/client/errors';
import { Follower } from '../../src/agent/follower';
import { Agent } from '../../src/agent/agent';
import { emptyReport, type ReconcileReport } from '../../src/agent/reconciler';
import type { TenetObject } from '../../src/core/model/object';
import { HOST_VIEW_KINDS } from '../../src/core/dataplane/host-view';

const tenant = (name: string, resourceVersion: number): TenetObject =>
  ({
    apiVersion: 'tenet.dev/v1',
    kind: 'Tenant',
    metadata: { name, resourceVersion: String(resourceVersion) },
    spec: {},
  }) as unknown as TenetObject;

interface FakeWatch {
  from: number;
  emit(event: WatchEvent): void;
  end(): void;
  fail(error: Error): void;
  closed: boolean;
}

/** Answers snapshots from `next` (a queue of results or errors, then the last one again) and records every watch. */
class FakeClient {
  snapshots = 0;
  readonly watches: FakeWatch[] = [];
  constructor(private readonly answers: Array<{ revision: number; items: TenetObject[] } | Error>) {}

  async snapshot(kinds: string[]): Promise<{ revision: number; items: TenetObject[] }> {
    assert.deepEqual(kinds, [...HOST_VIEW_KINDS]);
    this.snapshots++;
    const answer = this.answers.length > 1 ? this.answers.shift()! : this.answers[0];
    if (answer instanceof Error) throw answer;
    return structuredClone(answer);
  }

  watch(_target: unknown, afterRevision: number, onEvent: (event: WatchEvent) => void): { done: Promise<void>; close(): void } {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const watch: FakeWatch = { from: afterRevision, emit: onEvent, end: resolve, fail: reject, closed: false };
    this.watches.push(watch);
    return {
      done,
      close: () => {
        watch.closed = true;
        resolve();
      },
    };
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function follow(client: FakeClient, relistMs = 3600000): { follower: Follower; changes: string[]; connections: boolean[] } {
  const changes: string[] = [];
  const connections: boolean[] = [];
  const follower = new Follower({
    client: client as unknown as TenetClient,
    kinds: HOST_VIEW_KINDS,
    log: () => undefined,
    relistMs,
    onChange: (reason) => changes.push(reason),
    onConnection: (connected) => connections.push(connected),
  });
  return { follower, changes, connections };
}

test('nothing is reported before the first successful list; then a snapshot, and a watch from its revision', async (t) => {
  const client = new FakeClient([new UnreachableError('down'), new UnreachableError('down'), { revision: 7, items: [tenant('a', 5)] }]);
  const { follower, changes, connections } = follow(client);
  t.after(() => follower.stop());
  follower.start();
  await until('two failed lists', () => client.snapshots >= 2);
  assert.equal(follower.synced, false);
  assert.deepEqual(changes, [], 'no change before the first list: the agent would act on an empty view');
  assert.deepEqual(connections, []);
  await until('the first watch', () => client.watches.length === 1);
  assert.equal(follower.synced, true);
  assert.deepEqual(changes, ['snapshot']);
  assert.deepEqual(connections, [true]);
  assert.equal(client.watches[0].from, 7);
  assert.deepEqual(
    follower.list().map((o) => o.metadata.name),
    ['a'],
  );

  const generation = follower.generation;
  client.watches[0].emit({ type: 'ADDED', revision: 8, object: tenant('b', 8) } as WatchEvent);
  client.watches[0].emit({ type: 'DELETED', revision: 9, object: tenant('a', 9) } as WatchEvent);
  client.watches[0].emit({ type: 'BOOKMARK', revision: 10 } as WatchEvent);
  assert.deepEqual(
    follower.list().map((o) => o.metadata.name),
    ['b'],
  );
  assert.equal(follower.revision, 10);
  assert.equal(follower.generation, generation + 2, 'a bookmark changes no object');
  assert.deepEqual(changes, ['snapshot', 'event', 'event']);
});

test('a 410 leads to a new list at once and a watch from its revision', async (t) => {
  const client = new FakeClient([
    { revision: 3, items: [tenant('a', 3)] },
    { revision: 20, items: [tenant('a', 3), tenant('c', 19)] },
  ]);
  const { follower, changes, connections } = follow(client);
  t.after(() => follower.stop());
  follower.start();
  await until('the first watch', () => client.watches.length === 1);
  client.watches[0].fail(new ApiError(410, 'Gone', 'compacted'));
  await until('the second watch', () => client.watches.length === 2);
  assert.equal(client.snapshots, 2);
  assert.equal(client.watches[1].from, 20);
  assert.deepEqual(
    follower
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ['a', 'c'],
  );
  assert.deepEqual(changes, ['snapshot', 'relist']);
  assert.deepEqual(connections, [true], 'a 410 is not a lost controller');
});

test('a stream that ends leads to a new list; objects gone meanwhile leave the cache', async (t) => {
  const client = new FakeClient([
    { revision: 3, items: [tenant('a', 3), tenant('b', 3)] },
    { revision: 5, items: [tenant('b', 3)] },
  ]);
  const { follower, changes, connections } = follow(client);
  t.after(() => follower.stop());
  follower.start();
  await until('the first watch', () => client.watches.length === 1);
  client.watches[0].end();
  await until('the second watch', () => client.watches.length === 2);
  assert.deepEqual(
    follower.list().map((o) => o.metadata.name),
    ['b'],
    'a deletion missed while not watching is seen in the new list',
  );
  assert.deepEqual(changes, ['snapshot', 'relist']);
  assert.deepEqual(connections, [true]);
});

test('the periodic resync lists again by itself', async (t) => {
  const client = new FakeClient([{ revision: 1, items: [] }]);
  const { follower, changes } = follow(client, 40);
  t.after(() => follower.stop());
  follower.start();
  await until('three lists', () => client.snapshots >= 3);
  assert.ok(
    client.watches.slice(0, -1).every((w) => w.closed),
    'each resync closed the watch before listing',
  );
  assert.deepEqual(changes.slice(0, 3), ['snapshot', 'relist', 'relist']);
});

test('a lost controller is reported, listed again after a back-off, and counts as a fresh snapshot', async (t) => {
  const client = new FakeClient([{ revision: 1, items: [] }, new UnreachableError('gone'), { revision: 4, items: [tenant('z', 4)] }]);
  const { follower, changes, connections } = follow(client);
  t.after(() => follower.stop());
  follower.start();
  await until('the first watch', () => client.watches.length === 1);
  client.watches[0].fail(new UnreachableError('connection reset'));
  await until('the second watch', () => client.watches.length === 2);
  assert.deepEqual(connections, [true, false, true]);
  // After a reconnect the agent reads the whole kernel back ('snapshot'), unlike after a clean re-list.
  assert.deepEqual(changes, ['snapshot', 'snapshot']);
  assert.equal(follower.synced, true);
});

test('stop ends the loop: no list after it, even during a back-off', async () => {
  const client = new FakeClient([new UnreachableError('down')]);
  const { follower } = follow(client);
  follower.start();
  await until('one failed list', () => client.snapshots >= 1);
  follower.stop();
  const lists = client.snapshots;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(client.snapshots, lists);
});

test('the agent makes no reconcile pass before the follower listed once', async (t) => {
  const agent = new Agent({
    controller: ['unix:/nonexistent/tenet-follower-test.sock'],
    hostName: 'h1',
    underlayIP: '192.0.2.1',
    socketPath: '/nonexistent/agent.sock',
    netnsPrefix: 'tenet-unit-',
    log: () => undefined,
  });
  t.after(() => agent.follower.stop());
  let passes = 0;
  const report: ReconcileReport = emptyReport();
  agent.reconciler.reconcile = async () => {
    passes++;
    return report;
  };
  await agent.reconcileNow();
  assert.equal(passes, 0, 'an unsynced agent would delete everything');
  assert.equal(agent.reconcileProgress().passes, 0);
  agent.follower.synced = true;
  await agent.reconcileNow();
  assert.equal(passes, 1);
  assert.deepEqual(
    { ...agent.reconcileProgress(), overlayMtu: undefined },
    { synced: true, passes: 1, fullPasses: 1, lastPassFailures: 0, overlayMtu: undefined },
  );
});

const endpoint = (name: string, uid: string, resourceVersion: number): TenetObject =>
  ({
    apiVersion: 'tenet.dev/v1',
    kind: 'Endpoint',
    metadata: { name, tenant: 't', uid, resourceVersion: String(resourceVersion) },
    spec: {},
  }) as unknown as TenetObject;

test('a late DELETED of an old incarnation keeps the re-created object; a DELETED of the held incarnation removes it', async (t) => {
  const client = new FakeClient([{ revision: 10, items: [endpoint('web', 'uid-old', 10)] }]);
  const { follower, changes } = follow(client);
  t.after(() => follower.stop());
  follower.start();
  await until('the first watch', () => client.watches.length === 1);
  const uidHeld = () => follower.get('Endpoint', 't', 'web')?.metadata.uid;

  // The agent deleted web (revision 11) and created it again (revision 12), recording the new one at once;
  // the watch then brings the old incarnation's events.
  follower.remove('Endpoint', 't', 'web');
  follower.upsert(endpoint('web', 'uid-new', 12));
  const generation = follower.generation;
  const changesBefore = changes.length;
  client.watches[0].emit({ type: 'DELETED', revision: 11, object: endpoint('web', 'uid-old', 11) } as WatchEvent);
  assert.equal(uidHeld(), 'uid-new', 'the DELETED of the old incarnation must not drop the re-created endpoint');
  client.watches[0].emit({ type: 'MODIFIED', revision: 11, object: endpoint('web', 'uid-old', 11) } as WatchEvent);
  assert.equal(uidHeld(), 'uid-new', 'an older event must not replace the newer object either');
  assert.equal(follower.generation, generation, 'events older than the held object change nothing');
  assert.equal(changes.length, changesBefore);

  client.watches[0].emit({ type: 'ADDED', revision: 12, object: endpoint('web', 'uid-new', 12) } as WatchEvent);
  assert.equal(uidHeld(), 'uid-new');
  client.watches[0].emit({ type: 'DELETED', revision: 13, object: endpoint('web', 'uid-new', 13) } as WatchEvent);
  assert.equal(uidHeld(), undefined, 'the DELETED of the held incarnation removes it');

  // Same incarnation removes even when the held copy is newer than the event (a local status write raced it).
  follower.upsert(endpoint('api', 'uid-a', 20));
  client.watches[0].emit({ type: 'DELETED', revision: 19, object: endpoint('api', 'uid-a', 19) } as WatchEvent);
  assert.equal(follower.get('Endpoint', 't', 'api'), undefined);
  // Another uid: a DELETED newer than the held copy still removes it.
  follower.upsert(endpoint('db', 'uid-d1', 30));
  client.watches[0].emit({ type: 'DELETED', revision: 31, object: endpoint('db', 'uid-d2', 31) } as WatchEvent);
  assert.equal(follower.get('Endpoint', 't', 'db'), undefined);
});

test('a list answered while the agent was writing keeps what the agent recorded and removed meanwhile', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const client = new FakeClient([
    { revision: 10, items: [endpoint('gone', 'uid-g', 9), endpoint('kept', 'uid-k', 8), endpoint('detached', 'uid-d', 7)] },
    // Taken before the agent's writes below: the agent's tenant is not in it (it had no endpoint there then).
    { revision: 11, items: [endpoint('kept', 'uid-k', 8), endpoint('detached', 'uid-d', 7)] },
  ]);
  const listAnswer = client.snapshot.bind(client);
  client.snapshot = async (kinds) => {
    const answer = await listAnswer(kinds);
    if (client.snapshots > 1) await gate;
    return answer;
  };
  const { follower } = follow(client);
  t.after(() => follower.stop());
  follower.start();
  await until('the first watch', () => client.watches.length === 1);
  client.watches[0].end();
  await until('the second list in flight', () => client.snapshots === 2);
  // While the list is on its way: an attach creates web (revision 12) and records its tenant (an old
  // object, revision 3); a detach removes its endpoint.
  follower.upsert(endpoint('web', 'uid-w', 12));
  follower.upsert(tenant('t', 3));
  follower.remove('Endpoint', 't', 'detached');
  release();
  await until('the second watch', () => client.watches.length === 2);
  assert.deepEqual(
    follower
      .list()
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort(),
    ['Endpoint/kept', 'Endpoint/web', 'Tenant/t'],
    'what the agent wrote during the list stays, what it removed stays removed, what the list no longer has goes',
  );
  assert.equal(follower.revision, 11);
  assert.equal(client.watches[1].from, 11);

  // The next list, with nothing written meanwhile, is taken as it is.
  client.watches[1].end();
  await until('the third watch', () => client.watches.length === 3);
  assert.deepEqual(
    follower
      .list()
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort(),
    ['Endpoint/detached', 'Endpoint/kept'],
  );
});

test('a list that finds objects unchanged keeps the very objects held; only what changed is journalled', async (t) => {
  const client = new FakeClient([
    { revision: 5, items: [tenant('a', 3), tenant('b', 4), tenant('c', 5)] },
    { revision: 5, items: [tenant('a', 3), tenant('b', 4), tenant('c', 5)] },
    { revision: 9, items: [tenant('a', 3), tenant('b', 8), tenant('d', 9)] },
  ]);
  const { follower, changes } = follow(client);
  t.after(() => follower.stop());
  follower.start();
  await until('the first watch', () => client.watches.length === 1);
  const held = new Map(follower.list().map((o) => [o.metadata.name, o]));
  const generation = follower.generation;

  client.watches[0].end();
  await until('the second watch', () => client.watches.length === 2);
  for (const o of follower.list()) assert.equal(o, held.get(o.metadata.name), `${o.metadata.name}: the object held, not the list's copy`);
  assert.equal(follower.generation, generation, 'an unchanged list changes no generation: views are reused');
  assert.deepEqual(changes, ['snapshot', 'relist']);

  client.watches[1].end();
  await until('the third watch', () => client.watches.length === 3);
  assert.equal(follower.get('Tenant', undefined, 'a'), held.get('a'), 'unchanged: the same object');
  assert.notEqual(follower.get('Tenant', undefined, 'b'), held.get('b'));
  const journal = follower.changedSince(generation);
  assert.ok(journal, 'the changes are journalled, not a reset');
  assert.deepEqual(journal.map((c) => c.name).sort(), ['b', 'c', 'd'], 'b replaced, c gone, d new');
  assert.deepEqual(
    follower
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ['a', 'b', 'd'],
  );
});
