/**
 * Lost interfaces (issue 10): a veth pair dies with either end's namespace, so a tenant router namespace
 * deleted by hand takes its containers' interfaces with it. The agent makes the namespace again, marks
 * the endpoints `lost` (with the reason and the time) and re-attaches each one whose container namespace
 * still exists, with the same addresses, MAC, routes and interface name; an endpoint whose container is
 * gone stays lost and says why. The record that steers the re-attach is written only by agents, and the
 * agent checks the namespace again (the guard and the inode recorded at attach).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { restartAgent } from '../../../src/lab/lab';
import { TenetClient } from '../../../src/client/api-client';
import { ApiError } from '../../../src/client/errors';
import { describeObject } from '../../../src/cli/describe-text';
import { API_VERSION } from '../../../src/core/model/common';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import type { TenetObject } from '../../../src/core/model/object';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { run } from '../../../src/kernel/exec';
import { AttachClient } from '../../../src/attach/client';

async function pingOk(netns: string, address: string): Promise<boolean> {
  return (await run('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', '-q', address], { allowFailure: true })).code === 0;
}

async function linkOf(netns: string, dev: string): Promise<{ address: string; mtu: number; addr_info: { local: string }[] } | undefined> {
  const out = await run('ip', ['-n', netns, '-j', 'addr', 'show', 'dev', dev], { allowFailure: true });
  if (out.code !== 0) return undefined;
  return (JSON.parse(out.stdout) as { address: string; mtu: number; addr_info: { local: string }[] }[])[0];
}

async function defaultRoutes(netns: string): Promise<string[]> {
  const routes: string[] = [];
  for (const family of ['-4', '-6']) {
    const out = await run('ip', [family, '-n', netns, '-j', 'route', 'show', 'default']);
    for (const r of JSON.parse(out.stdout) as { gateway: string; dev: string }[]) routes.push(`${r.gateway} dev ${r.dev}`);
  }
  return routes.sort();
}

const inodeOf = (path: string): string => {
  const stat = fs.statSync(path);
  return `${stat.dev}:${stat.ino}`;
};

test('a router namespace deleted by hand: its endpoints are marked lost, re-attached where the container lives, and say why where it does not', async (t) => {
  const lab = await startTestLab(t, 2, { agentResync: 1 });
  const client = lab.controller.client;
  await client.apply([
    ...tenantObjects('acme', [{ name: 'net', cidrs: ['10.61.0.0/24', 'fd00:61::/64'] }]),
    ...tenantObjects('beta', [{ name: 'net', cidrs: ['10.62.0.0/24'] }]),
  ]);
  const c1 = await lab.run('c1', { host: 'h1', tenant: 'acme', network: 'net' });
  const c2 = await lab.run('c2', { host: 'h1', tenant: 'acme', network: 'net' });
  const c3 = await lab.run('c3', { host: 'h2', tenant: 'acme', network: 'net' });
  const b1 = await lab.run('b1', { host: 'h1', tenant: 'beta', network: 'net' });
  const [h1] = lab.state.hosts;
  const router = tenantNamespaceName(h1.netnsPrefix, 'acme');
  const endpoint = async (name: string): Promise<Endpoint> => (await client.find<Endpoint>('Endpoint', name, 'acme'))!;
  await waitUntil(
    'c1 reaches c3 across hosts',
    async () => (await pingOk(c1.netns, c3.addresses[0])) && (await pingOk(c3.netns, c1.addresses[0])),
  );

  await t.test('the attach records where it attached: the path, the namespace inode and the interface name', async () => {
    await waitUntil('c1 ready with its record', async () => (await endpoint(c1.endpoint!)).status?.attachment !== undefined);
    const status = (await endpoint(c1.endpoint!)).status!;
    assert.equal(status.phase, 'ready');
    assert.deepEqual(status.attachment, { netns: `/run/netns/${c1.netns}`, netnsId: inodeOf(`/run/netns/${c1.netns}`), ifName: 'eth0' });
  });

  await t.test(
    'router namespace deleted by hand: lost, then re-attached with the same MAC, addresses and routes; traffic flows again',
    async () => {
      const before = { c1: await linkOf(c1.netns, 'eth0'), c2: await linkOf(c2.netns, 'eth0'), routes: await defaultRoutes(c1.netns) };
      assert.ok(before.c1 && before.c2);
      const deletedAt = new Date().toISOString();
      // The namespace lives on, unnamed, while anything holds it (the agent's table watcher did): the
      // containers' interfaces then hang off it, going nowhere; once it dies they die with it.
      await run('ip', ['netns', 'del', router]);

      for (const c of [c1, c2]) {
        await waitUntil(`${c.name} re-attached`, async () => {
          const status = (await endpoint(c.endpoint!)).status;
          return status?.phase === 'ready' && (status.reattachedAt ?? '') >= deletedAt;
        });
        const status = (await endpoint(c.endpoint!)).status!;
        assert.ok(
          (status.lostAt ?? '') >= deletedAt && status.lostAt! <= status.reattachedAt!,
          `${c.name} was reported lost before it was re-attached`,
        );
        assert.equal(status.reason, undefined);
      }
      const after = { c1: await linkOf(c1.netns, 'eth0'), c2: await linkOf(c2.netns, 'eth0'), routes: await defaultRoutes(c1.netns) };
      assert.equal(after.c1?.address, before.c1.address, 'same MAC');
      assert.equal(after.c1?.mtu, before.c1.mtu, 'same MTU');
      assert.deepEqual(after.c1?.addr_info.map((a) => a.local).sort(), before.c1.addr_info.map((a) => a.local).sort(), 'same addresses');
      assert.deepEqual(after.c2?.addr_info.map((a) => a.local).sort(), before.c2.addr_info.map((a) => a.local).sort());
      assert.deepEqual(after.routes, before.routes, 'one default route per family again, through the same gateway');
      await waitUntil(
        'traffic flows again across hosts and on the host',
        async () =>
          (await pingOk(c1.netns, c3.addresses[0])) &&
          (await pingOk(c3.netns, c1.addresses[0])) &&
          (await pingOk(c2.netns, c1.addresses[0])),
      );
      assert.ok(await pingOk(c3.netns, c1.addresses[1]), 'IPv6 too');
      const text = describeObject((await endpoint(c1.endpoint!)) as unknown as TenetObject);
      assert.match(text, /Phase: +ready/);
      assert.match(text, /Interface: +lost at \S+, re-attached at \S+/);
    },
  );

  await t.test(
    'container namespace gone and the router namespace deleted: that endpoint stays lost, saying why; the others come back',
    async () => {
      await run('ip', ['netns', 'del', c2.netns]);
      const deletedAt = new Date().toISOString();
      await run('ip', ['netns', 'del', router]);
      await waitUntil('c1 re-attached again', async () => ((await endpoint(c1.endpoint!)).status?.reattachedAt ?? '') >= deletedAt);
      let status: Endpoint['status'];
      await waitUntil('c2 lost with the reason', async () => {
        status = (await endpoint(c2.endpoint!)).status;
        return status?.phase === 'lost' && /namespace .* is gone/.test(status.reason ?? '');
      });
      assert.match(status!.reason!, new RegExp(`container's network namespace /run/netns/${c2.netns} is gone`));
      assert.ok((status!.lostAt ?? '') >= deletedAt);
      const text = describeObject((await endpoint(c2.endpoint!)) as unknown as TenetObject);
      assert.match(text, /Phase: +lost \(/);
      assert.match(text, /Interface: +LOST since \S+: host interface tv[0-9a-f]+ is gone .*namespace .* is gone/);
      // Still lost a few full passes later (nothing flaps), and c1 still works.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal((await endpoint(c2.endpoint!)).status?.phase, 'lost');
      await waitUntil('c1 reaches c3', () => pingOk(c1.netns, c3.addresses[0]));
    },
  );

  await t.test('hostile: a tenant-admin cannot write the attachment record; the agent re-attaches only where it attached', async () => {
    const minted = (await client.request('POST', '/api/v1/tokens', { role: 'tenant-admin', tenant: 'acme' })) as { token: string };
    const tenantAdmin = new TenetClient({ servers: [lab.controller.url], token: minted.token });
    const victim = `/run/netns/${b1.netns}`;
    const steer = { netns: victim, netnsId: inodeOf(victim), ifName: 'eth9' };
    const current = await endpoint(c1.endpoint!);
    const original = current.status!.attachment;
    const written = await tenantAdmin.updateStatus<Endpoint>('Endpoint', c1.endpoint!, 'acme', { ...current.status, attachment: steer });
    assert.deepEqual(written.status?.attachment, original, "a tenant-admin's status write keeps the agent's record");
    assert.deepEqual((await endpoint(c1.endpoint!)).status?.attachment, original);
    // Nor does a created endpoint carry one.
    const planted = {
      apiVersion: API_VERSION,
      kind: 'Endpoint',
      metadata: { name: 'planted', tenant: 'acme' },
      spec: { network: 'net' },
      status: { attachment: steer },
    };
    const created = await tenantAdmin.create(planted as unknown as TenetObject);
    assert.equal((created.status as Endpoint['status'])?.attachment, undefined);
    await tenantAdmin.delete('Endpoint', 'planted', 'acme');

    // The veth deleted by hand: re-attached into c1's own namespace, nothing appears in beta's container.
    const veth = (await endpoint(c1.endpoint!)).status!.hostIfName!;
    const deletedAt = new Date().toISOString();
    await run('ip', ['-n', router, 'link', 'del', veth]);
    await waitUntil('c1 re-attached', async () => ((await endpoint(c1.endpoint!)).status?.reattachedAt ?? '') >= deletedAt);
    assert.ok(await linkOf(c1.netns, 'eth0'));
    assert.equal(await linkOf(b1.netns, 'eth9'), undefined, "nothing was plugged into another tenant's container");
    await waitUntil('c1 reaches c3', () => pingOk(c1.netns, c3.addresses[0]));
  });

  await t.test('the agent checks the record again: a router namespace or a namespace other than the one attached is refused', async () => {
    // Admins may write the record; the agent's guard still refuses a router namespace as the target.
    const beta = tenantNamespaceName(h1.netnsPrefix, 'beta');
    const current = await endpoint(c1.endpoint!);
    await client.updateStatus('Endpoint', c1.endpoint!, 'acme', {
      ...current.status,
      attachment: { netns: `/run/netns/${beta}`, netnsId: inodeOf(`/run/netns/${beta}`), ifName: 'eth0' },
    });
    await run('ip', ['-n', router, 'link', 'del', current.status!.hostIfName!]);
    let status: Endpoint['status'];
    await waitUntil('c1 lost, refused by the guard', async () => {
      status = (await endpoint(c1.endpoint!)).status;
      return status?.phase === 'lost' && /not re-attached/.test(status.reason ?? '');
    });
    assert.match(status!.reason!, /router namespace of tenant beta/);
    assert.equal(await linkOf(beta, 'eth0'), undefined, "nothing was plugged into beta's router namespace");

    // The right path with a stale inode (the namespace made again under the same name): refused too.
    await client.updateStatus('Endpoint', c1.endpoint!, 'acme', {
      ...status,
      attachment: { netns: `/run/netns/${c1.netns}`, netnsId: '1:1', ifName: 'eth0' },
    });
    await waitUntil('c1 lost, another namespace', async () =>
      /is now another network namespace/.test((await endpoint(c1.endpoint!)).status?.reason ?? ''),
    );
    assert.equal(await linkOf(c1.netns, 'eth0'), undefined);

    // The true record again (as the agent wrote it): re-attached.
    const at = new Date().toISOString();
    await client.updateStatus('Endpoint', c1.endpoint!, 'acme', {
      ...(await endpoint(c1.endpoint!)).status,
      attachment: { netns: `/run/netns/${c1.netns}`, netnsId: inodeOf(`/run/netns/${c1.netns}`), ifName: 'eth0' },
    });
    await waitUntil('c1 re-attached', async () => ((await endpoint(c1.endpoint!)).status?.reattachedAt ?? '') >= at);
    await waitUntil('c1 reaches c3', () => pingOk(c1.netns, c3.addresses[0]));
  });

  await t.test(
    'the record survives an agent restart: a router namespace deleted while the agent is down is re-attached by the new agent',
    async () => {
      const at = new Date().toISOString();
      await restartAgent(lab.state, 'h1', 'SIGTERM', async () => {
        await run('ip', ['netns', 'del', router]);
      });
      await waitUntil('c1 re-attached by the new agent', async () => ((await endpoint(c1.endpoint!)).status?.reattachedAt ?? '') >= at);
      assert.equal((await endpoint(c1.endpoint!)).status?.phase, 'ready');
      await waitUntil(
        'c1 reaches c3 and back',
        async () => (await pingOk(c1.netns, c3.addresses[0])) && (await pingOk(c3.netns, c1.addresses[0])),
      );
    },
  );

  await t.test('a detached container is not re-attached', async () => {
    const veth = (await endpoint(c1.endpoint!)).status!.hostIfName!;
    const attach = new AttachClient(h1.socket);
    try {
      await attach.detach({ containerId: `${lab.state.name}-c1`, ifName: 'eth0' });
    } finally {
      attach.close();
    }
    await waitUntil('the endpoint is deleted', async () => {
      try {
        return (await client.find<Endpoint>('Endpoint', c1.endpoint!, 'acme')) === undefined;
      } catch (error) {
        return error instanceof ApiError && error.status === 404;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await linkOf(c1.netns, 'eth0'), undefined);
    assert.equal((await run('ip', ['-n', router, 'link', 'show', 'dev', veth], { allowFailure: true })).code === 0, false);
  });
});
