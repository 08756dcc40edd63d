/**
 * Role x verb x kind x own/other-tenant against a real controller: every cell answers the status
 * written down here from the rules (not computed by the code under test). The verbs include
 * HEAD (fastify answers HEAD for every GET route, so it must be authorized exactly like the GET),
 * merge-patch, the status subresource and watch. Then the agent's
 * host scope: lists, snapshot and watch of an agent on host-a never show tenant b, which has no
 * endpoint there, until an endpoint of b lands on host-a (the watch then ends so the agent re-lists).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startController, type RunningController } from '../helpers/controller';
import { TenetClient, type WatchEvent } from '../../src/client/api-client';
import { ApiError } from '../../src/client/errors';
import type { AnyObject, TenetObject } from '../../src/core/model/object';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import { kindInfo, type KindName } from '../../src/core/model/registry';
import { mintToken, send } from '../helpers/http';

const V = 'tenet.dev/v1';
type Role = 'admin' | 'tenant-admin' | 'viewer' | 'agent';
type Verb = 'get' | 'head' | 'list' | 'head-list' | 'watch' | 'create' | 'update' | 'patch' | 'status' | 'delete';
const ROLES: Role[] = ['admin', 'tenant-admin', 'viewer', 'agent'];
const VERBS: Verb[] = ['get', 'head', 'list', 'head-list', 'watch', 'create', 'update', 'patch', 'status', 'delete'];
const KINDS: KindName[] = [
  'Tenant',
  'Network',
  'Scope',
  'Group',
  'Policy',
  'Service',
  'Endpoint',
  'GlobalPolicy',
  'Host',
  'FloatingIPPool',
  'FloatingIP',
];
const TENANT_SCOPED = new Set<KindName>(['Network', 'Scope', 'Group', 'Policy', 'Service', 'Endpoint', 'FloatingIP']);
const AGENT_SCOPED = new Set<KindName>(['Scope', 'Group', 'Policy', 'Service', 'Endpoint', 'FloatingIP']);
/** The tenant-admin and viewer belong to tenant "a"; the agent runs on host-a, where only tenant "a" has an endpoint. */
const OWN = 'a';
const OTHER = 'b';
const HOST_OF: Record<string, string> = { a: 'host-a', b: 'host-b' };

/** The rules, cell by cell. */
function expected(role: Role, verb: Verb, kind: KindName, own: boolean): number {
  // HEAD answers exactly what its GET answers; a watch is a list that stays open.
  if (verb === 'head') return expected(role, 'get', kind, own);
  if (verb === 'head-list' || verb === 'watch') return expected(role, 'list', kind, own);
  // A merge patch and a status write are updates as far as access goes.
  if (verb === 'patch' || verb === 'status') return expected(role, 'update', kind, own);
  const ok = verb === 'create' ? 201 : 200;
  const write = verb === 'create' || verb === 'update' || verb === 'delete';
  if (role === 'admin') return ok;
  if (role === 'agent') {
    if (!write) return verb === 'get' && AGENT_SCOPED.has(kind) && !own ? 404 : 200;
    if (kind === 'Endpoint') return own ? ok : verb === 'create' ? 403 : 404;
    if (kind === 'Host') {
      if (verb === 'delete') return 403;
      if (!own) return 403;
      return verb === 'create' ? 409 : 200; // its own Host exists already: allowed, then a conflict
    }
    return 403;
  }
  // Floating IP pools are cluster address space: an admin's, like global policies.
  if (kind === 'GlobalPolicy' || kind === 'Host' || kind === 'FloatingIPPool') return 403;
  if (kind === 'Tenant') {
    if (verb === 'list') return 200;
    if (verb === 'create') return 403;
    if (!own) return 404;
    return verb === 'get' ? 200 : 403;
  }
  if (!own) return 404;
  if (role === 'viewer' && write) return 403;
  return ok;
}

let controller: RunningController;
let admin: string;
const tokens = {} as Record<Role, string>;
let counter = 0;

