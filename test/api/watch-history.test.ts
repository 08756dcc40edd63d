import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import type { WatchEvent } from '../../src/client/api-client';
import { TenetClient } from '../../src/client/api-client';
import { V, endpointObj, expectStatus, networkObj, tenantObj } from './api-helpers';

let controller: RunningController;
before(async () => {
  controller = await startController({ env: { TENET_WATCH_BOOKMARK_MS: '300' } });
});
after(async () => {
  await controller?.stop();
});

function collect(client: TenetClient, target: Parameters<TenetClient['watch']>[0], from: number, until: (events: WatchEvent[]) => boolean) {
  const events: WatchEvent[] = [];
  let resolve: () => void = () => undefined;
  const reached = new Promise<void>((r) => (resolve = r));
  const handle = client.watch(target, from, (event) => {
    events.push(event);
    if (until(events)) resolve();
  });
  return { events, handle, reached: Promise.race([reached, handle.done.then(() => assert.fail('stream ended early'))]) };
}

function collectSelected(
  client: TenetClient,
  tenant: string,
  labelSelector: string,
  from: number,
  until: (events: WatchEvent[]) => boolean,
) {
  return collect(client, { kind: 'Group', tenant, labelSelector }, from, until);
}

test('watch from the middle of N creates delivers exactly the rest, in order, then follows live changes', async () => {
  const c = controller.client;
  await c.create(tenantObj('w'));
  const revisions: number[] = [];
  for (let i = 0; i < 20; i++) {
    const created = await c.create({ apiVersion: V, kind: 'Group', metadata: { name: `g${i}`, tenant: 'w' }, spec: { selector: {} } });
    revisions.push(Number((created as { metadata: { resourceVersion?: string } }).metadata.resourceVersion));
  }
  const from = revisions[9];
  const watch = collect(c, { kind: 'Group', tenant: 'w' }, from, (events) => events.filter((e) => e.type !== 'BOOKMARK').length === 12);
  await c.patch('Group', 'g0', 'w', { metadata: { labels: { x: 'y' } } });
  await c.delete('Group', 'g1', 'w');
  await watch.reached;
  watch.handle.close();
  const real = watch.events.filter((e) => e.type !== 'BOOKMARK');
  assert.deepEqual(
    real.slice(0, 10).map((e) => e.object?.metadata.name),
    Array.from({ length: 10 }, (_, i) => `g${i + 10}`),
  );
  assert.deepEqual(
    real.slice(0, 10).map((e) => e.revision),
    revisions.slice(10),
  );
  assert.ok(real.slice(0, 10).every((e) => e.type === 'ADDED'));
  assert.equal(real[10].type, 'MODIFIED');
  assert.equal(real[10].object?.metadata.labels?.x, 'y');
  assert.equal(real[11].type, 'DELETED');
  assert.equal(real[11].object?.metadata.name, 'g1');
  const all = real.map((e) => e.revision);
  assert.deepEqual(
    all,
    [...all].sort((a, b) => a - b),
  );
});

