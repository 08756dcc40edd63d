/**
 * The flow records' API and `tenet flows` without a kernel: records reported as an agent would (the
 * admin may report for any host) are read back filtered; a tenant-admin and a viewer get their own
 * tenant only and are refused another; an agent token reads nothing and reports only for its own host;
 * bad queries and malformed reports are refused; `tenet flows -w -o json` prints new records as they
 * come, one JSON object per line.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startController } from '../helpers/controller';
import { TenetClient } from '../../src/client/api-client';
import { ApiError } from '../../src/client/errors';
import { API_VERSION } from '../../src/core/model/common';
import type { FlowRecord } from '../../src/core/flows/records';
import type { TenetObject } from '../../src/core/model/object';
import { runCli, streamCli } from './run-cli';

type Answer = { items: FlowRecord[]; seq: number; truncated: boolean; dropped?: unknown };

function record(tenant: string, from: string, to: string, verdict: 'denied' | 'allowed', seq: number, time = new Date()): FlowRecord {
  return {
    seq,
    time: time.toISOString(),
    host: 'h1',
    tenant,
    type: verdict === 'denied' ? 'deny' : 'flow-start',
    verdict,
    protocol: 'tcp',
    from: { address: '10.0.0.2', port: 40000, endpoint: from },
    to: { address: '10.0.0.3', port: 80, endpoint: to },
    ...(verdict === 'denied'
      ? { rule: { direction: 'ingress', tier: 'tenant', policy: `Policy ${tenant}/p`, rule: 1, action: 'deny' } }
      : {}),
  } as FlowRecord;
}

const refused = (status: number) => (e: unknown) => e instanceof ApiError && e.status === status;

test('flow records: filters, tenant scoping, agent reports, and tenet flows -w -o json', async (t) => {
  const controller = await startController();
  t.after(() => controller.stop());
  const admin = controller.client;
  await admin.apply(
    ['a', 'b'].map((name) => ({ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name }, spec: {} })) as unknown as TenetObject[],
  );
  const client = async (body: Record<string, unknown>) =>
    new TenetClient({
      servers: [controller.url],
      token: ((await admin.request('POST', '/api/v1/tokens', body)) as { token: string }).token,
    });
  const read = async (c: TenetClient, query = ''): Promise<Answer> => (await c.request('GET', `/api/v1/flows?${query}`)) as Answer;

  const old = new Date(Date.now() - 3600_000);
  await admin.request('POST', '/api/v1/hosts/h1/flows', {
    records: [record('a', 'web', 'db', 'allowed', 1, old), record('a', 'bad', 'db', 'denied', 2), record('b', 'x', 'y', 'denied', 3)],
    evicted: 0,
  });
  assert.equal((await read(admin)).items.length, 3);
  assert.deepEqual(
    (await read(admin, 'verdict=deny')).items.map((r) => r.tenant),
    ['a', 'b'],
  );
  assert.deepEqual(
    (await read(admin, 'tenant=a&from=bad')).items.map((r) => r.to.endpoint),
    ['db'],
  );
  assert.deepEqual(
    (await read(admin, 'tenant=a&since=5m')).items.map((r) => r.from.endpoint),
    ['bad'],
    'the hour-old record is left out',
  );
  assert.deepEqual(
    (await read(admin, 'after=2')).items.map((r) => r.tenant),
    ['b'],
  );
  assert.ok((await read(admin)).dropped !== undefined);
  for (const bad of ['verdict=maybe', 'since=yesterday', 'after=x', 'limit=0', 'tenant=A_', 'host=h1', 'from=a;b'])
    await assert.rejects(read(admin, bad), refused(400), bad);

  // Tenants see their own records only.
  const tenantAdmin = await client({ role: 'tenant-admin', tenant: 'a' });
  const viewer = await client({ role: 'viewer', tenant: 'b' });
  assert.deepEqual(
    (await read(tenantAdmin)).items.map((r) => r.tenant),
    ['a', 'a'],
  );
  assert.equal((await read(tenantAdmin)).dropped, undefined);
  await assert.rejects(read(tenantAdmin, 'tenant=b'), refused(403));
  assert.deepEqual(
    (await read(viewer, 'verdict=deny')).items.map((r) => r.from.endpoint),
    ['x'],
  );
  await assert.rejects(tenantAdmin.request('POST', '/api/v1/hosts/h1/flows', { records: [], evicted: 0 }), refused(403));

  // Agents report for their own host only, and read nothing; a malformed report lands nothing.
  const agent = await client({ role: 'agent', host: 'h2' });
  await assert.rejects(agent.request('POST', '/api/v1/hosts/h1/flows', { records: [record('b', 'p', 'q', 'denied', 1)] }), refused(403));
  await assert.rejects(read(agent), refused(403));
  await assert.rejects(
    agent.request('POST', '/api/v1/hosts/h2/flows', {
      records: [record('b', 'p', 'q', 'denied', 1), { ...record('b', 'p', 'q', 'denied', 2), verdict: 'x' }],
    }),
    refused(400),
  );
  assert.equal((await read(admin)).items.length, 3, 'nothing of the refused reports landed');
  await agent.request('POST', '/api/v1/hosts/h2/flows', { records: [{ ...record('b', 'p', 'q', 'denied', 1), host: 'h1' }], evicted: 0 });
  assert.equal((await read(admin, 'from=p')).items[0].host, 'h2', 'the host is the one in the path');

  // The CLI: text, JSON lines, and -w printing what arrives later.
  const text = await runCli(controller.url, ['flows', '--tenant', 'a', '--verdict', 'deny']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, / a h1 DENIED tcp bad:40000 -> db:80 {2}ingress: tenant Policy a\/p rule 1 \(deny\)\n$/);
  const usage = await runCli(controller.url, ['flows', '--from', 'a b']);
  assert.equal(usage.code, 2);
  const watch = streamCli(controller.url, ['flows', '--tenant', 'a', '-w', '-o', 'json']);
  t.after(() => watch.stop());
  await watch.waitFor(/"from":\{"address":"10\.0\.0\.2","port":40000,"endpoint":"bad"\}/);
  await admin.request('POST', '/api/v1/hosts/h1/flows', {
    records: [record('a', 'late', 'db', 'denied', 9), record('b', 'hidden', 'y', 'denied', 10)],
    evicted: 0,
  });
  const line = await watch.waitFor(/"endpoint":"late"/);
  assert.equal((JSON.parse(line) as FlowRecord).tenant, 'a');
  const done = await watch.stop();
  assert.ok(!done.stdout.includes('hidden'), 'another tenant is not watched');
  assert.ok(
    done.stdout
      .trim()
      .split('\n')
      .every((l) => (JSON.parse(l) as FlowRecord).tenant === 'a'),
  );
});
