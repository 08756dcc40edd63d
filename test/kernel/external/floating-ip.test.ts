/**
 * Floating IPs with real packets and a real BGP daemon on both sides (docs/external.md): a floating IP
 * bound to an endpoint on h2 is announced by h2's agent (BIRD) to the lab's upstream router (BIRD),
 * and a client outside reaches the endpoint with its own address visible. Moved to an endpoint on h1:
 * the upstream router's route (read from the daemon) changes to h1 and traffic follows. A tenant
 * naming another tenant's endpoint binds nothing; a deleted floating IP is withdrawn.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { outsideRoutes } from '../../../src/lab/outside';
import type { TenetObject } from '../../../src/core/model/object';

const PORT = 8080;

const fip = (tenant: string, name: string, endpoint: string): TenetObject =>
  ({ apiVersion: API_VERSION, kind: 'FloatingIP', metadata: { name, tenant }, spec: { target: { endpoint } } }) as TenetObject;

test('floating IP: announced over BGP by the bound endpoint host, client address kept, moved with the route, withdrawn on delete', async (t) => {
  const lab = await startTestLab(t, 2);
  const outside = lab.state.outside!;
  const [h1, h2] = lab.state.hosts;
  const client = lab.controller.client;
  await client.apply([
    ...tenantObjects('blue', [{ name: 'front', cidrs: ['10.40.1.0/24'] }]),
    ...tenantObjects('green', [{ name: 'front', cidrs: ['10.40.1.0/24'] }]),
    { apiVersion: API_VERSION, kind: 'FloatingIPPool', metadata: { name: 'public' }, spec: { cidrs: ['198.18.100.0/24'] } },
  ]);
  assert.equal((await client.find('FloatingIPPool', 'public'))?.kind, 'FloatingIPPool');
  const a1 = await lab.run('a1', { host: 'h1', tenant: 'blue', network: 'front', ips: ['10.40.1.11'] });
  const a2 = await lab.run('a2', { host: 'h2', tenant: 'blue', network: 'front', ips: ['10.40.1.12'] });
  // green holds the same addresses on both hosts: a floating IP must reach blue's endpoint, never green's twin.
  const g1 = await lab.run('g1', { host: 'h1', tenant: 'green', network: 'front', ips: ['10.40.1.11'] });
  const g2 = await lab.run('g2', { host: 'h2', tenant: 'green', network: 'front', ips: ['10.40.1.12'] });

  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  for (const c of [a1, a2, g1, g2]) {
    children.push(
      spawnGroup('ip', ['netns', 'exec', c.netns, 'socat', `TCP-LISTEN:${PORT},fork,reuseaddr`, `SYSTEM:echo ${c.name} $SOCAT_PEERADDR`], {
        stdio: 'ignore',
      }),
    );
  }
  for (const c of [a1, a2, g1, g2]) {
    await waitUntil(`listener in ${c.name}`, async () =>
      (await run('ip', ['netns', 'exec', c.netns, 'ss', '-Htln'])).stdout.includes(`:${PORT}`),
    );
  }
  /** Who answers a connection from the outside's "internet" address to `address` (undefined: nobody within 2 s). */
  const ask = async (address: string): Promise<string | undefined> => {
    const r = await run(
      'ip',
      ['netns', 'exec', outside.netns, 'socat', '-T2', '-', `TCP:${address}:${PORT},bind=${outside.internetIP},connect-timeout=2`],
      { input: '', allowFailure: true, timeoutMs: 5000 },
    );
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  };
  const nextHop = async (prefix: string): Promise<string | undefined> => /via ([0-9.]+)/.exec(await outsideRoutes(outside, prefix))?.[1];

  await client.apply([fip('blue', 'web', a2.endpoint!)]);
  const address = ((await client.get('FloatingIP', 'web', 'blue')) as { status?: { address?: string } }).status?.address;
  assert.equal(address, '198.18.100.1');
  await waitUntil(
    'the upstream router learns the floating IP from h2',
    async () => (await nextHop(`${address}/32`)) === h2.underlayIP,
    30000,
  );
  await waitUntil('traffic reaches a2', async () => (await ask(address)) !== undefined, 20000);
  assert.equal(await ask(address), `a2 ${outside.internetIP}`, "the endpoint sees the client's own address");
  const hostOf = async (): Promise<string | undefined> =>
    ((await client.get('FloatingIP', 'web', 'blue')) as { status?: { host?: string } }).status?.host;
  assert.equal(await hostOf(), 'h2', 'get floatingips shows the host the traffic enters by');
  const advertisedOf = async (tenant: string, name: string): Promise<unknown> =>
    ((await client.get('FloatingIP', name, tenant)) as { status?: { advertised?: unknown } }).status?.advertised;
  await waitUntil(
    'h2 reports announcing it over BGP (read back from its BIRD)',
    async () => JSON.stringify(await advertisedOf('blue', 'web')) === JSON.stringify([{ host: 'h2', via: 'bgp' }]),
    15000,
  );

  // Blue-green on one floating IP: the target moves to a1 on h1; the announcement follows, then the traffic.
  await client.apply([fip('blue', 'web', a1.endpoint!)]);
  await waitUntil('the upstream router moves the route to h1', async () => (await nextHop(`${address}/32`)) === h1.underlayIP, 30000);
  await waitUntil('traffic reaches a1', async () => (await ask(address)) === `a1 ${outside.internetIP}`, 20000);
  assert.equal(await hostOf(), 'h1');
  await waitUntil(
    'the report follows: h1 announces it, h2 no longer',
    async () => JSON.stringify(await advertisedOf('blue', 'web')) === JSON.stringify([{ host: 'h1', via: 'bgp' }]),
    15000,
  );
  const routes = await outsideRoutes(outside, `${address}/32`);
  assert.doesNotMatch(routes, new RegExp(h2.underlayIP.replace(/\./g, '\\.')), 'h2 withdrew its announcement');

  // A tenant naming another tenant's endpoint binds nothing: green has no endpoint of that name, so nothing is announced.
  await client.apply([fip('green', 'steal', a2.endpoint!)]);
  const stolen = ((await client.get('FloatingIP', 'steal', 'green')) as { status?: { address?: string } }).status?.address;
  assert.ok(stolen);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await nextHop(`${stolen}/32`), undefined, 'no host announces a floating IP whose target is not in its tenant');
  assert.equal(await ask(stolen), undefined);
  assert.equal(await advertisedOf('green', 'steal'), undefined, 'and no host reports advertising it');

  // Deleted: withdrawn, and nothing answers.
  await client.delete('FloatingIP', 'web', 'blue');
  await waitUntil('the route is withdrawn', async () => (await nextHop(`${address}/32`)) === undefined, 30000);
  assert.equal(await ask(address), undefined);
});

