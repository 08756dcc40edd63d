/**
 * One tenant reaching another tenant's floating IP (docs/external.md, "Another tenant's floating
 * IP"), with real packets: it is a public address, so a tenant with egress reaches it exactly as a
 * client outside would — from the same host (the host forwards from one transit link to the other,
 * translated to its underlay address) and from another host (out and back in through the upstream
 * router) — and the floating IP's own policy (CIDR peers) decides on that public source. Hostile
 * seats: a tenant without egress gets nothing; the client tenant never reaches the target's private
 * address or transit address this way, and a source it does not own gets nothing through.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { transitAddress } from '../../../src/core/egress/egress';
import type { TenetObject } from '../../../src/core/model/object';

const PORT = 8080;

test("another tenant's floating IP: reached as from outside on the same host and across hosts, its CIDR policy decides, no egress no way, no private address, no spoofing", async (t) => {
  const lab = await startTestLab(t, 2);
  const outside = lab.state.outside!;
  const [h1, h2] = lab.state.hosts;
  const client = lab.controller.client;
  const green = tenantObjects('green', [{ name: 'front', cidrs: ['10.50.1.0/24'] }]) as { spec: Record<string, unknown> }[];
  green[0].spec.egress = { mode: 'nat' };
  await client.apply([
    ...tenantObjects('blue', [{ name: 'front', cidrs: ['10.40.1.0/24'] }]),
    ...(green as unknown[]),
    // red has no egress right: it must not reach the floating IP from either host.
    ...tenantObjects('red', [{ name: 'front', cidrs: ['10.60.1.0/24'] }]),
    { apiVersion: API_VERSION, kind: 'FloatingIPPool', metadata: { name: 'public' }, spec: { cidrs: ['198.18.100.0/24'] } },
  ] as TenetObject[]);
  const a2 = await lab.run('a2', { host: 'h2', tenant: 'blue', network: 'front', ips: ['10.40.1.12'], labels: { app: 'web' } });
  const g2 = await lab.run('g2', { host: 'h2', tenant: 'green', network: 'front', ips: ['10.50.1.20'] });
  const g1 = await lab.run('g1', { host: 'h1', tenant: 'green', network: 'front', ips: ['10.50.1.21'] });
  const r2 = await lab.run('r2', { host: 'h2', tenant: 'red', network: 'front', ips: ['10.60.1.30'] });
  const r1 = await lab.run('r1', { host: 'h1', tenant: 'red', network: 'front', ips: ['10.60.1.31'] });

  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  children.push(
    spawnGroup('ip', ['netns', 'exec', a2.netns, 'socat', `TCP-LISTEN:${PORT},fork,reuseaddr`, 'SYSTEM:echo a2 $SOCAT_PEERADDR'], {
      stdio: 'ignore',
    }),
  );
  await waitUntil('listener in a2', async () => (await run('ip', ['netns', 'exec', a2.netns, 'ss', '-Htln'])).stdout.includes(`:${PORT}`));
  /** Who answers a connection from `netns` to `address` (undefined: nobody within 2 s). */
  const ask = async (netns: string, address: string, bind?: string): Promise<string | undefined> => {
    const r = await run(
      'ip',
      [
        'netns',
        'exec',
        netns,
        'socat',
        '-T2',
        '-',
        [`TCP:${address}:${PORT}`, 'connect-timeout=2', ...(bind ? [`bind=${bind}`] : [])].join(','),
      ],
      { input: '', allowFailure: true, timeoutMs: 5000 },
    );
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  };

  await client.apply([
    {
      apiVersion: API_VERSION,
      kind: 'FloatingIP',
      metadata: { name: 'web', tenant: 'blue' },
      spec: { target: { endpoint: a2.endpoint! } },
    },
  ] as TenetObject[]);
  const address = ((await client.get('FloatingIP', 'web', 'blue')) as { status?: { address?: string } }).status!.address!;
  await waitUntil(
    'the outside reaches a2 by the floating IP',
    async () => (await ask(outside.netns, address, outside.internetIP)) !== undefined,
    30000,
  );

  // Same host: green's container on h2 reaches blue's floating IP, seen as h2's underlay address (as
  // a client on another host is seen as that host's): nothing of green (its address, its transit address).
  await waitUntil('green on h2 reaches the floating IP', async () => (await ask(g2.netns, address)) !== undefined, 15000);
  assert.equal(await ask(g2.netns, address), `a2 ${h2.underlayIP}`);
  // Across hosts: green on h1 goes out through h1 and back in through the upstream router to h2.
  await waitUntil('green on h1 reaches the floating IP', async () => (await ask(g1.netns, address)) !== undefined, 15000);
  assert.equal(await ask(g1.netns, address), `a2 ${h1.underlayIP}`);
  for (let i = 0; i < 5; i++) assert.equal(await ask(g2.netns, address), `a2 ${h2.underlayIP}`, `round ${i}`);

  // No egress right, no way to it: red on either host.
  assert.equal(await ask(r2.netns, address), undefined, 'red (no egress) reached the floating IP on the same host');
  assert.equal(await ask(r1.netns, address), undefined, 'red (no egress) reached the floating IP from another host');

  // The floating IP's policy decides on the public source: only h2's underlay address may come in.
  await client.apply([
    {
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'web-in', tenant: 'blue' },
      spec: {
        appliesTo: { selector: { matchLabels: { app: 'web' } } },
        ingress: [{ action: 'allow', from: [{ cidr: `${h2.underlayIP}/32` }] }],
      },
    },
  ] as TenetObject[]);
  await waitUntil(
    'the policy shuts out the outside client',
    async () => (await ask(outside.netns, address, outside.internetIP)) === undefined,
    15000,
  );
  assert.equal(await ask(g2.netns, address), `a2 ${h2.underlayIP}`, 'same host: allowed by the CIDR peer');
  assert.equal(await ask(g1.netns, address), undefined, "from h1: its underlay address is not in the policy's CIDR");
  // And the other way round: the internet only.
  await client.apply([
    {
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'web-in', tenant: 'blue' },
      spec: {
        appliesTo: { selector: { matchLabels: { app: 'web' } } },
        ingress: [{ action: 'allow', from: [{ cidr: '203.0.113.0/24' }] }],
      },
    },
  ] as TenetObject[]);
  await waitUntil('the outside client is let in', async () => (await ask(outside.netns, address, outside.internetIP)) !== undefined, 15000);
  assert.equal(await ask(g2.netns, address), undefined, 'same host: denied, it is not the internet');

  // Hostile green: it cannot pass for the internet (a source it does not own gets nothing out), nor for blue.
  await run('ip', ['netns', 'exec', g2.netns, 'ip', 'addr', 'add', `${outside.internetIP}/32`, 'dev', 'eth0']);
  await run('ip', ['netns', 'exec', g2.netns, 'ip', 'addr', 'add', '10.40.1.99/32', 'dev', 'eth0']);
  assert.equal(await ask(g2.netns, address, outside.internetIP), undefined, "green got in with the internet's address");
  assert.equal(await ask(g2.netns, address, '10.40.1.99'), undefined, "green got in with an address of blue's subnet");
  // Open to all again: green still never reaches blue's endpoint by its private or its transit address.
  await client.delete('Policy', 'web-in', 'blue');
  await waitUntil('open again', async () => (await ask(g2.netns, address)) !== undefined, 15000);
  const blueVni = ((await client.get('Tenant', 'blue')) as { status?: { vni?: number } }).status!.vni!;
  for (const [c, where] of [
    [g2, 'same host'],
    [g1, 'other host'],
  ] as const) {
    assert.equal(await ask(c.netns, '10.40.1.12'), undefined, `${where}: green reached blue's private address`);
    assert.equal(await ask(c.netns, transitAddress(blueVni)), undefined, `${where}: green reached blue's transit address`);
  }
  // Deleted floating IP: nothing of blue is reachable from green any more.
  await client.delete('FloatingIP', 'web', 'blue');
  await waitUntil('the floating IP is gone', async () => (await ask(g2.netns, address)) === undefined, 15000);
});
