/**
 * When the audit entry of a request that changed nothing cannot be written (the store refuses),
 * the request is still answered, but the loss is counted in /metrics and logged at error level
 * with the entry, so it is never silent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openStore } from '../../../src/store/open-store';
import { buildControllerServer } from '../../../src/controller/server';
import { installAuth } from '../../../src/controller/auth/install';
import { TokenStore } from '../../../src/auth/token-store';
import type { Store, WriteOp } from '../../../src/store/store';

/** The store, except that while `broken` it refuses a txn that writes only audit entries. */
function auditBreaking(store: Store): { store: Store; breakAudit(on: boolean): void } {
  let broken = false;
  const wrapped: Store = {
    get: (key) => store.get(key),
    range: (prefix, options) => store.range(prefix, options),
    txn: async (compares, ops: WriteOp[]) => {
      if (broken && ops.length > 0 && ops.every((op) => op.key.startsWith('/audit/'))) throw new Error('disk full');
      return store.txn(compares, ops);
    },
    watch: (prefix, after, handlers) => store.watch(prefix, after, handlers),
    currentRevision: () => store.currentRevision(),
    close: () => store.close(),
  };
  return { store: wrapped, breakAudit: (on) => (broken = on) };
}

test('a lost audit entry is counted in /metrics and logged at error level; the answer stands', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-audit-loss-'));
  const real = await openStore('sqlite', dir);
  const { store, breakAudit } = auditBreaking(real);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const tokens = new TokenStore(store);
  const server = await buildControllerServer({ store, logger, beforeRoutes: (app, service) => installAuth(app, service, { tokens }) });
  t.after(async () => {
    await server.close();
    await real.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const admin = { authorization: `Bearer ${(await tokens.create({ role: 'admin' })).token}` };
  const viewer = { authorization: `Bearer ${(await tokens.create({ role: 'viewer', tenant: 'shop' })).token}` };
  const lost = async () => {
    const metrics = await server.app.inject({ method: 'GET', url: '/metrics', headers: admin });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /tenet_http_requests_total/, "the server's own metrics are all still there");
    const line = /^tenet_audit_entries_lost_total\{outcome="refused"\} (\d+)$/m.exec(metrics.body);
    assert.ok(line, 'the counter is exported');
    return Number(line[1]);
  };
  assert.equal(await lost(), 0);

  breakAudit(true);
  const refused = await server.app.inject({
    method: 'POST',
    url: '/api/v1/tenants/shop/groups',
    headers: viewer,
    payload: { apiVersion: 'tenet.dev/v1', kind: 'Group', metadata: { name: 'g', tenant: 'shop' }, spec: {} },
  });
  assert.equal(refused.statusCode, 403, 'the refusal is still answered');
  const stranger = await server.app.inject({ method: 'DELETE', url: '/api/v1/tenants/shop' });
  assert.equal(stranger.statusCode, 401);
  breakAudit(false);

  assert.equal(await lost(), 2);
  const errors = logs.filter((l) => l.level === 50 && String(l.msg).includes('could not record an audit entry'));
  assert.equal(errors.length, 2, 'each loss is logged at error level');
  const entry = errors[0].entry as Record<string, unknown>;
  assert.equal(entry.outcome, 'refused');
  assert.equal(entry.kind, 'Group');
  assert.equal(entry.code, 403);

  // With the store healthy again, entries are written as before.
  const again = await server.app.inject({
    method: 'POST',
    url: '/api/v1/tenants/shop/groups',
    headers: viewer,
    payload: { apiVersion: 'tenet.dev/v1', kind: 'Group', metadata: { name: 'g', tenant: 'shop' }, spec: {} },
  });
  assert.equal(again.statusCode, 403);
  assert.equal(await lost(), 2);
  const trail = await server.app.inject({ method: 'GET', url: '/api/v1/audit', headers: admin });
  assert.equal((trail.json() as { items: unknown[] }).items.length, 1, 'only the entry written after the store recovered');
});