test('a label-selected watch: leaving the selection is DELETED, entering it is ADDED (as in Kubernetes)', async () => {
  const c = controller.client;
  await c.create(tenantObj('sel'));
  const group = (name: string, app: string) => ({
    apiVersion: V,
    kind: 'Group' as const,
    metadata: { name, tenant: 'sel', labels: { app } },
    spec: { selector: {} },
  });
  await c.create(group('a', 'web'));
  await c.create(group('b', 'db'));
  const listed = await c.list('Group', { tenant: 'sel', labelSelector: 'app=web' });
  assert.deepEqual(
    listed.items.map((g) => g.metadata.name),
    ['a'],
  );
  const real = (events: WatchEvent[]) => events.filter((e) => e.type !== 'BOOKMARK');
  const watch = collectSelected(c, 'sel', 'app=web', listed.resourceVersion, (events) => real(events).length === 5);
  await c.patch('Group', 'a', 'sel', { metadata: { labels: { app: 'db' } } }); // leaves
  await c.patch('Group', 'a', 'sel', { spec: { description: 'still db' } }); // not selected: nothing
  await c.patch('Group', 'b', 'sel', { metadata: { labels: { app: 'web' } } }); // enters
  await c.patch('Group', 'b', 'sel', { metadata: { labels: { app: 'web', x: 'y' } } }); // stays
  await c.create(group('c', 'web')); // new and selected
  await c.delete('Group', 'a', 'sel'); // not selected: nothing
  await c.delete('Group', 'b', 'sel'); // selected: deleted
  await watch.reached;
  watch.handle.close();
  const seen = real(watch.events).map((e) => `${e.type} ${e.object?.metadata.name} app=${e.object?.metadata.labels?.app}`);
  assert.deepEqual(seen, ['DELETED a app=db', 'ADDED b app=web', 'MODIFIED b app=web', 'ADDED c app=web', 'DELETED b app=web']);

  // Changes between the client's list and the start of its watch are judged the same way.
  await c.create(group('d', 'web'));
  await c.create(group('e', 'db'));
  const at = (await c.list('Group', { tenant: 'sel', labelSelector: 'app=web' })).resourceVersion;
  await c.patch('Group', 'd', 'sel', { metadata: { labels: { app: 'db' } } });
  await c.patch('Group', 'e', 'sel', { spec: { description: 'never selected' } });
  await c.create(group('f', 'web'));
  const late = collectSelected(c, 'sel', 'app=web', at, (events) => real(events).some((e) => e.object?.metadata.name === 'f'));
  await late.reached;
  late.handle.close();
  // e changed after `at` too, and the stream cannot know its labels at `at` (the store keeps no previous
  // values): it may come as a DELETED the client ignores, but never as an object to keep.
  const lines = real(late.events).map((e) => `${e.type} ${e.object?.metadata.name}`);
  assert.deepEqual(
    lines.filter((l) => l !== 'DELETED e'),
    ['DELETED d', 'ADDED f'],
  );
  await c.delete('Tenant', 'sel', undefined, { cascade: true });
});

test('a watch from a resourceVersion newer than the store answers 400 at once instead of waiting', async () => {
  const c = controller.client;
  const current = (await c.list('Tenant')).resourceVersion;
  const error = await expectStatus(c.watch({ kind: 'Tenant' }, current + 1000, () => undefined).done, 400);
  assert.match(error.message, new RegExp(`resourceVersion ${current + 1000} is newer than the store's current revision \\d+`));
  await expectStatus(c.watch({ kinds: ['Tenant', 'Network'] }, current + 1000, () => undefined).done, 400);
  // The current revision itself is fine: the stream waits for what comes next.
  const ok = collect(c, { kind: 'Tenant' }, current, (events) => events.some((e) => e.type === 'ADDED'));
  await c.create(tenantObj('rv-now'));
  await ok.reached;
  ok.handle.close();
  await c.delete('Tenant', 'rv-now');
});

test('multi-kind watch and snapshot: list then watch misses nothing; bookmarks arrive when idle', async () => {
  const c = controller.client;
  const snap = await c.snapshot(['Tenant', 'Network', 'Endpoint']);
  const watch = collect(
    c,
    { kinds: ['Network', 'Endpoint'] },
    snap.revision,
    (events) => events.some((e) => e.type === 'BOOKMARK') && events.length >= 3,
  );
  await c.create(tenantObj('mk'));
  await c.create(networkObj('mk', 'n', ['10.80.0.0/24']));
  await c.create(endpointObj('mk', 'n', 'e'));
  await watch.reached;
  watch.handle.close();
  const real = watch.events.filter((e) => e.type !== 'BOOKMARK');
  assert.deepEqual(
    real.map((e) => `${e.type} ${e.object?.kind}`),
    ['ADDED Network', 'ADDED Endpoint'],
  );
  const bookmark = watch.events.find((e) => e.type === 'BOOKMARK')!;
  assert.ok(bookmark.revision >= real[1].revision);
});