function sample(kind: KindName, tenant: string, name: string): TenetObject {
  const n = ++counter;
  const metadata = TENANT_SCOPED.has(kind) ? { name, tenant } : { name };
  switch (kind) {
    case 'Tenant':
      return { apiVersion: V, kind, metadata, spec: {} };
    case 'Network':
      return { apiVersion: V, kind, metadata, spec: { subnets: [{ cidr: `10.${60 + Math.floor(n / 250)}.${n % 250}.0/24` }] } };
    case 'Scope':
      return { apiVersion: V, kind, metadata, spec: { description: 'x' } };
    case 'Group':
      return { apiVersion: V, kind, metadata, spec: { selector: { matchLabels: { app: name } } } };
    case 'Policy':
      return {
        apiVersion: V,
        kind,
        metadata,
        spec: {
          appliesTo: { group: 'web' },
          ingress: [{ action: 'allow', from: [{ group: 'web' }], ports: [{ protocol: 'TCP', port: 80 }] }],
        },
      };
    case 'Service':
      return { apiVersion: V, kind, metadata, spec: { selector: { matchLabels: { app: 'web' } }, ports: [{ protocol: 'TCP', port: 80 }] } };
    case 'Endpoint':
      return { apiVersion: V, kind, metadata, spec: { network: 'net', host: HOST_OF[tenant] } };
    case 'GlobalPolicy':
      return {
        apiVersion: V,
        kind,
        metadata,
        spec: {
          tier: 'admin',
          priority: n,
          appliesTo: { tenants: ['a'] },
          ingress: [{ action: 'deny', from: [{ cidr: '192.0.2.0/24' }] }],
        },
      };
    case 'Host':
      return { apiVersion: V, kind, metadata, spec: { underlayIP: `192.0.2.${n % 250}` } };
    case 'FloatingIPPool':
      return { apiVersion: V, kind, metadata, spec: { cidrs: [`198.19.${n % 250}.0/24`] } };
    case 'FloatingIP':
      // From the pool made in before() (pools sort by name: "aaa" comes first).
      return { apiVersion: V, kind, metadata, spec: { pool: 'aaa', target: { endpoint: 'resident' } } };
  }
}

function collection(kind: KindName, tenant: string): string {
  const info = kindInfo(kind)!;
  return info.tenantScoped ? `/api/v1/tenants/${tenant}/${info.plural}` : `/api/v1/${info.plural}`;
}

function item(kind: KindName, tenant: string, name: string): string {
  return `${collection(kind, tenant)}/${name}`;
}

async function adminCreate(object: AnyObject): Promise<void> {
  const answer = await send(controller.url, 'POST', collection(object.kind, object.metadata.tenant ?? ''), { token: admin, body: object });
  assert.equal(answer.status, 201, `setup create ${object.kind} ${object.metadata.name}: ${answer.text}`);
}

before(async () => {
  controller = await startController();
  admin = controller.adminToken;
  tokens.admin = admin;
  await adminCreate(sample('FloatingIPPool', '', 'aaa'));
  for (const t of [OWN, OTHER]) {
    await adminCreate(sample('Tenant', t, t));
    await adminCreate(sample('Network', t, 'net'));
    await adminCreate(sample('Group', t, 'web'));
    await adminCreate(sample('Host', '', HOST_OF[t]));
    await adminCreate(sample('Endpoint', t, 'resident'));
  }
  tokens['tenant-admin'] = (await mintToken(controller.url, admin, { role: 'tenant-admin', tenant: OWN })).token;
  tokens.viewer = (await mintToken(controller.url, admin, { role: 'viewer', tenant: OWN })).token;
  tokens.agent = (await mintToken(controller.url, admin, { role: 'agent', host: 'host-a' })).token;
});

after(async () => {
  await controller?.stop();
});

