/** TokenStore and the audit log over a real SQLite store: hashing, expiry, revocation, bootstrap file, audit txn. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../../src/store/sqlite-store';
import { TokenStore } from '../../../src/auth/token-store';
import { hashSecret, parseDuration, parseToken } from '../../../src/auth/tokens';
import { appendAudit, auditEntry, auditWrite, isAbout, narrowEntry, pruneAudit, readAudit } from '../../../src/auth/audit-log';
import { changedPaths, summarizeChanges, summaryParts, summaryScope } from '../../../src/core/auth/change-summary';
import { visibilityOf } from '../../../src/core/auth/visibility';

function tempStore(t: { after(fn: () => unknown): void }): Promise<{ store: SqliteStore; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-tokens-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return SqliteStore.open(dir).then((store) => {
    t.after(() => store.close());
    return { store, dir };
  });
}

test('tokens: stored hashed, authenticate, wrong secret, expiry, revoke, list', async (t) => {
  const { store } = await tempStore(t);
  const tokens = new TokenStore(store, 0);
  const { token, record } = await tokens.create({ role: 'tenant-admin', tenant: 'shop', description: 'ci' });
  const parsed = parseToken(token)!;
  assert.equal(parsed.id, record.id);
  const stored = (await store.get(`/tokens/${record.id}`))!.value;
  assert.ok(!stored.includes(parsed.secret), 'the secret is never stored');
  assert.equal(JSON.parse(stored).secretHash, hashSecret(parsed.secret));

  assert.deepEqual(await tokens.authenticate(token), { tokenId: record.id, role: 'tenant-admin', tenant: 'shop', host: undefined });
  assert.equal(await tokens.authenticate(`tnt_${record.id}_${'A'.repeat(43)}`), undefined);
  assert.equal(await tokens.authenticate('tnt_short'), undefined);
  assert.equal(await tokens.authenticate(''), undefined);

  const now = new Date('2030-01-01T00:00:00Z');
  const brief = await tokens.create({ role: 'viewer', tenant: 'shop', ttlMs: 60_000 }, now);
  assert.equal(brief.record.expiresAt, '2030-01-01T00:01:00.000Z');
  assert.ok(await tokens.authenticate(brief.token, new Date(now.getTime() + 59_000)));
  assert.equal(await tokens.authenticate(brief.token, new Date(now.getTime() + 60_000)), undefined, 'expired at expiresAt');

  assert.deepEqual((await tokens.list()).map((r) => r.id).sort(), [record.id, brief.record.id].sort());
  assert.equal(await tokens.revoke(record.id), true);
  assert.equal(await tokens.revoke(record.id), false);
  assert.equal(await tokens.authenticate(token), undefined);
});

test('tokens: the cache answers within its lifetime; revoke on this controller clears it', async (t) => {
  const { store } = await tempStore(t);
  const tokens = new TokenStore(store, 60_000);
  const { token, record } = await tokens.create({ role: 'agent', host: 'node-1' });
  assert.equal((await tokens.authenticate(token))?.host, 'node-1');
  // Deleted behind the cache's back (another controller): still answered from the cache until it expires.
  await store.txn([], [{ type: 'delete', key: `/tokens/${record.id}` }]);
  assert.equal((await tokens.authenticate(token))?.role, 'agent');
  assert.equal(await tokens.authenticate(token, new Date(Date.now() + 61_000)), undefined);
});

test('bootstrap admin: written once, mode 0600, and it authenticates as admin', async (t) => {
  const { store, dir } = await tempStore(t);
  const tokens = new TokenStore(store);
  const file = await tokens.ensureBootstrapAdmin(dir);
  assert.equal(file, path.join(dir, 'admin.token'));
  assert.equal(fs.statSync(file!).mode & 0o777, 0o600);
  const text = fs.readFileSync(file!, 'utf8').trim();
  assert.equal((await tokens.authenticate(text))?.role, 'admin');
  assert.equal(await tokens.ensureBootstrapAdmin(dir), undefined, 'a second start keeps the first token');
  assert.equal(fs.readFileSync(file!, 'utf8').trim(), text);
  assert.equal((await tokens.list()).length, 1);
});

test('audit log: an entry written in the change txn, read back by tenant and age', async (t) => {
  const { store } = await tempStore(t);
  const old = auditEntry(
    { tokenId: 'a', role: 'admin', verb: 'create', kind: 'Tenant', tenant: 'x', outcome: 'allowed', code: 201 },
    new Date(Date.now() - 7_200_000),
  );
  await appendAudit(store, old);
  const before = await store.currentRevision();
  const entry = auditEntry({
    tokenId: 'b',
    role: 'tenant-admin(y)',
    verb: 'create',
    kind: 'Group',
    tenant: 'y',
    name: 'g',
    outcome: 'allowed',
    code: 201,
    summary: 's',
  });
  const result = await store.txn([], [{ type: 'put', key: '/objects/x', value: '{}' }, auditWrite(entry)]);
  assert.equal(result.revision, before + 1);
  assert.equal((await store.get(`/audit/${entry.id}`))!.modRevision, (await store.get('/objects/x'))!.modRevision);
  assert.deepEqual(await readAudit(store, {}), [old, entry]);
  assert.deepEqual(await readAudit(store, { tenant: 'y' }), [entry]);
  assert.deepEqual(await readAudit(store, { sinceMs: 3_600_000 }), [entry]);
  assert.deepEqual(await readAudit(store, { limit: 1 }), [entry]);
});

test('durations, change summaries and visibility', () => {
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('90s'), 90_000);
  for (const bad of ['', '0s', '1y', '-1h', '1.5h', '1h30m', '99999999d']) assert.equal(parseDuration(bad), undefined, bad);
  assert.deepEqual(
    changedPaths(
      { spec: { a: 1, b: [1] }, metadata: { resourceVersion: '3' } },
      { spec: { a: 2, b: [1], c: 'x' }, metadata: { resourceVersion: '4' } },
    ),
    ['spec.a', 'spec.c'],
  );
  assert.equal(
    summarizeChanges(
      [
        { kind: 'Policy', tenant: 't', name: 'p', action: 'configured' },
        { kind: 'Group', tenant: 't', name: 'g', action: 'unchanged' },
        { kind: 'Tenant', name: 't', action: 'created' },
      ],
      [{ kind: 'Policy', tenant: 't', name: 'p', before: { spec: { x: 1 } }, after: { spec: { x: 2 } } }],
    ),
    'configured Policy t/p (spec.x); created Tenant t',
  );
  assert.equal(summarizeChanges([{ kind: 'Group', tenant: 't', name: 'g', action: 'unchanged' }], []), 'no change');

  const agent = visibilityOf({ tokenId: 'i', role: 'agent', host: 'h1' }, new Set(['a']));
  assert.equal(agent({ kind: 'Endpoint', tenant: 'b', name: 'e' }), false);
  assert.equal(agent({ kind: 'Endpoint', tenant: 'b', name: 'e', host: 'h1' }), true, 'its own endpoint');
  assert.equal(agent({ kind: 'Group', tenant: 'a', name: 'g' }), true);
  assert.equal(agent({ kind: 'Network', tenant: 'b', name: 'n' }), true, 'attach reads networks by name');
  const viewer = visibilityOf({ tokenId: 'i', role: 'viewer', tenant: 'a' });
  assert.equal(viewer({ kind: 'Tenant', tenant: '', name: 'a' }), true);
  assert.equal(viewer({ kind: 'Tenant', tenant: '', name: 'b' }), false);
  assert.equal(viewer({ kind: 'Host', tenant: '', name: 'h1' }), false);
  assert.equal(viewer({ kind: 'Network', tenant: 'b', name: 'n' }), false);
});

test('a summary tells which kinds and tenants it is about, also past the objects it lists; narrowed per tenant', () => {
  const many = Array.from({ length: 23 }, (_, i) => ({
    kind: 'Group',
    tenant: i < 21 ? 'a' : i === 21 ? 'b' : 'c',
    name: `g${i}`,
    action: 'deleted' as const,
  }));
  const summary = summarizeChanges(
    [{ kind: 'Tenant', name: 't', action: 'created' }, { kind: 'GlobalPolicy', name: 'gp', action: 'configured' }, ...many],
    [{ kind: 'GlobalPolicy', name: 'gp', before: { spec: { x: 1 } }, after: { spec: { x: 2 } } }],
  );
  assert.match(summary, /; and 5 more \(tenants a, b, c\)$/);
  assert.deepEqual(summaryScope(summary), {
    kinds: ['Tenant', 'GlobalPolicy', 'Group'],
    tenants: ['a', 'b', 'c', 't'],
    beyondTenants: true,
  });
  assert.deepEqual(summaryScope('no change'), { kinds: [], tenants: [], beyondTenants: false });
  assert.deepEqual(summaryScope('deleted Group a/g; created Tenant b'), {
    kinds: ['Group', 'Tenant'],
    tenants: ['a', 'b'],
    beyondTenants: false,
  });
  assert.equal(summaryScope('deleted Group a/g; configured Host h1 (spec.underlayIP)').beyondTenants, true, "a Host is no tenant's");
  assert.deepEqual(
    summaryParts('configured Policy t/p (metadata.labels.example.com/x, spec.y); created Tenant t').map((p) => [p.kind, p.tenant]),
    [
      ['Policy', 't'],
      ['Tenant', 't'],
    ],
  );

  const entry = auditEntry({
    tokenId: 'i',
    role: 'admin',
    verb: 'apply',
    kind: 'Group,Scope',
    tenants: ['a', 'b'],
    outcome: 'allowed',
    code: 200,
    summary: 'created Group a/g; created Scope b/s',
  });
  assert.equal(isAbout(entry, 'a') && isAbout(entry, 'b'), true);
  assert.equal(isAbout(entry, 'c'), false);
  const { tenants, ...rest } = entry;
  assert.deepEqual(tenants, ['a', 'b']);
  assert.deepEqual(narrowEntry(entry, 'b'), { ...rest, tenant: 'b', kind: 'Scope', summary: 'created Scope b/s' });
  const failed = { ...entry, outcome: 'failed' as const, code: 400, summary: 'Group a/g: spec.selector: invalid' };
  assert.equal(narrowEntry(failed, 'b').summary, 'details about other tenants not shown');
  const single = auditEntry({ tokenId: 'i', role: 'admin', verb: 'create', kind: 'Group', tenant: 'a', outcome: 'allowed', code: 201 });
  assert.equal(narrowEntry(single, 'a'), single);
});

test('audit retention removes only entries older than the cutoff', async (t) => {
  const { store } = await tempStore(t);
  const now = new Date('2030-06-01T00:00:00Z');
  const ages = [40, 31, 29, 1].map((days) =>
    auditEntry(
      { tokenId: 'a', role: 'admin', verb: 'delete', kind: 'Group', outcome: 'allowed', code: 200 },
      new Date(now.getTime() - days * 86_400_000),
    ),
  );
  for (const entry of ages) await appendAudit(store, entry);
  assert.equal(await pruneAudit(store, 30 * 86_400_000, now), 2);
  assert.deepEqual(
    (await readAudit(store, {}, now)).map((e) => e.id),
    [ages[2].id, ages[3].id],
  );
  assert.equal(await pruneAudit(store, 30 * 86_400_000, now), 0);
});
