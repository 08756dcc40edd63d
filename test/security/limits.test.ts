/**
 * Noisy neighbours, with the tokens a hostile tenant holds: per-tenant object quotas refuse what
 * exceeds them (403 naming kind, tenant, used and limit) and change nothing, even under concurrent
 * creates; a tenant-admin cannot raise its own quota; one watch past the per-token bound is refused
 * (429) and a slot frees when a stream ends; past the per-token request rate a token gets 429 with
 * Retry-After while other tokens, admins and agents are not throttled by normal traffic.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send, type Answer } from '../helpers/http';

const V = 'tenet.dev/v1';
let controller: RunningController;
let admin: string;

before(async () => {
  controller = await startController({
    extraArgs: ['--rate-limit', 'viewer=40', '--max-watches', 'viewer=3', '--quota-default', 'scopes=2'],
  });
  admin = controller.adminToken;
});
after(async () => {
  await controller?.stop();
});

const group = (tenant: string, name: string) => ({
  apiVersion: V,
  kind: 'Group',
  metadata: { name, tenant },
  spec: { selector: { matchLabels: { app: name } } },
});

async function create(token: string, path: string, body: unknown): Promise<Answer> {
  return send(controller.url, 'POST', path, { token, body });
}

async function names(path: string): Promise<string[]> {
  const answer = await send(controller.url, 'GET', path, { token: admin });
  assert.equal(answer.status, 200, answer.text);
  return (answer.json as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name).sort();
}

function errorOf(answer: Answer): { code: number; reason: string; message: string; details: string[] } {
  return (answer.json as { error: { code: number; reason: string; message: string; details: string[] } }).error;
}

test('quotas: a tenant-admin cannot create past its tenant quota; the refusal names kind, tenant, used and limit and changes nothing', async () => {
  const tenant = { apiVersion: V, kind: 'Tenant', metadata: { name: 'qa' }, spec: { quota: { groups: 2, endpoints: 1 } } };
  assert.equal((await create(admin, '/api/v1/tenants', tenant)).status, 201);
  assert.equal(
    (
      await create(admin, '/api/v1/tenants/qa/networks', {
        apiVersion: V,
        kind: 'Network',
        metadata: { name: 'net', tenant: 'qa' },
        spec: { subnets: [{ cidr: '10.77.0.0/24' }] },
      })
    ).status,
    201,
  );
  assert.equal(
    (await create(admin, '/api/v1/hosts', { apiVersion: V, kind: 'Host', metadata: { name: 'qh' }, spec: { underlayIP: '192.0.2.77' } }))
      .status,
    201,
  );
  const ta = (await mintToken(controller.url, admin, { role: 'tenant-admin', tenant: 'qa' })).token;

  for (const name of ['g1', 'g2']) assert.equal((await create(ta, '/api/v1/tenants/qa/groups', group('qa', name))).status, 201);
  const historyBefore = await historyLength();
  const refused = await create(ta, '/api/v1/tenants/qa/groups', group('qa', 'g3'));
  assert.equal(refused.status, 403, refused.text);
  assert.equal(errorOf(refused).reason, 'Forbidden');
  assert.match(errorOf(refused).message, /^exceeded quota: tenant "qa" groups: used 2, requested 1, limit 2;/);

  // An apply adding two groups (and changing one) is refused whole: nothing is written, not even the change.
  const apply = await send(controller.url, 'POST', '/api/v1/apply', {
    token: ta,
    body: {
      objects: [
        { ...group('qa', 'g1'), metadata: { name: 'g1', tenant: 'qa', labels: { changed: 'yes' } } },
        group('qa', 'g4'),
        group('qa', 'g5'),
      ],
    },
  });
  assert.equal(apply.status, 403, apply.text);
  assert.match(errorOf(apply).message, /exceeded quota: tenant "qa" groups: used 2, requested 2, limit 2/);
  assert.deepEqual(await names('/api/v1/tenants/qa/groups'), ['g1', 'g2']);
  assert.equal(await historyLength(), historyBefore, 'no change of intent was recorded');

  // Endpoints: the second one is refused before any address is allocated.
  const endpoint = (name: string) => ({
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { name, tenant: 'qa' },
    spec: { network: 'net', host: 'qh' },
  });
  const first = await create(ta, '/api/v1/tenants/qa/endpoints', endpoint('e1'));
  assert.equal(first.status, 201, first.text);
  const second = await create(ta, '/api/v1/tenants/qa/endpoints', endpoint('e2'));
  assert.equal(second.status, 403, second.text);
  assert.match(errorOf(second).message, /exceeded quota: tenant "qa" endpoints: used 1, requested 1, limit 1/);
  assert.deepEqual(await names('/api/v1/tenants/qa/endpoints'), ['e1']);

  // The tenant's own admin cannot raise the quota; an admin can, and then the create goes through.
  const raise = await send(controller.url, 'PATCH', '/api/v1/tenants/qa', {
    token: ta,
    body: { spec: { quota: { groups: 100 } } },
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  assert.equal(raise.status, 403, raise.text);
  const raised = await send(controller.url, 'PATCH', '/api/v1/tenants/qa', {
    token: admin,
    body: { spec: { quota: { groups: 3, endpoints: 1 } } },
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  assert.equal(raised.status, 200, raised.text);
  await waitFor(async () => (await create(ta, '/api/v1/tenants/qa/groups', group('qa', 'g3'))).status === 201, 'create after the raise');
  assert.equal((await create(ta, '/api/v1/tenants/qa/groups', group('qa', 'g4'))).status, 403);

  // A bad quota is bad input.
  const bad = await send(controller.url, 'PATCH', '/api/v1/tenants/qa', {
    token: admin,
    body: { spec: { quota: { groups: -1 } } },
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  assert.equal(bad.status, 400, bad.text);
});

test('quotas: 40 concurrent creates against a limit of 10 leave exactly 10', async () => {
  assert.equal(
    (await create(admin, '/api/v1/tenants', { apiVersion: V, kind: 'Tenant', metadata: { name: 'qc' }, spec: { quota: { groups: 10 } } }))
      .status,
    201,
  );
  const ta = (await mintToken(controller.url, admin, { role: 'tenant-admin', tenant: 'qc' })).token;
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => create(ta, '/api/v1/tenants/qc/groups', group('qc', `c${i}`))));
  const statuses = answers.map((a) => a.status);
  assert.equal(statuses.filter((s) => s === 201).length, 10, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 403).length, 30);
  assert.equal((await names('/api/v1/tenants/qc/groups')).length, 10);
});

test('quotas: the cluster default (--quota-default) applies to tenants without their own', async () => {
  assert.equal((await create(admin, '/api/v1/tenants', { apiVersion: V, kind: 'Tenant', metadata: { name: 'qd' }, spec: {} })).status, 201);
  for (const name of ['s1', 's2'])
    assert.equal(
      (await create(admin, '/api/v1/tenants/qd/scopes', { apiVersion: V, kind: 'Scope', metadata: { name, tenant: 'qd' }, spec: {} }))
        .status,
      201,
    );
  const third = await create(admin, '/api/v1/tenants/qd/scopes', {
    apiVersion: V,
    kind: 'Scope',
    metadata: { name: 's3', tenant: 'qd' },
    spec: {},
  });
  assert.equal(third.status, 403, third.text);
  assert.match(errorOf(third).message, /exceeded quota: tenant "qd" scopes: used 2, requested 1, limit 2/);
});

test('watches: the N+1th open watch of a token is refused with 429; a slot frees when a stream ends', async () => {
  assert.equal((await create(admin, '/api/v1/tenants', { apiVersion: V, kind: 'Tenant', metadata: { name: 'qw' }, spec: {} })).status, 201);
  const viewer = (await mintToken(controller.url, admin, { role: 'viewer', tenant: 'qw' })).token;
  const other = (await mintToken(controller.url, admin, { role: 'viewer', tenant: 'qw' })).token;
  const paths = [
    '/api/v1/tenants/qw/groups?watch=1',
    '/api/v1/tenants/qw/groups?watch=1&labelSelector=app%3Dweb',
    '/api/v1/tenants/qw/policies?watch=true',
  ];
  // Watches refused by the handler (bad resourceVersion) hold no slot afterwards.
  for (let i = 0; i < 5; i++)
    assert.equal(
      (await send(controller.url, 'GET', '/api/v1/tenants/qw/groups?watch=1&resourceVersion=abc', { token: viewer })).status,
      400,
    );
  const open: Stream[] = [];
  try {
    for (const path of paths) {
      const stream = await openStream(path, viewer);
      open.push(stream);
      assert.equal(stream.status, 200, stream.body);
    }
    const refused = await openStream('/api/v1/tenants/qw/scopes?watch=1', viewer);
    open.push(refused);
    assert.equal(refused.status, 429, refused.body);
    const error = (JSON.parse(refused.body) as { error: { reason: string; message: string } }).error;
    assert.equal(error.reason, 'TooManyRequests');
    assert.match(error.message, /too many watches: token \S+ \(viewer\) already holds 3 open watch streams/);
    // Another token is not affected.
    const others = await openStream('/api/v1/tenants/qw/groups?watch=1', other);
    open.push(others);
    assert.equal(others.status, 200);
    // Plain reads are not watches.
    assert.equal((await send(controller.url, 'GET', '/api/v1/tenants/qw/groups', { token: viewer })).status, 200);
    open[0].close();
    await waitFor(async () => {
      const again = await openStream('/api/v1/tenants/qw/groups?watch=1', viewer);
      open.push(again);
      return again.status === 200;
    }, 'a watch after one was closed');
  } finally {
    for (const stream of open) stream.close();
  }
});

test('rate limit: past its requests per window a token gets 429 with Retry-After; other tokens, admins and agents are not throttled', async () => {
  assert.equal((await create(admin, '/api/v1/tenants', { apiVersion: V, kind: 'Tenant', metadata: { name: 'qr' }, spec: {} })).status, 201);
  assert.equal(
    (await create(admin, '/api/v1/hosts', { apiVersion: V, kind: 'Host', metadata: { name: 'qrh' }, spec: { underlayIP: '192.0.2.78' } }))
      .status,
    201,
  );
  const viewer = (await mintToken(controller.url, admin, { role: 'viewer', tenant: 'qr' })).token;
  const other = (await mintToken(controller.url, admin, { role: 'viewer', tenant: 'qr' })).token;
  const agent = (await mintToken(controller.url, admin, { role: 'agent', host: 'qrh' })).token;
  const statuses: number[] = [];
  let throttled: Answer | undefined;
  let retryAfter: string | undefined;
  for (let i = 0; i < 60 && !throttled; i++) {
    const answer = await sendWithHeaders('/api/v1/tenants/qr/groups', viewer);
    statuses.push(answer.status);
    if (answer.status === 429) {
      throttled = answer;
      retryAfter = answer.headers['retry-after'];
    }
  }
  assert.ok(throttled, `no 429 in ${statuses.length} requests: ${JSON.stringify(statuses)}`);
  assert.ok(statuses.filter((s) => s === 200).length >= 40 - 1, 'the limit is 40 per window (one window may have turned meanwhile)');
  assert.ok(
    retryAfter !== undefined && /^[0-9]+$/.test(retryAfter) && Number(retryAfter) >= 1 && Number(retryAfter) <= 10,
    `Retry-After: ${retryAfter}`,
  );
  const error = errorOf(throttled);
  assert.equal(error.code, 429);
  assert.equal(error.reason, 'TooManyRequests');
  assert.match(error.message, /^rate limit exceeded: token \S+ \(viewer\) may send 40 requests per 10 s; retry in /);
  // Per token: another viewer of the same tenant still reads.
  assert.equal((await send(controller.url, 'GET', '/api/v1/tenants/qr/groups', { token: other })).status, 200);
  // Admin and agent: a burst far beyond a tenant's limit (default limits) is never throttled.
  const burst = async (token: string, path: string, n: number) => {
    const answers = await Promise.all(Array.from({ length: n }, () => send(controller.url, 'GET', path, { token })));
    return answers.map((a) => a.status);
  };
  const adminStatuses = await burst(admin, '/api/v1/tenants/qr/groups', 400);
  assert.deepEqual([...new Set(adminStatuses)], [200]);
  const agentStatuses = await burst(agent, '/api/v1/hosts/qrh', 400);
  assert.deepEqual([...new Set(agentStatuses)], [200]);
});

async function historyLength(): Promise<number> {
  const answer = await send(controller.url, 'GET', '/api/v1/history', { token: admin });
  assert.equal(answer.status, 200, answer.text);
  return (answer.json as { items: unknown[] }).items.length;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Stream {
  status: number;
  body: string;
  close(): void;
}

/** Opens a request on its own connection and resolves once headers arrive (with the whole body for errors). */
function openStream(path: string, token: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const url = new URL(controller.url);
    const request = http.request(
      { host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${token}` }, agent: false },
      (response) => {
        const close = () => request.destroy();
        if (response.statusCode === 200) {
          resolve({ status: 200, body: '', close });
          response.resume();
          return;
        }
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, close }));
      },
    );
    request.on('error', (error) => reject(error));
    request.end();
  });
}

function sendWithHeaders(path: string, token: string): Promise<Answer & { headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const url = new URL(controller.url);
    const request = http.request(
      { host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, text, json, headers: response.headers });
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}