/** The status of a GET that may stay open (a watch): read from the answer's head, then the connection is dropped. */
function openStatus(base: string, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const request = http.request(
      { host: url.hostname, port: url.port, method: 'GET', path, headers: { authorization: `Bearer ${token}` }, agent: false },
      (response) => {
        response.on('error', () => undefined);
        resolve(response.statusCode ?? 0);
        request.destroy();
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** Runs one cell and returns the status it answered. Victims for update/delete are made by the admin first. */
async function cell(role: Role, verb: Verb, kind: KindName, own: boolean): Promise<number> {
  const token = tokens[role];
  const tenant = own ? OWN : OTHER;
  const base = controller.url;
  const fresh = `${verb.slice(0, 3)}-${role.slice(0, 3)}-${++counter}`;
  // Which existing object a read or write is about. Tenants and hosts the principal is scoped to are
  // the "own" ones; an admin has no scope, so it gets fresh objects to change.
  const existingName = (): string => {
    if (kind === 'Tenant') return tenant;
    if (kind === 'Host') return role === 'agent' ? (own ? 'host-a' : 'host-b') : HOST_OF[tenant];
    if (kind === 'Network') return 'net';
    if (kind === 'Group') return 'web';
    if (kind === 'Endpoint') return 'resident';
    return fresh;
  };
  if (verb === 'get' || verb === 'head') {
    const name = existingName();
    if (!['Tenant', 'Host', 'Network', 'Group', 'Endpoint'].includes(kind)) await adminCreate(sample(kind, tenant, name));
    return (await send(base, verb === 'head' ? 'HEAD' : 'GET', item(kind, tenant, name), { token })).status;
  }
  if (verb === 'list') return (await send(base, 'GET', collection(kind, tenant), { token })).status;
  if (verb === 'head-list') return (await send(base, 'HEAD', collection(kind, tenant), { token })).status;
  if (verb === 'watch') return openStatus(base, `${collection(kind, tenant)}?watch=1`, token);
  if (verb === 'create') {
    let name = fresh;
    if (kind === 'Host' && role === 'agent') name = own ? 'host-a' : 'host-z';
    return (await send(base, 'POST', collection(kind, tenant), { token, body: sample(kind, tenant, name) })).status;
  }
  // update and delete act on a victim: scoped Tenant/Host rows use the principal's own or the other object.
  let name: string;
  const scopedRow = (kind === 'Tenant' && role !== 'admin') || (kind === 'Host' && role === 'agent');
  if (scopedRow) name = existingName();
  else {
    name = fresh;
    await adminCreate(sample(kind, tenant, name));
  }
  if (verb === 'delete') return (await send(base, 'DELETE', item(kind, tenant, name), { token })).status;
  if (verb === 'patch') {
    const body = { metadata: { labels: { touched: role } } };
    return (
      await send(base, 'PATCH', item(kind, tenant, name), { token, body, headers: { 'content-type': 'application/merge-patch+json' } })
    ).status;
  }
  if (verb === 'status') return (await send(base, 'PUT', `${item(kind, tenant, name)}/status`, { token, body: { status: {} } })).status;
  const current = (await send(base, 'GET', item(kind, tenant, name), { token: admin })).json as TenetObject;
  const changed = { ...current, metadata: { ...current.metadata, labels: { touched: role } } };
  return (await send(base, 'PUT', item(kind, tenant, name), { token, body: changed })).status;
}

test('role x verb x kind x own/other tenant: every cell answers as the rules say', async () => {
  const wrong: string[] = [];
  let cells = 0;
  for (const role of ROLES) {
    for (const kind of KINDS) {
      for (const verb of VERBS) {
        for (const own of [true, false]) {
          const got = await cell(role, verb, kind, own);
          const want = expected(role, verb, kind, own);
          cells++;
          if (got !== want) wrong.push(`${role} ${verb} ${kind} ${own ? 'own' : 'other'}: got ${got}, want ${want}`);
        }
      }
    }
  }
  assert.equal(cells, ROLES.length * KINDS.length * VERBS.length * 2);
  assert.deepEqual(wrong, []);
});

test('no token, a malformed or unknown token, a revoked and an expired token: 401; /healthz is open', async () => {
  const base = controller.url;
  assert.equal((await send(base, 'GET', '/healthz')).status, 200);
  assert.equal((await send(base, 'GET', '/api/v1/tenants')).status, 401);
  assert.equal((await send(base, 'GET', '/api/v1/watch?kinds=Tenant')).status, 401);
  assert.equal((await send(base, 'GET', '/metrics')).status, 401);
  assert.equal((await send(base, 'GET', '/api/v1/no-such-route')).status, 401, 'unknown routes do not reveal themselves to strangers');
  assert.equal(
    (await send(base, 'GET', '/api/v1/tenants', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } })).status,
    401,
  );
  assert.equal(
    (await send(base, 'GET', '/api/v1/tenants', { token: 'tnt_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' })).status,
    401,
  );
  const [id] = admin.slice(4).split('_');
  assert.equal(
    (await send(base, 'GET', '/api/v1/tenants', { token: `tnt_${id}_${'x'.repeat(43)}` })).status,
    401,
    'right id, wrong secret',
  );

  const doomed = await mintToken(base, admin, { role: 'viewer', tenant: OWN });
  assert.equal((await send(base, 'GET', '/api/v1/tenants', { token: doomed.token })).status, 200);
  assert.equal((await send(base, 'DELETE', `/api/v1/tokens/${doomed.id}`, { token: admin })).status, 200);
  assert.equal((await send(base, 'GET', '/api/v1/tenants', { token: doomed.token })).status, 401, 'revoked on this controller at once');

  // An open watch does not outlive its token.
  const watcher = await mintToken(base, admin, { role: 'viewer', tenant: OWN });
  const client = new TenetClient({ servers: [base], token: watcher.token });
  const watch = client.watch({ kinds: ['Network'] }, (await client.list('Network', { tenant: OWN })).resourceVersion, () => undefined);
  let ended = false;
  const settled = watch.done.then(
    () => (ended = true),
    () => (ended = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(ended, false);
  assert.equal((await send(base, 'DELETE', `/api/v1/tokens/${watcher.id}`, { token: admin })).status, 200);
  await settled;
  assert.equal(ended, true, 'the stream of a revoked token is cut');

  const brief = await mintToken(base, admin, { role: 'viewer', tenant: OWN, ttl: '1s' });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await send(base, 'GET', '/api/v1/tenants', { token: brief.token })).status, 401, 'expired');

  const listed = (await send(base, 'GET', '/api/v1/tokens', { token: admin })).json as { items: Record<string, unknown>[] };
  assert.ok(listed.items.length >= 4);
  assert.ok(
    listed.items.every((t) => !('secretHash' in t) && !('token' in t)),
    'token list never shows secrets or hashes',
  );
  assert.equal((await send(base, 'GET', '/api/v1/tokens', { token: tokens['tenant-admin'] })).status, 403);
  assert.equal(
    (await send(base, 'POST', '/api/v1/tokens', { token: tokens['tenant-admin'], body: { role: 'admin' } })).status,
    403,
    'no escalation',
  );
  assert.equal((await send(base, 'GET', '/api/v1/history', { token: tokens.viewer })).status, 403);
  assert.equal((await send(base, 'POST', '/api/v1/rollback', { token: tokens['tenant-admin'], body: { revision: 1 } })).status, 403);
});

test('HEAD of every non-object GET route answers exactly what its GET answers, role by role', async () => {
  const base = controller.url;
  // What each role may GET, from the rules (history, metrics and tokens are admin-only; audit is for admins and tenant-admins).
  const routes: [string, Record<Role, number>][] = [
    ['/api/v1/history', { admin: 200, 'tenant-admin': 403, viewer: 403, agent: 403 }],
    ['/metrics', { admin: 200, 'tenant-admin': 403, viewer: 403, agent: 403 }],
    ['/api/v1/tokens', { admin: 200, 'tenant-admin': 403, viewer: 403, agent: 403 }],
    ['/api/v1/audit', { admin: 200, 'tenant-admin': 200, viewer: 403, agent: 403 }],
    ['/api/v1/audit?tenant=b', { admin: 200, 'tenant-admin': 404, viewer: 403, agent: 403 }],
    ['/api/v1/snapshot?kinds=Tenant,Endpoint', { admin: 200, 'tenant-admin': 200, viewer: 200, agent: 200 }],
    ['/api/v1/snapshot?kinds=Host', { admin: 200, 'tenant-admin': 403, viewer: 403, agent: 200 }],
    ['/api/v1/whoami', { admin: 200, 'tenant-admin': 200, viewer: 200, agent: 200 }],
    ['/api/v1/openapi.json', { admin: 200, 'tenant-admin': 200, viewer: 200, agent: 200 }],
  ];
  const wrong: string[] = [];
  for (const [path, want] of routes) {
    if ((await send(base, 'HEAD', path)).status !== 401) wrong.push(`HEAD ${path} without a token: not 401`);
    for (const role of ROLES) {
      const get = (await send(base, 'GET', path, { token: tokens[role] })).status;
      const head = await send(base, 'HEAD', path, { token: tokens[role] });
      if (get !== want[role]) wrong.push(`${role} GET ${path}: got ${get}, want ${want[role]}`);
      if (head.status !== want[role]) wrong.push(`${role} HEAD ${path}: got ${head.status}, want ${want[role]}`);
      if (head.text !== '') wrong.push(`${role} HEAD ${path}: has a body`);
    }
  }
  assert.equal((await send(base, 'HEAD', '/healthz')).status, 200, '/healthz stays open');
  assert.deepEqual(wrong, []);
});

test("HEAD of another tenant's object discloses nothing: same answer as an object that does not exist", async () => {
  const base = controller.url;
  const ta = tokens['tenant-admin'];
  const present = await send(base, 'HEAD', item('Endpoint', OTHER, 'resident'), { token: ta });
  const absent = await send(base, 'HEAD', item('Endpoint', OTHER, 'no-such-endpoint'), { token: ta });
  assert.equal(present.status, 404);
  assert.equal(absent.status, 404);
  const own = await send(base, 'HEAD', item('Endpoint', OWN, 'resident'), { token: ta });
  assert.equal(own.status, 200);
  // A narrowed list: the length HEAD announces is that of the narrowed GET, not of everything.
  for (const path of ['/api/v1/endpoints', '/api/v1/snapshot?kinds=Tenant,Endpoint,Group']) {
    const get = await send(base, 'GET', path, { token: ta });
    const length = await headLength(base, path, ta);
    assert.equal(length, Buffer.byteLength(get.text), `HEAD ${path} content-length`);
  }
});

function headLength(base: string, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const request = http.request(
      { host: url.hostname, port: url.port, method: 'HEAD', path, headers: { authorization: `Bearer ${token}` }, agent: false },
      (response) => {
        response.resume();
        resolve(Number(response.headers['content-length']));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

test('an agent cannot move an endpoint to another host, by merge patch or update, nor take one from another host', async () => {
  const base = controller.url;
  const agent = tokens.agent;
  const mergePatch = (path: string, body: unknown) =>
    send(base, 'PATCH', path, { token: agent, body, headers: { 'content-type': 'application/merge-patch+json' } });
  await adminCreate({ ...sample('Endpoint', OWN, 'mover'), spec: { network: 'net', host: 'host-a' } });
  const path = item('Endpoint', OWN, 'mover');
  assert.equal((await mergePatch(path, { spec: { host: 'host-b' } })).status, 403, 'merge patch to another host');
  assert.equal((await mergePatch(path, { spec: { host: null } })).status, 403, 'merge patch removing the host');
  const plainJson = await send(base, 'PATCH', path, { token: agent, body: { spec: { host: 'host-b' } } });
  assert.equal(plainJson.status, 403, 'the same patch sent as application/json');
  const current = (await send(base, 'GET', path, { token: admin })).json as AnyObject;
  assert.equal(
    (await send(base, 'PUT', path, { token: agent, body: { ...current, spec: { ...current.spec, host: 'host-b' } } })).status,
    403,
    'update to another host',
  );
  assert.equal(((await send(base, 'GET', path, { token: admin })).json as Endpoint).spec.host, 'host-a', 'still on host-a');
  assert.equal((await mergePatch(path, { metadata: { labels: { seen: 'yes' } } })).status, 200, 'its own endpoint stays writable');
  assert.equal((await mergePatch(path, { spec: { host: 'host-a' } })).status, 200, 'naming its own host is fine');

  // An endpoint of a tenant the agent sees (a) but on another host: 403, and it stays there.
  await adminCreate({ ...sample('Endpoint', OWN, 'elsewhere'), spec: { network: 'net', host: 'host-b' } });
  const elsewhere = item('Endpoint', OWN, 'elsewhere');
  assert.equal((await mergePatch(elsewhere, { spec: { host: 'host-a' } })).status, 403, 'taking an endpoint from another host');
  assert.equal((await mergePatch(elsewhere, { metadata: { labels: { x: 'y' } } })).status, 403);
  assert.equal((await send(base, 'PUT', `${elsewhere}/status`, { token: agent, body: { status: {} } })).status, 403);
  assert.equal(((await send(base, 'GET', elsewhere, { token: admin })).json as Endpoint).spec.host, 'host-b');
});

test('tenant roles: lists across tenants and apply are narrowed to their tenant', async () => {
  const base = controller.url;
  const ta = tokens['tenant-admin'];
  const endpoints = (await send(base, 'GET', '/api/v1/endpoints', { token: ta })).json as { items: TenetObject[] };
  assert.ok(endpoints.items.length > 0);
  assert.deepEqual([...new Set(endpoints.items.map((e) => e.metadata.tenant))], [OWN]);
  const tenants = (await send(base, 'GET', '/api/v1/tenants', { token: tokens.viewer })).json as { items: TenetObject[] };
  assert.deepEqual(
    tenants.items.map((t) => t.metadata.name),
    [OWN],
  );
  const snapshot = (await send(base, 'GET', '/api/v1/snapshot?kinds=Tenant,Network,Endpoint', { token: ta })).json as {
    items: TenetObject[];
  };
  assert.ok(snapshot.items.every((o) => (o.kind === 'Tenant' ? o.metadata.name === OWN : o.metadata.tenant === OWN)));
  assert.equal((await send(base, 'GET', '/api/v1/snapshot?kinds=Host', { token: ta })).status, 403);

  const mine = sample('Scope', OWN, 'applied');
  assert.equal((await send(base, 'POST', '/api/v1/apply', { token: ta, body: { objects: [mine] } })).status, 200);
  const theirs = sample('Scope', OTHER, 'sneaky');
  assert.equal(
    (await send(base, 'POST', '/api/v1/apply', { token: ta, body: { objects: [sample('Scope', OWN, 'x2'), theirs] } })).status,
    404,
  );
  assert.equal(
    (await send(base, 'GET', item('Scope', OTHER, 'sneaky'), { token: admin })).status,
    404,
    'nothing of a refused apply was written',
  );
  assert.equal((await send(base, 'GET', item('Scope', OWN, 'x2'), { token: admin })).status, 404);
  assert.equal(
    (await send(base, 'POST', '/api/v1/apply', { token: tokens.viewer, body: { objects: [sample('Scope', OWN, 'v')] } })).status,
    403,
  );

  // A tenant-admin's watch across all tenants carries only its tenant's events.
  const client = new TenetClient({ servers: [base], token: ta });
  const start = (await client.list('Scope', { tenant: OWN })).resourceVersion;
  const seen: WatchEvent[] = [];
  const watch = client.watch({ kinds: ['Scope'] }, start, (event) => seen.push(event));
  try {
    await adminCreate(sample('Scope', OTHER, 'other-scope'));
    await adminCreate(sample('Scope', OWN, 'own-scope'));
    await waitFor(() => seen.some((e) => e.object?.metadata.name === 'own-scope'));
    assert.deepEqual(
      seen.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.object?.metadata.tenant}/${e.object?.metadata.name}`),
      [`${OWN}/own-scope`],
    );
  } finally {
    watch.close();
  }
});

async function waitFor(check: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('agent of host-a: lists, snapshot and watch never carry tenant b until b has an endpoint on host-a', async () => {
  const base = controller.url;
  const agent = new TenetClient({ servers: [base], token: tokens.agent });
  const kinds: KindName[] = ['Tenant', 'Network', 'Group', 'Endpoint', 'Host', 'GlobalPolicy'];
  const scoped = (items: TenetObject[], tenant: string) => items.filter((o) => AGENT_SCOPED.has(o.kind) && o.metadata.tenant === tenant);

  const allEndpoints = await agent.list('Endpoint');
  assert.ok(allEndpoints.items.length > 0);
  assert.deepEqual(scoped(allEndpoints.items, OTHER), [], 'list across tenants hides b');
  assert.deepEqual((await agent.list('Endpoint', { tenant: OTHER })).items, [], "list of b's collection is empty");
  assert.deepEqual((await agent.list('Group', { tenant: OTHER })).items, []);
  await assert.rejects(agent.get('Endpoint', 'resident', OTHER), (e: unknown) => e instanceof ApiError && e.status === 404);
  assert.equal((await agent.get('Network', 'net', OTHER)).metadata.name, 'net', 'attach may read any network by name');

  const snapshot = await agent.snapshot(kinds);
  assert.deepEqual(scoped(snapshot.items, OTHER), []);
  assert.ok(
    scoped(snapshot.items, OWN).some((o) => o.kind === 'Group'),
    'its own tenants are all there',
  );

  const seen: WatchEvent[] = [];
  const watch = agent.watch({ kinds }, snapshot.revision, (event) => seen.push(event));
  let ended = false;
  void watch.done.then(
    () => (ended = true),
    () => (ended = true),
  );
  try {
    await adminCreate(sample('Group', OTHER, 'hidden-group'));
    await adminCreate(sample('Endpoint', OTHER, 'hidden-ep'));
    await adminCreate(sample('Group', OWN, 'visible-group'));
    await waitFor(() => seen.some((e) => e.object?.metadata.name === 'visible-group'), 'visible-group');
    assert.deepEqual(
      scoped(
        seen.flatMap((e) => (e.object ? [e.object] : [])),
        OTHER,
      ),
      [],
      'no event of b',
    );
    assert.equal(ended, false);

    // The agent attaches a container of tenant b on its host: b is needed now, the stream ends, a new snapshot has b.
    const attached = await agent.create({ ...sample('Endpoint', OTHER, 'attached'), spec: { network: 'net', host: 'host-a' } });
    assert.equal(attached.metadata.tenant, OTHER);
    await waitFor(() => ended, 'the watch to end after the host started needing tenant b');
  } finally {
    watch.close();
  }
  const again = await agent.snapshot(kinds);
  assert.ok(
    scoped(again.items, OTHER).some((o) => o.kind === 'Group' && o.metadata.name === 'hidden-group'),
    "b's groups now reach host-a",
  );
  assert.equal((await agent.get('Endpoint', 'hidden-ep', OTHER)).metadata.name, 'hidden-ep');
});

test('endpoint moves (spec.host): refused for every role but admin; admins only once the container is gone', async () => {
  const base = controller.url;
  const moveBy = async (
    role: Role,
    tenant: string,
    name: string,
    how: 'put' | 'patch',
    to = 'host-z',
  ): Promise<{ status: number; text: string }> => {
    const token = tokens[role];
    if (how === 'patch') {
      const headers = { 'content-type': 'application/merge-patch+json' };
      return send(base, 'PATCH', item('Endpoint', tenant, name), { token, body: { spec: { host: to } }, headers });
    }
    const current = (await send(base, 'GET', item('Endpoint', tenant, name), { token: admin })).json as AnyObject;
    return send(base, 'PUT', item('Endpoint', tenant, name), { token, body: { ...current, spec: { ...current.spec, host: to } } });
  };
  const messageOf = (text: string): string => (JSON.parse(text) as { error: { message: string } }).error.message;
  const hostOfEndpoint = async (tenant: string, name: string) =>
    ((await send(base, 'GET', item('Endpoint', tenant, name), { token: admin })).json as { spec: { host?: string } }).spec.host;
  const victim = async (tenant: string): Promise<string> => {
    const name = `move-${++counter}`;
    await adminCreate(sample('Endpoint', tenant, name));
    return name;
  };
  // Hosts that report: ready with a fresh heartbeat. host-a and host-b of the matrix never reported.
  const reporting = async (host: string, status: Record<string, unknown>) => {
    if ((await send(base, 'GET', `/api/v1/hosts/${host}`, { token: admin })).status === 404) await adminCreate(sample('Host', '', host));
    const answer = await send(base, 'PUT', `/api/v1/hosts/${host}/status`, { token: admin, body: { status } });
    assert.equal(answer.status, 200, answer.text);
  };

  // Every role but admin, own tenant and other: 403 where the endpoint is visible, 404 where it is hidden; nothing moves.
  const want: Record<Exclude<Role, 'admin'>, { own: number; other: number }> = {
    'tenant-admin': { own: 403, other: 404 },
    viewer: { own: 403, other: 404 },
    // Tenant b has an endpoint on host-a (made below), so b's endpoints are visible to host-a's agent: 403, not 404.
    agent: { own: 403, other: 403 },
  };
  await adminCreate({
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { tenant: OTHER, name: `on-a-${++counter}` },
    spec: { network: 'net', host: 'host-a' },
  });
  const wrong: string[] = [];
  for (const role of ['tenant-admin', 'viewer', 'agent'] as const) {
    for (const own of [true, false]) {
      for (const how of ['put', 'patch'] as const) {
        const tenant = own ? OWN : OTHER;
        const name = await victim(tenant);
        const answer = await moveBy(role, tenant, name, how);
        const expectedStatus = own ? want[role].own : want[role].other;
        if (answer.status !== expectedStatus)
          wrong.push(`${role} ${how} ${own ? 'own' : 'other'}: got ${answer.status}, want ${expectedStatus}`);
        if ((await hostOfEndpoint(tenant, name)) !== HOST_OF[tenant])
          wrong.push(`${role} ${how} ${own ? 'own' : 'other'}: the endpoint moved`);
      }
    }
  }
  assert.deepEqual(wrong, []);

  // The tenant-admin's refusal says what is refused and why; a write that keeps spec.host is still allowed.
  const name = await victim(OWN);
  const refused = await moveBy('tenant-admin', OWN, name, 'patch');
  assert.equal(refused.status, 403);
  assert.match(messageOf(refused.text), /only admins may move Endpoint a\/move-\d+ to another host \(spec.host "host-a" -> "host-z"\)/);
  const relabel = await send(base, 'PATCH', item('Endpoint', OWN, name), {
    token: tokens['tenant-admin'],
    body: { metadata: { labels: { moved: 'no' } }, spec: { host: 'host-a' } },
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  assert.equal(relabel.status, 200, relabel.text);
  const removal = await send(base, 'PATCH', item('Endpoint', OWN, name), {
    token: tokens['tenant-admin'],
    body: { spec: { host: null } },
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  assert.equal(removal.status, 403, 'taking spec.host away is a move too');

  // Admins: refused (409) while the old host is ready and reporting; allowed once it is not ready, silent or deleted.
  await reporting('host-m', { ready: true, heartbeatAt: new Date().toISOString() });
  const placed = `move-${++counter}`;
  await adminCreate({ apiVersion: V, kind: 'Endpoint', metadata: { tenant: OWN, name: placed }, spec: { network: 'net', host: 'host-m' } });
  for (const how of ['put', 'patch'] as const) {
    const answer = await moveBy('admin', OWN, placed, how);
    assert.equal(answer.status, 409, `admin ${how} while host-m reports: ${answer.text}`);
    assert.match(messageOf(answer.text), /runs on host "host-m", which is ready and reporting: its container is not gone/);
  }
  assert.equal(await hostOfEndpoint(OWN, placed), 'host-m');
  await reporting('host-m', { ready: true, heartbeatAt: new Date(Date.now() - 120_000).toISOString() });
  assert.equal((await moveBy('admin', OWN, placed, 'patch', 'host-n')).status, 200, 'silent for two minutes: gone');
  assert.equal(await hostOfEndpoint(OWN, placed), 'host-n');
  await reporting('host-n', { ready: false, heartbeatAt: new Date().toISOString() });
  assert.equal((await moveBy('admin', OWN, placed, 'put', 'host-m')).status, 200, 'not ready: gone');
  await reporting('host-m', { ready: true, heartbeatAt: new Date().toISOString() });
  assert.equal((await moveBy('admin', OWN, placed, 'put', 'host-n')).status, 409);
  assert.equal((await send(base, 'DELETE', '/api/v1/hosts/host-m', { token: admin })).status, 200);
  assert.equal((await moveBy('admin', OWN, placed, 'patch', 'host-a')).status, 200, 'host deleted: gone');
  assert.equal(await hostOfEndpoint(OWN, placed), 'host-a');
});
