/**
 * The pure parts of the noisy-neighbour limits: quota decisions and their message, the option
 * parsers, and the label-selected watch's tracker holding keys — only the matching ones — not objects.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  decideQuota,
  effectiveLimits,
  overridesFromSpec,
  parseQuotaList,
  DEFAULT_QUOTA,
  type QuotaKind,
} from '../../src/core/limits/quota';
import { DEFAULT_RATE_LIMITS, parsePerRole } from '../../src/core/limits/request-limits';
import { SelectionTracker } from '../../src/controller/selection-tracker';
import { stringifyPaced } from '../../src/controller/limits/pacer';
import { parseSelector } from '../../src/core/model/selectors';
import type { KeyValue, StoreEvent } from '../../src/store/store';
import type { TenetObject } from '../../src/core/model/object';

test('quota: a request that fits passes; one past the limit is refused naming kind, tenant, used and limit', () => {
  const limits = effectiveLimits({ Group: 10 }, { Group: 3 });
  const used = (kind: QuotaKind) => (kind === 'Group' ? 2 : 0);
  assert.deepEqual(decideQuota('t1', limits, used, new Map([['Group', 1]])), { ok: true });
  const refused = decideQuota(
    't1',
    limits,
    used,
    new Map<QuotaKind, number>([
      ['Group', 2],
      ['Network', 1],
    ]),
  );
  assert.equal(refused.ok, false);
  if (refused.ok) return;
  assert.match(refused.message, /^exceeded quota: tenant "t1" groups: used 2, requested 2, limit 3;/);
  assert.deepEqual(refused.exceeded, [{ kind: 'Group', used: 2, requested: 2, limit: 3 }]);
  // Shrinking (deletes) is never refused, even above the limit.
  assert.deepEqual(
    decideQuota('t1', limits, () => 50, new Map([['Group', -1]])),
    { ok: true },
  );
});

test('quota: tenant spec over cluster defaults over built-in defaults, per kind', () => {
  const limits = effectiveLimits(parseQuotaList('networks=5,endpoints=70'), overridesFromSpec({ endpoints: 9, bogus: 1 }));
  assert.equal(limits.Network, 5);
  assert.equal(limits.Endpoint, 9);
  assert.equal(limits.Policy, DEFAULT_QUOTA.Policy);
  assert.throws(() => parseQuotaList('widgets=3'), /"widgets=3": expected FIELD=N/);
  assert.throws(() => parseQuotaList('networks=-1'), /expected FIELD=N/);
});

test('request limits: ROLE=N lists override the defaults and refuse unknown roles', () => {
  const parsed = parsePerRole('viewer=10, tenant-admin=20', DEFAULT_RATE_LIMITS);
  assert.equal(parsed.viewer, 10);
  assert.equal(parsed['tenant-admin'], 20);
  assert.equal(parsed.admin, DEFAULT_RATE_LIMITS.admin);
  assert.throws(() => parsePerRole('root=1', DEFAULT_RATE_LIMITS), /"root=1": expected ROLE=N/);
  assert.throws(() => parsePerRole('viewer=0', DEFAULT_RATE_LIMITS), /between 1 and/);
});

const V = 'tenet.dev/v1';
const groupJson = (name: string, labels: Record<string, string>) =>
  JSON.stringify({ apiVersion: V, kind: 'Group', metadata: { name, tenant: 't', labels }, spec: {} });
const kv = (name: string, labels: Record<string, string>, modRevision: number, createRevision = modRevision): KeyValue => ({
  key: `/objects/Group/t/${name}`,
  value: groupJson(name, labels),
  modRevision,
  createRevision,
});
const put = (name: string, labels: Record<string, string>, revision: number, createRevision: number): [StoreEvent, TenetObject] => {
  const value = groupJson(name, labels);
  return [{ type: 'put', key: `/objects/Group/t/${name}`, value, revision, createRevision }, JSON.parse(value) as TenetObject];
};
const del = (name: string, labels: Record<string, string>, revision: number, createRevision: number): [StoreEvent, TenetObject] => {
  const value = groupJson(name, labels);
  return [{ type: 'delete', key: `/objects/Group/t/${name}`, value, revision, createRevision }, JSON.parse(value) as TenetObject];
};

test('selected watch tracker: seeded with a 10,000-object tenant it keeps only the matching keys', () => {
  const tracker = new SelectionTracker(parseSelector('app=web'), 20_000);
  const items: KeyValue[] = [];
  for (let i = 0; i < 10_000; i++) items.push(kv(`g${i}`, { app: i % 1000 === 0 ? 'web' : 'db', pad: 'x'.repeat(100) }, i + 1));
  tracker.seed(items, 20_000);
  assert.deepEqual(tracker.heldKeys(), { matching: 10, unknown: 0, settled: 0 });
});

test('selected watch tracker: transitions in and out of the selection, and what it does not know', () => {
  const after = 100;
  const tracker = new SelectionTracker(parseSelector('app=web'), after);
  // At the list (revision 110): a matched, b not matched, c changed after the watch's revision (unknown).
  tracker.seed([kv('a', { app: 'web' }, 50), kv('b', { app: 'db' }, 60), kv('c', { app: 'db' }, 105, 10)], 110);
  // d existed at the watch's revision and was deleted before the list: its backlog event is unknown territory.
  assert.equal(tracker.typeFor(...put('d', { app: 'db' }, 102, 20)), 'DELETED', 'd may have matched at 100: the client must drop it');
  assert.equal(tracker.typeFor(...del('d', { app: 'db' }, 103, 20)), undefined);
  assert.equal(tracker.typeFor(...put('c', { app: 'db' }, 105, 10)), 'DELETED', 'c unknown at 100 and not matching now: DELETED');
  assert.equal(tracker.typeFor(...put('a', { app: 'db' }, 111, 5)), 'DELETED', 'a leaves the selection');
  assert.equal(tracker.typeFor(...put('a', { app: 'db' }, 112, 5)), undefined, 'a is gone for the client');
  assert.equal(tracker.typeFor(...put('b', { app: 'web' }, 113, 6)), 'ADDED', 'b enters the selection');
  assert.equal(tracker.typeFor(...put('b', { app: 'web' }, 114, 6)), 'MODIFIED');
  assert.equal(tracker.typeFor(...put('e', { app: 'web' }, 115, 115)), 'ADDED', 'a new matching object');
  assert.equal(tracker.typeFor(...put('f', { app: 'db' }, 116, 116)), undefined, 'a new object outside the selection');
  assert.equal(tracker.typeFor(...del('b', { app: 'web' }, 117, 6)), 'DELETED');
  assert.deepEqual(tracker.heldKeys(), { matching: 1, unknown: 0, settled: 0 }, 'only e is held; nothing else is remembered');
});

test('stringifyPaced gives exactly JSON.stringify of a history record', async () => {
  const record = {
    revision: 7,
    at: '2026-01-01T00:00:00.000Z',
    actor: 'admin:x',
    verb: 'apply',
    message: 'm "q"',
    changes: Array.from({ length: 300 }, (_, i) => ({ kind: 'Group', name: `g${i}`, after: { spec: { n: i, s: 'ü\n' } } })),
  };
  assert.equal(await stringifyPaced(record), JSON.stringify(record));
  assert.equal(await stringifyPaced({ ...record, changes: [] }), JSON.stringify({ ...record, changes: [] }));
  const bare = { revision: 1, at: 'x', actor: 'a', verb: 'v', changes: [{ a: 1 }] };
  assert.equal(await stringifyPaced(bare), JSON.stringify(bare));
});