test('a resourceVersion older than the retained history answers 410 Gone', async (t) => {
  const small = await startController({ env: { TENET_RETAIN_REVISIONS: '20' } });
  t.after(() => small.stop());
  const c = small.client;
  await c.create(tenantObj('old'));
  for (let i = 0; i < 40; i++) await c.create({ apiVersion: V, kind: 'Scope', metadata: { name: `s${i}`, tenant: 'old' }, spec: {} });
  const handle = c.watch({ kind: 'Scope' }, 1, () => undefined);
  await expectStatus(handle.done, 410);
  const listed = await c.list('Scope');
  const ok = collect(c, { kind: 'Scope' }, listed.resourceVersion, (events) => events.length === 1);
  await c.delete('Scope', 's0', 'old');
  await ok.reached;
  ok.handle.close();
  assert.equal(ok.events[0].type, 'DELETED');
});

test('apply: dry run, created/configured/unchanged, one history revision; history and rollback', async () => {
  const c = controller.client;
  const objects = [
    tenantObj('app', { team: 'x' }),
    networkObj('app', 'front', ['10.90.0.0/24']),
    { apiVersion: V, kind: 'Group', metadata: { name: 'web', tenant: 'app' }, spec: { selector: { matchLabels: { app: 'web' } } } },
  ];
  const dry = await c.apply(objects, { dryRun: true });
  assert.equal(dry.revision, null);
  assert.deepEqual(
    dry.results.map((r) => r.action),
    ['created', 'created', 'created'],
  );
  await expectStatus(c.get('Tenant', 'app'), 404);
  const first = await c.apply(objects, { message: 'initial' });
  assert.equal(typeof first.revision, 'number');
  assert.deepEqual(
    first.results.map((r) => `${r.kind}:${r.action}`),
    ['Tenant:created', 'Network:created', 'Group:created'],
  );
  const same = await c.apply(objects);
  assert.equal(same.revision, null);
  assert.deepEqual(
    same.results.map((r) => r.action),
    ['unchanged', 'unchanged', 'unchanged'],
  );
  const changed = structuredClone(objects);
  (changed[2].spec as { description?: string }).description = 'web tier';
  const second = await c.apply(changed);
  assert.equal(second.revision, first.revision! + 1);
  assert.deepEqual(
    second.results.map((r) => r.action),
    ['unchanged', 'unchanged', 'configured'],
  );
  await c.create(networkObj('app', 'back', ['10.91.0.0/24']));
  await c.delete('Group', 'web', 'app');
  // Endpoints are not intent: they make no history revision.
  const epRevision = (await c.history()).at(-1)!.revision;
  await c.create(endpointObj('app', 'front', 'e1'));
  assert.equal((await c.history()).at(-1)!.revision, epRevision);

  const history = await c.history();
  const mine = history.filter((h) => h.revision >= first.revision!);
  assert.deepEqual(
    mine.map((h) => h.verb),
    ['apply', 'apply', 'create', 'delete'],
  );
  assert.equal(mine[0].message, 'initial');
  assert.match(mine[0].actor, /^admin:[a-z0-9]{12}$/, 'history names the token that made the change');
  assert.deepEqual(mine[3].changes, [{ kind: 'Group', tenant: 'app', name: 'web', action: 'deleted' }]);

  // Back to right after the first apply: the group returns without its description, "back" goes away.
  const rolled = await c.rollback(first.revision!);
  assert.equal(typeof rolled.revision, 'number');
  assert.deepEqual(rolled.results.map((r) => `${r.kind}/${r.name}:${r.action}`).sort(), ['Group/web:created', 'Network/back:deleted']);
  const group = await c.get('Group', 'web', 'app');
  assert.equal((group.spec as { description?: string }).description, undefined);
  await expectStatus(c.get('Network', 'back', 'app'), 404);
  assert.equal((await c.history()).at(-1)!.verb, 'rollback');
  // Rolling back to before the tenant existed would delete a network that has an endpoint: refused, nothing changes.
  const before = (await c.history()).length;
  await expectStatus(c.rollback(first.revision! - 1), 409);
  assert.equal((await c.history()).length, before);
  assert.ok(await c.get('Tenant', 'app'));
  await c.delete('Endpoint', 'e1', 'app');
  const undo = await c.rollback(first.revision! - 1);
  assert.ok(undo.results.some((r) => r.kind === 'Tenant' && r.action === 'deleted'));
  await expectStatus(c.get('Tenant', 'app'), 404);
  // And forward again: the tenant is back (with a VNI) with everything in it.
  await c.rollback(second.revision!);
  const tenant = await c.get('Tenant', 'app');
  assert.ok((tenant.status as { vni: number }).vni >= 4096);
  assert.equal(((await c.get('Group', 'web', 'app')).spec as { description?: string }).description, 'web tier');
  await c.delete('Tenant', 'app', undefined, { cascade: true });
});