test('floating IP, layer-2 mode: the bound host answers ARP on the underlay, gratuitous ARP moves the neighbours with the binding, no BGP route', async (t) => {
  const lab = await startTestLab(t, 2);
  const outside = lab.state.outside!;
  const [h1, h2] = lab.state.hosts;
  const client = lab.controller.client;
  await client.apply([
    ...tenantObjects('blue', [{ name: 'front', cidrs: ['10.40.1.0/24'] }]),
    // Addresses of the underlay segment itself, as layer-2 mode wants (the MetalLB way).
    {
      apiVersion: API_VERSION,
      kind: 'FloatingIPPool',
      metadata: { name: 'lan' },
      spec: { cidrs: ['192.168.250.200/29'], advertise: 'l2' },
    },
  ]);
  const a1 = await lab.run('a1', { host: 'h1', tenant: 'blue', network: 'front', ips: ['10.40.1.11'] });
  const a2 = await lab.run('a2', { host: 'h2', tenant: 'blue', network: 'front', ips: ['10.40.1.12'] });
  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  for (const c of [a1, a2]) {
    children.push(
      spawnGroup('ip', ['netns', 'exec', c.netns, 'socat', `TCP-LISTEN:${PORT},fork,reuseaddr`, `SYSTEM:echo ${c.name} $SOCAT_PEERADDR`], {
        stdio: 'ignore',
      }),
    );
    await waitUntil(`listener in ${c.name}`, async () =>
      (await run('ip', ['netns', 'exec', c.netns, 'ss', '-Htln'])).stdout.includes(`:${PORT}`),
    );
  }
  const ask = async (address: string): Promise<string | undefined> => {
    const r = await run(
      'ip',
      ['netns', 'exec', outside.netns, 'socat', '-T2', '-', `TCP:${address}:${PORT},bind=${outside.internetIP},connect-timeout=2`],
      { input: '', allowFailure: true, timeoutMs: 5000 },
    );
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  };
  const macOf = async (netns: string): Promise<string> =>
    (JSON.parse((await run('ip', ['netns', 'exec', netns, 'ip', '-json', 'link', 'show', 'eth0'])).stdout) as { address: string }[])[0]
      .address;
  const neighbourMac = async (address: string): Promise<string | undefined> =>
    (
      JSON.parse((await run('ip', ['netns', 'exec', outside.netns, 'ip', '-json', 'neigh', 'show', address])).stdout) as {
        lladdr?: string;
      }[]
    )[0]?.lladdr;

  await client.apply([fip('blue', 'web', a2.endpoint!)]);
  const address = ((await client.get('FloatingIP', 'web', 'blue')) as { status?: { address?: string } }).status?.address;
  assert.equal(address, '192.168.250.201');
  await waitUntil('the outside reaches a2 over layer 2', async () => (await ask(address)) === `a2 ${outside.internetIP}`, 20000);
  assert.equal(await neighbourMac(address), await macOf(h2.netns), "the outside's neighbour entry names h2");
  const advertised = async (): Promise<string> =>
    JSON.stringify(((await client.get('FloatingIP', 'web', 'blue')) as { status?: { advertised?: unknown } }).status?.advertised);
  await waitUntil(
    'h2 reports answering ARP for it',
    async () => (await advertised()) === JSON.stringify([{ host: 'h2', via: 'l2' }]),
    15000,
  );
  assert.match(
    await outsideRoutes(outside, `${address}/32`),
    /not found|^\s*$|Network not found/i,
    'layer-2 floating IPs are not announced over BGP',
  );

  await client.apply([fip('blue', 'web', a1.endpoint!)]);
  await waitUntil('gratuitous ARP moves the outside to h1', async () => (await neighbourMac(address)) === (await macOf(h1.netns)), 15000);
  await waitUntil('traffic follows to a1', async () => (await ask(address)) === `a1 ${outside.internetIP}`, 10000);
  const proxies = (await run('ip', ['netns', 'exec', h2.netns, 'ip', 'neigh', 'show', 'proxy'])).stdout;
  assert.doesNotMatch(proxies, /192\.168\.250\.201/, 'h2 stopped answering for it');
  await waitUntil('the report moves to h1', async () => (await advertised()) === JSON.stringify([{ host: 'h1', via: 'l2' }]), 15000);
  // A neighbour that lost its entry asks by broadcast: h1 answers at once (the kernel would otherwise
  // hold a proxy answer back by up to proxy_delay, 0.8 s), and only h1 answers.
  const proxyDelay = (await run('ip', ['netns', 'exec', h1.netns, 'cat', '/proc/sys/net/ipv4/neigh/eth0/proxy_delay'])).stdout.trim();
  assert.equal(proxyDelay, '0', 'h1 does not delay its proxy answers on the underlay');
  await run('ip', ['netns', 'exec', outside.netns, 'ip', 'neigh', 'del', address, 'dev', 'eth0']);
  assert.equal(await ask(address), `a1 ${outside.internetIP}`, 'a broadcast request reaches a1 again');
  assert.equal(await neighbourMac(address), await macOf(h1.netns), "the outside's new entry names h1");
});
