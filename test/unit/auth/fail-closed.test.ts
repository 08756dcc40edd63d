/**
 * Access control fails closed: a route without an access rule refuses every caller, admins included,
 * and never reaches its handler; HEAD is authorized as its GET; and every route the controller
 * serves (HEAD included) has a rule, so the refusal above only ever meets a forgotten route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openStore } from '../../../src/store/open-store';
import { buildControllerServer, type ControllerServer } from '../../../src/controller/server';
import { installAuth } from '../../../src/controller/auth/install';
import { TokenStore } from '../../../src/auth/token-store';
import { readAudit } from '../../../src/auth/audit-log';
import type { Store } from '../../../src/store/store';

interface Harness {
  server: ControllerServer;
  store: Store;
  admin: string;
  viewer: string;
  served: string[];
  /** Served routes whose options carry an access rule (`config.access`). */
  ruled: Set<string>;
  handled: string[];
}

async function harness(t: { after(fn: () => unknown): void }): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-fail-closed-'));
  const store = await openStore('sqlite', dir);
  const tokens = new TokenStore(store);
  const served: string[] = [];
  const ruled = new Set<string>();
  const handled: string[] = [];
  const server = await buildControllerServer({
    store,
    logger: pino({ level: 'silent' }),
    beforeRoutes: async (app, service) => {
      app.addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) {
          served.push(`${method} ${route.url}`);
          if ((route.config as { access?: unknown } | undefined)?.access !== undefined) ruled.add(`${method} ${route.url}`);
        }
      });
      await installAuth(app, service, { tokens });
      // Routes someone added without an access rule.
      app.get('/api/v1/forgotten', async () => {
        handled.push('GET');
        return { secret: 'x'.repeat(100) };
      });
      app.post('/api/v1/forgotten', async () => {
        handled.push('POST');
        return { ok: true };
      });
    },
  });
  t.after(async () => {
    await server.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const admin = (await tokens.create({ role: 'admin' })).token;
  const viewer = (await tokens.create({ role: 'viewer', tenant: 'shop' })).token;
  return { server, store, admin, viewer, served, ruled, handled };
}

test('a route without an access rule refuses every caller (403, admins too) and its handler never runs', async (t) => {
  const h = await harness(t);
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  for (const token of [h.admin, h.viewer]) {
    for (const method of ['GET', 'HEAD', 'POST'] as const) {
      const answer = await h.server.app.inject({
        method,
        url: '/api/v1/forgotten',
        headers: auth(token),
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      assert.equal(answer.statusCode, 403, `${method} with a ${token === h.admin ? 'admin' : 'viewer'} token`);
      assert.doesNotMatch(answer.body, /xxxx/);
    }
  }
  assert.deepEqual(h.handled, [], 'no handler ran');
  assert.equal((await h.server.app.inject({ method: 'GET', url: '/api/v1/forgotten' })).statusCode, 401, 'strangers still get 401 first');
  assert.equal((await h.server.app.inject({ method: 'POST', url: '/api/v1/forgotten', payload: {} })).statusCode, 401);
  // The refused write is in the audit trail as refused.
  const entries = await readAudit(h.store, {});
  const refused = entries.filter((e) => e.kind === '/api/v1/forgotten');
  assert.equal(refused.length, 3, "the two refused POSTs and the stranger's");
  assert.deepEqual(refused.map((e) => `${e.outcome} ${e.code}`).sort(), ['refused 401', 'refused 403', 'refused 403']);
  // Unknown routes answer 404, as before.
  assert.equal((await h.server.app.inject({ method: 'GET', url: '/api/v1/no-such-thing', headers: auth(h.admin) })).statusCode, 404);
  assert.equal((await h.server.app.inject({ method: 'HEAD', url: '/api/v1/no-such-thing', headers: auth(h.admin) })).statusCode, 404);
});

test('HEAD is authorized as its GET: admin-only routes refuse a viewer, public /healthz stays open', async (t) => {
  const h = await harness(t);
  const viewer = { authorization: `Bearer ${h.viewer}` };
  for (const url of ['/api/v1/history', '/metrics', '/api/v1/tokens', '/api/v1/audit']) {
    const get = await h.server.app.inject({ method: 'GET', url, headers: viewer });
    const head = await h.server.app.inject({ method: 'HEAD', url, headers: viewer });
    assert.equal(get.statusCode, 403, `GET ${url}`);
    assert.equal(head.statusCode, 403, `HEAD ${url}`);
  }
  assert.equal((await h.server.app.inject({ method: 'HEAD', url: '/healthz' })).statusCode, 200);
  assert.equal(
    (await h.server.app.inject({ method: 'HEAD', url: '/api/v1/tokens', headers: { authorization: `Bearer ${h.admin}` } })).statusCode,
    200,
  );
});

test('every route the controller serves, HEAD included, has an access rule', async (t) => {
  const h = await harness(t);
  const forgotten = new Set(['GET /api/v1/forgotten', 'HEAD /api/v1/forgotten', 'POST /api/v1/forgotten']);
  const served = [...new Set(h.served)].filter((route) => !forgotten.has(route));
  assert.ok(
    served.some((r) => r.startsWith('HEAD ')),
    'fastify exposes HEAD routes',
  );
  assert.ok(served.length > 50, `${served.length} routes seen`);
  assert.deepEqual(
    served.filter((route) => !h.ruled.has(route)),
    [],
  );
  assert.ok(!h.ruled.has('GET /api/v1/forgotten') && !h.ruled.has('HEAD /api/v1/forgotten'), 'the forgotten routes carry no rule');
});