test('restart keeps everything: graceful stop and kill -9; addresses are not handed out twice', async (t) => {
  let running = await startController();
  t.after(() => running.stop());
  const c = () => running.client;
  await c().create(tenantObj('persist'));
  await c().create(networkObj('persist', 'n', ['10.99.0.0/24']));
  const e1 = await c().create(endpointObj('persist', 'n', 'e1'));
  const revision = (await c().list('Tenant')).resourceVersion;
  running = await running.restart();
  assert.equal((await c().list('Tenant')).resourceVersion, revision);
  assert.deepEqual((await c().get('Endpoint', 'e1', 'persist')).status, e1.status);
  const e2 = await c().create(endpointObj('persist', 'n', 'e2'));
  await running.kill();
  running = await running.restart();
  const after = await c().list('Endpoint', { tenant: 'persist' });
  assert.deepEqual(
    after.items.map((e) => e.metadata.name),
    ['e1', 'e2'],
  );
  assert.deepEqual(after.items[1].status, e2.status);
  const e3 = await c().create(endpointObj('persist', 'n', 'e3'));
  const ips = new Set([e1, e2, e3].map((e) => (e.status as { ipv4: string }).ipv4));
  assert.equal(ips.size, 3);
  // The watch history survives too: a watch from before the kill replays what followed.
  const events: WatchEvent[] = [];
  const handle = c().watch({ kind: 'Endpoint', tenant: 'persist' }, revision, (e) => events.push(e));
  while (events.filter((e) => e.type === 'ADDED').length < 2) await new Promise((r) => setTimeout(r, 20));
  handle.close();
  assert.deepEqual(
    events.filter((e) => e.type === 'ADDED').map((e) => e.object?.metadata.name),
    ['e2', 'e3'],
  );
});

test('a unix socket listener serves the same API (stale socket file removed, mode 0600)', async (t) => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-sock-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 'ctl.sock');
  fs.writeFileSync(socket, '');
  // A regular file is not a stale socket: it must not be deleted, so listening fails cleanly.
  await assert.rejects(startController({ extraArgs: ['--listen', `unix:${socket}`] }));
  fs.rmSync(socket);
  const first = await startController({ extraArgs: ['--listen', `unix:${socket}`] });
  await first.kill();
  assert.ok(fs.existsSync(socket), 'kill -9 leaves the socket file behind');
  const running = await first.restart();
  t.after(() => running.stop());
  assert.deepEqual(running.urls, [running.url, `unix:${socket}`]);
  assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
  const viaSocket = new TenetClient({ servers: [`unix:${socket}`], token: running.adminToken });
  await viaSocket.create(tenantObj('sock'));
  assert.equal((await running.client.get('Tenant', 'sock')).metadata.name, 'sock');
});
