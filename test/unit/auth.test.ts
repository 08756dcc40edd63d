import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, type Principal, type Verb } from '../../src/core/auth/roles';
import { hashSecret, isExpired, mintToken, parseDuration, parseToken, secretMatches } from '../../src/auth/tokens';
import type { KindName } from '../../src/core/model/registry';

const admin: Principal = { tokenId: 'a', role: 'admin' };
const alice: Principal = { tokenId: 't', role: 'tenant-admin', tenant: 'alpha' };
const viewer: Principal = { tokenId: 'v', role: 'viewer', tenant: 'alpha' };
const agent: Principal = { tokenId: 'h', role: 'agent', host: 'h1' };

const WRITE_VERBS: Verb[] = ['create', 'update', 'patch', 'delete'];
const TENANT_KINDS: KindName[] = ['Network', 'Scope', 'Group', 'Policy', 'Service', 'Endpoint'];

test('admin may do everything', () => {
  for (const verb of [...WRITE_VERBS, 'get', 'list'] as Verb[]) {
    assert.deepEqual(authorize(admin, { verb, kind: 'GlobalPolicy', tenant: '' }), { outcome: 'allow' });
    assert.deepEqual(authorize(admin, { verb, kind: 'Network', tenant: 'beta', name: 'n' }), { outcome: 'allow' });
  }
});

test('tenant-admin: everything in its tenant, other tenants hidden, no tenants or global policies', () => {
  for (const kind of TENANT_KINDS) {
    for (const verb of [...WRITE_VERBS, 'get', 'list', 'watch'] as Verb[]) {
      assert.equal(authorize(alice, { verb, kind, tenant: 'alpha', name: 'x' }).outcome, 'allow', `${verb} ${kind} own`);
      assert.equal(authorize(alice, { verb, kind, tenant: 'beta', name: 'x' }).outcome, 'hidden', `${verb} ${kind} other`);
    }
  }
  assert.equal(authorize(alice, { verb: 'create', kind: 'GlobalPolicy', tenant: '' }).outcome, 'forbidden');
  assert.equal(authorize(alice, { verb: 'list', kind: 'GlobalPolicy', tenant: '' }).outcome, 'forbidden');
  assert.equal(authorize(alice, { verb: 'create', kind: 'Tenant', tenant: '', name: 'gamma' }).outcome, 'forbidden');
  assert.equal(authorize(alice, { verb: 'delete', kind: 'Tenant', tenant: '', name: 'beta' }).outcome, 'hidden');
  assert.equal(authorize(alice, { verb: 'delete', kind: 'Tenant', tenant: '', name: 'alpha' }).outcome, 'forbidden');
  assert.equal(authorize(alice, { verb: 'get', kind: 'Tenant', tenant: '', name: 'alpha' }).outcome, 'allow');
  assert.equal(authorize(alice, { verb: 'get', kind: 'Tenant', tenant: '', name: 'beta' }).outcome, 'hidden');
  assert.deepEqual(authorize(alice, { verb: 'list', kind: 'Network', tenant: '' }), { outcome: 'filter', tenant: 'alpha' });
  assert.equal(authorize(alice, { verb: 'get', kind: 'Host', tenant: '', name: 'h1' }).outcome, 'forbidden');
});

test('viewer: reads its tenant only, never writes', () => {
  for (const kind of TENANT_KINDS) {
    assert.equal(authorize(viewer, { verb: 'get', kind, tenant: 'alpha', name: 'x' }).outcome, 'allow');
    assert.equal(authorize(viewer, { verb: 'get', kind, tenant: 'beta', name: 'x' }).outcome, 'hidden');
    for (const verb of WRITE_VERBS) {
      assert.equal(authorize(viewer, { verb, kind, tenant: 'alpha', name: 'x' }).outcome, 'forbidden', `${verb} ${kind}`);
      assert.equal(authorize(viewer, { verb, kind, tenant: 'beta', name: 'x' }).outcome, 'hidden', `${verb} ${kind} other`);
    }
  }
});

test('agent: writes only its own host and endpoints on it', () => {
  assert.equal(authorize(agent, { verb: 'update', kind: 'Host', tenant: '', name: 'h1' }).outcome, 'allow');
  assert.equal(authorize(agent, { verb: 'update', kind: 'Host', tenant: '', name: 'h2' }).outcome, 'forbidden');
  assert.equal(authorize(agent, { verb: 'delete', kind: 'Host', tenant: '', name: 'h1' }).outcome, 'forbidden');
  assert.equal(authorize(agent, { verb: 'create', kind: 'Endpoint', tenant: 'alpha', endpointHost: 'h1' }).outcome, 'allow');
  assert.equal(authorize(agent, { verb: 'create', kind: 'Endpoint', tenant: 'alpha', endpointHost: 'h2' }).outcome, 'forbidden');
  assert.equal(authorize(agent, { verb: 'create', kind: 'Network', tenant: 'alpha' }).outcome, 'forbidden');
  assert.equal(authorize(agent, { verb: 'delete', kind: 'Policy', tenant: 'alpha', name: 'p' }).outcome, 'forbidden');
});

test('tokens: minted tokens parse, verify, expire; stored form holds no secret', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const { token, record } = mintToken({ role: 'viewer', tenant: 'alpha', expiresAt: '2026-01-02T00:00:00Z' }, now);
  const parsed = parseToken(token);
  assert.ok(parsed);
  assert.equal(parsed.id, record.id);
  assert.ok(secretMatches(record, parsed.secret));
  assert.ok(
    !secretMatches(
      record,
      parsed.secret.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')),
    ),
  );
  assert.ok(!JSON.stringify(record).includes(parsed.secret));
  assert.equal(record.secretHash, hashSecret(parsed.secret));
  assert.ok(!isExpired(record, now));
  assert.ok(isExpired(record, new Date('2026-01-02T00:00:00Z')));
  for (const bad of ['', 'Bearer x', 'tnt_short_x', `tnt_${record.id}_`, `tnt_${record.id}_${'$'.repeat(40)}`])
    assert.equal(parseToken(bad), undefined, bad);
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('0h'), undefined);
  assert.equal(parseDuration('5y'), undefined);
});
