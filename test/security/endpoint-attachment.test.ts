/**
 * An endpoint's `status.attachment` tells its agent where to re-attach a lost interface (src/agent/reattach.ts):
 * only agents and admins write it. A tenant-admin's status write keeps it as it is, a create never carries
 * it (whoever creates), and moving the endpoint to another host drops it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startController } from '../helpers/controller';
import { mintToken } from '../helpers/http';
import { TenetClient } from '../../src/client/api-client';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import type { TenetObject } from '../../src/core/model/object';

const V = 'tenet.dev/v1';

test('status.attachment is written only by agents and admins', async (t) => {
  const controller = await startController();
  t.after(() => controller.stop());
  const admin = controller.client;
  const base = controller.url;
  await admin.apply([
    { apiVersion: V, kind: 'Tenant', metadata: { name: 'acme' }, spec: {} },
    { apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant: 'acme' }, spec: { subnets: [{ cidr: '10.1.0.0/24' }] } },
  ]);
  for (const host of ['h1', 'h2'])
    await admin.create({
      apiVersion: V,
      kind: 'Host',
      metadata: { name: host },
      spec: { underlayIP: host === 'h1' ? '10.0.0.1' : '10.0.0.2' },
    } as unknown as TenetObject);
  const agent = new TenetClient({
    servers: [base],
    token: (await mintToken(base, controller.adminToken, { role: 'agent', host: 'h1' })).token,
  });
  const tenantAdmin = new TenetClient({
    servers: [base],
    token: (await mintToken(base, controller.adminToken, { role: 'tenant-admin', tenant: 'acme' })).token,
  });
  const record = { netns: '/run/netns/c1', netnsId: '4:4026531001', ifName: 'eth0' };
  const steer = { netns: '/run/netns/victim', netnsId: '4:4026531999', ifName: 'eth9' };

  const ep = await agent.create<Endpoint>({
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { name: 'e1', tenant: 'acme' },
    spec: { network: 'net', host: 'h1' },
  } as Endpoint);
  const written = await agent.updateStatus<Endpoint>('Endpoint', 'e1', 'acme', { ...ep.status, phase: 'ready', attachment: record });
  assert.deepEqual(written.status?.attachment, record, 'the agent writes it');

  const tampered = await tenantAdmin.updateStatus<Endpoint>('Endpoint', 'e1', 'acme', {
    ...written.status,
    phase: 'lost',
    attachment: steer,
  });
  assert.deepEqual(tampered.status?.attachment, record, "a tenant-admin's status write keeps the agent's record");
  assert.equal(tampered.status?.phase, 'lost', 'the rest of the write goes through');
  const removed = await tenantAdmin.updateStatus<Endpoint>('Endpoint', 'e1', 'acme', { phase: 'ready' });
  assert.deepEqual(removed.status?.attachment, record, 'nor can a tenant-admin remove it');

  for (const [who, client] of [
    ['tenant-admin', tenantAdmin],
    ['agent', agent],
    ['admin', admin],
  ] as const) {
    const planted = await client.create<Endpoint>({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name: `p-${who}`, tenant: 'acme' },
      spec: { network: 'net', host: 'h1' },
      status: { attachment: steer },
    } as Endpoint);
    assert.equal(planted.status?.attachment, undefined, `a create by ${who} carries no record`);
  }

  const byAdmin = await admin.updateStatus<Endpoint>('Endpoint', 'e1', 'acme', { ...removed.status, attachment: steer });
  assert.deepEqual(byAdmin.status?.attachment, steer, 'an admin may write it (the agent checks it again)');

  // A move (admins only; host h1 never reported, so its container counts as gone) drops the record: it
  // names a namespace on the old host.
  await agent.delete('Endpoint', 'p-agent', 'acme');
  const current = await admin.get<Endpoint>('Endpoint', 'e1', 'acme');
  await admin.update({ ...current, spec: { ...current.spec, host: 'h2' } } as unknown as TenetObject);
  const after = await admin.get<Endpoint>('Endpoint', 'e1', 'acme');
  assert.equal(after.spec.host, 'h2');
  assert.equal(after.status?.attachment, undefined, 'a move drops the record');
  assert.equal(after.status?.ipv4, current.status?.ipv4, 'and keeps the rest');
});
