/**
 * 10,000+ malformed or hostile requests against a real controller (seeded, so a failure replays
 * with TENET_FUZZ_SEED): random JSON, wrong types, huge strings and bodies, path traversal and odd
 * encodings in names, header abuse, bad and misused tokens, every role trying what it may not.
 * Every answer must be 400/401/403/404/413; nothing may change but the audit trail, whose new
 * entries account for every store revision the run made and are all refusals or failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startController } from '../helpers/controller';
import type { TenetObject } from '../../src/core/model/object';
import type { AuditEntry } from '../../src/auth/audit-log';
import { KINDS } from '../../src/core/model/registry';
import { mintToken, send } from '../helpers/http';

const V = 'tenet.dev/v1';
const TOTAL = 10_000;
const CONCURRENCY = 32;
const ALLOWED = new Set([400, 401, 403, 404, 413]);
const OVERSIZED = 'oversized headers';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Fuzz {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  label: string;
}

test('fuzz: hostile requests get 4xx, never 5xx, and change nothing', async (t) => {
  const controller = await startController();
  t.after(() => controller.stop());
  const base = controller.url;
  const admin = controller.adminToken;
  const create = async (object: TenetObject) => {
    const info = KINDS.find((k) => k.kind === object.kind)!;
    const path = info.tenantScoped ? `/api/v1/tenants/${object.metadata.tenant}/${info.plural}` : `/api/v1/${info.plural}`;
    const answer = await send(base, 'POST', path, { token: admin, body: object });
    assert.equal(answer.status, 201, answer.text);
  };
  for (const tenant of ['a', 'b']) {
    await create({ apiVersion: V, kind: 'Tenant', metadata: { name: tenant }, spec: {} });
    await create({ apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant }, spec: { subnets: [{ cidr: '10.9.0.0/24' }] } });
    await create({ apiVersion: V, kind: 'Group', metadata: { name: 'web', tenant }, spec: { selector: { matchLabels: { app: 'web' } } } });
    await create({
      apiVersion: V,
      kind: 'Host',
      metadata: { name: `host-${tenant}` },
      spec: { underlayIP: tenant === 'a' ? '192.0.2.1' : '192.0.2.2' },
    });
    await create({ apiVersion: V, kind: 'Endpoint', metadata: { name: 'ep', tenant }, spec: { network: 'net', host: `host-${tenant}` } });
  }
  const roles = {
    viewer: (await mintToken(base, admin, { role: 'viewer', tenant: 'a' })).token,
    tenantAdmin: (await mintToken(base, admin, { role: 'tenant-admin', tenant: 'a' })).token,
    agent: (await mintToken(base, admin, { role: 'agent', host: 'host-a' })).token,
  };
  const revoked = await mintToken(base, admin, { role: 'tenant-admin', tenant: 'a' });
  assert.equal((await send(base, 'DELETE', `/api/v1/tokens/${revoked.id}`, { token: admin })).status, 200);

  const allKinds = KINDS.map((k) => k.kind).join(',');
  const exportState = async () => {
    const snapshot = (await send(base, 'GET', `/api/v1/snapshot?kinds=${allKinds}`, { token: admin })).json as {
      revision: number;
      items: TenetObject[];
    };
    const tokens = (await send(base, 'GET', '/api/v1/tokens', { token: admin })).json as { items: unknown[] };
    return { revision: snapshot.revision, text: JSON.stringify({ items: snapshot.items, tokens: tokens.items }) };
  };
  const auditCount = async () => ((await send(base, 'GET', '/api/v1/audit', { token: admin })).json as { items: AuditEntry[] }).items;
  const before = await exportState();
  const auditBefore = (await auditCount()).length;

  // A fixed seed keeps the suite deterministic (this one found the empty-apply bug); explore new inputs with
  // TENET_FUZZ_SEED=random (or any number) and keep a seed that finds something as a regression case.
  const seedText = process.env.TENET_FUZZ_SEED ?? '221354';
  const seed = seedText === 'random' ? Date.now() % 1_000_000 : Number(seedText);
  const random = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const int = (n: number) => Math.floor(random() * n);
  const randomString = (max: number): string => {
    const alphabet = 'abcXYZ019-_./\\%$#@!?*&~`"\'<>{}[]();:, \tüß名☃\u200b\u0000\u001f';
    let out = '';
    const length = int(max);
    for (let i = 0; i < length; i++) out += alphabet[int(alphabet.length)];
    return out;
  };
  const randomJson = (depth: number): unknown => {
    const choice = int(depth <= 0 ? 5 : 8);
    switch (choice) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, int(100000)]);
      case 3:
        return randomString(40);
      case 4:
        return random() < 0.02 ? 'x'.repeat(200_000) : randomString(8);
      case 5:
      case 6: {
        const object: Record<string, unknown> = {};
        for (let i = int(5); i > 0; i--)
          object[pick(['apiVersion', 'kind', 'metadata', 'spec', 'status', 'name', 'tenant', 'objects', randomString(6)])] = randomJson(
            depth - 1,
          );
        return object;
      }
      default:
        return Array.from({ length: int(4) }, () => randomJson(depth - 1));
    }
  };
  /** Names that can never be valid (so no request carrying one can create anything). */
  const invalidName = (): string =>
    pick([
      '..',
      '.',
      '%00',
      'a'.repeat(3000),
      'ü名',
      'UPPER',
      '-lead',
      'trail-',
      'a/b',
      ' ',
      ';rm -rf',
      '$(reboot)',
      '../../etc/passwd',
      'x'.repeat(64),
    ]);
  /** Names for paths: invalid ones, odd encodings, and valid names of objects that do not exist. */
  const hostileName = (): string =>
    pick([
      '..',
      '.',
      '..%2f..%2fetc%2fpasswd',
      '%2e%2e',
      '%00',
      '%zz',
      'a'.repeat(3000),
      encodeURIComponent('ü名'),
      `x${encodeURIComponent(randomString(20))}`,
      'UPPER',
      '-lead',
      'trail-',
      'a%2Fb',
      '%20',
      `nope-${int(1e9)}`,
      encodeURIComponent(';rm -rf'),
      encodeURIComponent('$(reboot)'),
    ]);
  const badAuthorization = (): string | undefined =>
    pick([
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'bearer nope',
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      `Bearer ${randomString(30).replace(/[^\x21-\x7e]/g, 'x')}`,
      `Bearer tnt_${'a'.repeat(12)}_${'b'.repeat(43)}`,
      `Bearer ${admin}x`,
      `Bearer ${admin.slice(0, -1)}`,
      `Bearer ${admin.toUpperCase()}`,
      `Bearer  ${admin}`.replace(' ', '  ') + ' x',
      `Bearer ${'t'.repeat(600)}`,
      `Bearer ${revoked.token}`,
      `Token ${admin}`,
    ]);
  /** Labels that break the Kubernetes rules: a key or a value with a character no label has, or too long. */
  const badKey = (): string =>
    pick([`${randomString(6)}${pick([';', ' ', '$(', 'ключ', '\u0000', '"'])}${randomString(6)}`, 'k'.repeat(64), `${'p'.repeat(254)}/k`]);
  const badValue = (): string => pick([`${randomString(4)}${pick([';', ' ', '$(reboot)', 'ü', '/'])}`, 'v'.repeat(64)]);
  const badLabels = (): Record<string, string> =>
    random() < 0.5 ? { [badKey()]: 'x' } : { [pick(['a', 'app', 'example.com/app'])]: badValue() };
  const kindPaths = KINDS.map((k) => ({
    kind: k.kind,
    collection: (tenant: string) => (k.tenantScoped ? `/api/v1/tenants/${tenant}/${k.plural}` : `/api/v1/${k.plural}`),
    tenantScoped: k.tenantScoped,
  }));
  const json = (value: unknown) => JSON.stringify(value) ?? 'null';
  const headersFor = (token: string | undefined, extra: Record<string, string> = {}) => ({
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extra,
  });
  const jsonType = { 'content-type': 'application/json' };

  const generators: (() => Fuzz)[] = [
    // Strangers: any route, any method, a bad or missing token.
    () => {
      const k = pick(kindPaths);
      const auth = badAuthorization();
      const method = pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);
      const path = pick([
        k.collection(pick(['a', 'b', hostileName()])),
        `${k.collection('a')}/${hostileName()}`,
        '/api/v1/watch?kinds=Endpoint',
        '/api/v1/snapshot?kinds=Tenant',
        '/api/v1/tokens',
        '/api/v1/audit',
        '/metrics',
        `/${hostileName()}`,
      ]);
      const body = method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : json(randomJson(3));
      return {
        method,
        path,
        headers: { ...(auth !== undefined ? { authorization: auth } : {}), ...(body ? jsonType : {}) },
        body,
        label: 'bad token',
      };
    },
    // The admin with malformed bodies on collections, apply, rollback and tokens.
    () => {
      const k = pick(kindPaths);
      const target = pick(['collection', 'apply', 'rollback', 'tokens']);
      let body: unknown = randomJson(4);
      if (target === 'apply')
        body = pick([
          { objects: [randomJson(3), { kind: 'Nope' }] },
          { objects: randomString(5) },
          { objects: [{ apiVersion: V, kind: 'Group', metadata: { name: invalidName(), tenant: 'a' }, spec: 5 }] },
          randomJson(2),
          { objects: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 'c', __proto__x: 1 }, spec: 5 }] },
        ]);
      if (target === 'rollback') body = { revision: pick([-1, 1.5, '1', null, 1e20, 10 ** 9, [], {}]) };
      if (target === 'tokens')
        body = pick([
          randomJson(2),
          { role: 'root' },
          { role: 'admin', tenant: 'a' },
          { role: 'viewer' },
          { role: 'agent', host: invalidName() },
          { role: 'viewer', tenant: 'a', ttl: pick(['0s', '-1h', 'forever', 5]) },
          { role: 'admin', extra: 1 },
        ]);
      if (target === 'collection' && random() < 0.3)
        body = { apiVersion: V, kind: k.kind, metadata: { name: invalidName(), tenant: 'a' }, spec: randomJson(2) };
      // A valid new name with labels no label may have: only the label rules stand between it and a write.
      if (target === 'collection' && k.kind === 'Tenant' && random() < 0.3)
        body = { apiVersion: V, kind: 'Tenant', metadata: { name: `lbl-${int(1e6)}`, labels: badLabels() }, spec: {} };
      if (target === 'collection' && k.kind === 'Group' && random() < 0.3)
        body = {
          apiVersion: V,
          kind: 'Group',
          metadata: { name: `lbl-${int(1e6)}`, tenant: 'a' },
          spec: {
            selector: pick([
              { matchLabels: badLabels() },
              { matchExpressions: [{ key: badKey(), operator: 'Exists' }] },
              { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', badValue()] }] },
            ]),
          },
        };
      const path = target === 'collection' ? k.collection(pick(['a', 'b'])) : `/api/v1/${target}`;
      return { method: 'POST', path, headers: headersFor(admin, jsonType), body: json(body), label: `admin ${target}` };
    },
    // The admin: broken syntax, wrong content types, proto poisoning, deep nesting, oversized bodies.
    () => {
      const k = pick(kindPaths.filter((p) => p.tenantScoped));
      const body = pick<string | Buffer>([
        '{"apiVersion":',
        '{"__proto__":{"admin":true}}',
        '{"constructor":{"prototype":{"x":1}}}',
        '['.repeat(5000),
        '',
        'null',
        '"string"',
        '\u0000\u0001',
        Buffer.from([0xff, 0xfe, 0xfd]),
        ...(random() < 0.05 ? [`{"x":"${'a'.repeat(1_100_000)}"}`] : []),
        // Valid JSON nested far deeper than any object (under 1 MiB): refused at the body, not a stack overflow.
        `{"apiVersion":"${V}","kind":"${k.kind}","metadata":{"name":"deep","tenant":"a"},"spec":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
        ((depth: number) => `{"objects":[${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}]}`)(65 + int(100_000)),
        `{"metadata":{"labels":${'['.repeat(65 + int(1000))}${']'.repeat(65)}}}`,
      ]);
      const type = pick([
        'application/json',
        'application/merge-patch+json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]);
      return {
        method: pick(['POST', 'PUT', 'PATCH']),
        path: pick([k.collection('a'), `${k.collection('a')}/nope-${int(1e6)}`, '/api/v1/apply']),
        headers: headersFor(admin, { 'content-type': type }),
        body,
        label: 'admin bad body',
      };
    },
    // The admin: reads and writes of objects that do not exist or cannot exist, and garbage queries.
    () => {
      const k = pick(kindPaths);
      const method = pick(['GET', 'PUT', 'PATCH', 'DELETE']);
      const query = pick([
        '',
        '?labelSelector=' + encodeURIComponent(pick(['a in (b', '!!', '=', 'a=b=c', randomString(30)])),
        '?watch=1&resourceVersion=' + encodeURIComponent(pick(['-1', 'abc', '1e99', '99999999999999999'])),
        '?tenant=' + encodeURIComponent(hostileName()),
        '?cascade=1&cascade=2',
        '?tenant=a&tenant=b',
      ]);
      const path = pick([
        `${k.collection('a')}/${hostileName()}${query}`,
        `/api/v1/snapshot?kinds=${encodeURIComponent(pick(['', 'Nope', 'Tenant,Nope', `${randomString(10)}x`]))}`,
        `/api/v1/watch?kinds=Tenant&resourceVersion=${encodeURIComponent(pick(['x', '-5']))}`,
        `/api/v1/tokens/${hostileName()}`,
        `/api/v1/audit?since=${encodeURIComponent(pick(['1y', 'x', '']))}`,
        `/api/v1/audit?limit=${pick(['0', '-1', 'x', '100001'])}`,
        `/api/v1/${hostileName()}`,
      ]);
      const body = method === 'GET' || method === 'DELETE' ? undefined : json(randomJson(3));
      return {
        method:
          path.startsWith('/api/v1/snapshot') || path.startsWith('/api/v1/watch') || path.startsWith('/api/v1/audit') ? 'GET' : method,
        path,
        headers: headersFor(admin, body ? jsonType : {}),
        body,
        label: 'admin nonexistent',
      };
    },
    // A viewer writing anything; a tenant-admin reaching into tenant b, tenants, hosts and global policies.
    () => {
      const viewer = random() < 0.5;
      const k = pick(kindPaths);
      const method = pick(['POST', 'PUT', 'PATCH', 'DELETE']);
      const tenant = viewer ? pick(['a', 'b']) : 'b';
      let path = method === 'POST' ? k.collection(tenant) : `${k.collection(tenant)}/${pick(['ep', 'web', 'net', 'a', 'b', 'host-a'])}`;
      if (!viewer && !k.tenantScoped && k.kind !== 'Tenant')
        path = method === 'POST' ? k.collection('') : `${k.collection('')}/${pick(['host-a', 'gp'])}`;
      if (!viewer && k.kind === 'Tenant') path = method === 'POST' ? k.collection('') : `${k.collection('')}/${pick(['a', 'b'])}`;
      const body =
        method === 'DELETE' ? undefined : json({ apiVersion: V, kind: k.kind, metadata: { name: 'web', tenant }, spec: randomJson(2) });
      return {
        method,
        path,
        headers: headersFor(viewer ? roles.viewer : roles.tenantAdmin, body ? jsonType : {}),
        body,
        label: viewer ? 'viewer write' : 'tenant-admin cross',
      };
    },
    // Tenant roles and the agent reading what they may not see.
    () => {
      const who = pick(['viewer', 'tenantAdmin', 'agent'] as const);
      const path =
        who === 'agent'
          ? pick([
              '/api/v1/tenants/b/endpoints/ep',
              '/api/v1/tenants/b/groups/web',
              '/api/v1/history',
              '/api/v1/tokens',
              '/api/v1/audit',
              '/metrics',
            ])
          : pick([
              '/api/v1/tenants/b',
              '/api/v1/tenants/b/networks/net',
              '/api/v1/tenants/b/endpoints',
              '/api/v1/hosts',
              '/api/v1/globalpolicies',
              '/api/v1/history',
              '/api/v1/tokens',
              '/api/v1/snapshot?kinds=Host',
              '/api/v1/watch?kinds=GlobalPolicy',
              '/metrics',
            ]);
      return { method: 'GET', path, headers: headersFor(roles[who]), label: `${who} read` };
    },
    // The agent writing beyond its host.
    () => {
      const choice = int(4);
      if (choice === 0)
        return {
          method: 'POST',
          path: '/api/v1/tenants/a/endpoints',
          headers: headersFor(roles.agent, jsonType),
          body: json({
            apiVersion: V,
            kind: 'Endpoint',
            metadata: { name: `e${int(1e6)}`, tenant: 'a' },
            spec: { network: 'net', host: pick(['host-b', '', 'HOST-A', 'host-a ']) },
          }),
          label: 'agent foreign endpoint',
        };
      if (choice === 1)
        return {
          method: pick(['DELETE', 'PUT', 'PATCH']),
          path: '/api/v1/tenants/b/endpoints/ep',
          headers: headersFor(roles.agent, jsonType),
          body: json(randomJson(2)),
          label: 'agent endpoint of b',
        };
      if (choice === 2)
        return {
          method: pick(['PUT', 'PATCH', 'DELETE']),
          path: '/api/v1/hosts/host-b',
          headers: headersFor(roles.agent, jsonType),
          body: json({ spec: { underlayIP: '192.0.2.9' } }),
          label: 'agent other host',
        };
      return {
        method: 'POST',
        path: pick(['/api/v1/tenants/a/groups', '/api/v1/tenants', '/api/v1/apply', '/api/v1/tokens', '/api/v1/globalpolicies']),
        headers: headersFor(roles.agent, jsonType),
        body: json(randomJson(2)),
        label: 'agent intent write',
      };
    },
    // Header abuse with a valid admin token on malformed requests: many, long and odd headers.
    () => {
      const headers: Record<string, string> = headersFor(admin, jsonType);
      for (let i = int(100); i > 0; i--) headers[`x-f${i}`] = randomString(60).replace(/[^\x20-\x7e]/g, 'x');
      headers['x-forwarded-for'] = '127.0.0.1, 10.0.0.1';
      headers['x-http-method-override'] = 'DELETE';
      headers['content-encoding'] = pick(['gzip', 'br', 'identity']);
      return {
        method: 'POST',
        path: '/api/v1/tenants',
        headers,
        body: json({ apiVersion: V, kind: 'Tenant', metadata: { name: invalidName() }, spec: {} }),
        label: 'header abuse',
      };
    },
    // Unknown methods on known routes.
    () => ({
      method: pick(['OPTIONS', 'TRACE', 'PROPFIND', 'PURGE']),
      path: pick(['/api/v1/tenants', '/api/v1/tenants/a', '/healthz']),
      headers: headersFor(admin),
      label: 'odd method',
    }),
    // Headers beyond Node's 16 KiB: its parser answers 431 before any route (the one status outside the list, on purpose).
    () => ({
      method: 'GET',
      path: '/api/v1/tenants',
      headers: { ...headersFor(admin), 'x-big': 'a'.repeat(16_384 + int(48_000)) },
      label: OVERSIZED,
    }),
  ];

  const statuses = new Map<number, number>();
  const unexpected: string[] = [];
  let done = 0;
  const worker = async () => {
    while (done < TOTAL) {
      done++;
      const request = pick(generators)();
      let status: number;
      try {
        status = (await send(base, request.method, request.path, { headers: request.headers, rawBody: request.body })).status;
      } catch (error) {
        unexpected.push(`${request.label} ${request.method} ${request.path.slice(0, 80)}: ${(error as Error).message}`);
        continue;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (request.label === OVERSIZED ? status !== 431 : !ALLOWED.has(status))
        unexpected.push(`${request.label} ${request.method} ${request.path.slice(0, 120)} -> ${status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const sent = [...statuses.values()].reduce((a, b) => a + b, 0) + unexpected.filter((u) => !u.includes('->')).length;
  process.stdout.write(`fuzz seed ${seed}: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
  assert.deepEqual(unexpected.slice(0, 20), [], `seed ${seed}`);
  assert.ok(sent >= TOTAL);

  assert.equal((await send(base, 'GET', '/healthz')).status, 200, 'still serving');
  const after = await exportState();
  assert.equal(after.text, before.text, 'objects and tokens unchanged');
  const entries = (await auditCount()).slice(auditBefore);
  assert.equal(after.revision - before.revision, entries.length, 'every new store revision is one audit entry');
  assert.ok(
    entries.every((e) => e.outcome !== 'allowed'),
    'no hostile request was allowed to change anything',
  );
});
