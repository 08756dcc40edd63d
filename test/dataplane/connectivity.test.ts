/**
 * Real packets through the real agent: same host, cross host and cross network inside a tenant (TCP, UDP,
 * ICMP; IPv4 and IPv6), and two tenants with identical subnets and identical container addresses on the
 * same hosts that can never reach each other. Then deletions: endpoint, network and tenant objects
 * disappear from the kernel of every host; and `lab down` leaves nothing behind.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestLab, tenantObjects, waitUntil } from '../helpers/lab';
import { netnsWithPrefix } from '../helpers/netns';
import { runProbe } from '../../src/lab/probe';
import { labDown, labRm } from '../../src/lab/lab';
import { labNetnsPrefix, saveLab } from '../../src/lab/state';
import { readNamespace } from '../../src/kernel/read';
import { parseNamespace } from '../../src/core/dataplane/parse';
import { hostVethName, tenantNamespaceName } from '../../src/core/dataplane/names';
import { isAlive } from '../../src/lab/processes';
import { listNetns } from '../../src/kernel/ip';

const NETWORKS = [
  { name: 'front', cidrs: ['10.20.1.0/24', 'fd00:20:1::/64'] },
  { name: 'back', cidrs: ['10.20.2.0/24', 'fd00:20:2::/64'] },
];

async function kernelOf(netns: string) {
  return listNetns().includes(netns) ? parseNamespace(netns, '', await readNamespace(netns)) : undefined;
}

test('tenants are connected inside and isolated from each other, on identical subnets and addresses', async (t) => {
  const lab = await startTestLab(t, 2);
  const client = lab.controller.client;
  await client.apply([...tenantObjects('alpha', NETWORKS), ...tenantObjects('beta', NETWORKS)]);
  const [h1, h2] = lab.state.hosts;
  const a1 = await lab.run('a1', { host: 'h1', tenant: 'alpha', network: 'front', ips: ['10.20.1.10', 'fd00:20:1::10'] });
  await lab.run('a2', { host: 'h1', tenant: 'alpha', network: 'front', ips: ['10.20.1.11', 'fd00:20:1::11'] });
  await lab.run('a3', { host: 'h2', tenant: 'alpha', network: 'front', ips: ['10.20.1.12', 'fd00:20:1::12'] });
  const a4 = await lab.run('a4', { host: 'h2', tenant: 'alpha', network: 'back', ips: ['10.20.2.10', 'fd00:20:2::10'] });
  await lab.run('b1', { host: 'h1', tenant: 'beta', network: 'front', ips: ['10.20.1.10', 'fd00:20:1::10'] });
  await lab.run('b3', { host: 'h2', tenant: 'beta', network: 'front', ips: ['10.20.1.12', 'fd00:20:1::12'] });
  assert.deepEqual(a1.addresses, ['10.20.1.10', 'fd00:20:1::10']);

  await t.test('every intra-tenant probe succeeds and every cross-tenant probe fails', async () => {
    const results = await runProbe(lab.state, { specs: [{ protocol: 'icmp' }, { protocol: 'tcp', port: 80 }, { protocol: 'udp', port: 53 }] });
    const tenant = new Map(lab.state.containers.map((c) => [c.name, c.tenant]));
    const intra = results.filter((r) => tenant.get(r.from) === tenant.get(r.to));
    const inter = results.filter((r) => tenant.get(r.from) !== tenant.get(r.to));
    // 4 alpha containers: 12 ordered pairs, 2 beta: 2 pairs; 3 kinds x 2 families each.
    assert.equal(intra.length, (12 + 2) * 3 * 2);
    assert.equal(inter.length, 2 * 4 * 2 * 3 * 2);
    assert.deepEqual(intra.filter((r) => !r.allowed), [], 'intra-tenant probes that failed');
    assert.deepEqual(inter.filter((r) => r.allowed), [], 'cross-tenant probes that succeeded');
    for (const kind of ['icmp', 'tcp', 'udp']) for (const family of [4, 6]) assert.ok(intra.some((r) => r.protocol === kind && r.family === family && r.allowed));
  });

  const alphaH1 = tenantNamespaceName(h1.netnsPrefix, 'alpha');
  const alphaH2 = tenantNamespaceName(h2.netnsPrefix, 'alpha');

  await t.test('deleting an endpoint removes its veth on its host and its routes on the other', async () => {
    const a2 = lab.state.containers.find((c) => c.name === 'a2')!;
    const veth = hostVethName('alpha', a2.endpoint!);
    assert.ok((await kernelOf(alphaH1))!.veths.some((v) => v.name === veth));
    assert.ok((await kernelOf(alphaH2))!.routes.some((r) => r.dst === '10.20.1.11/32'));
    await client.delete('Endpoint', a2.endpoint!, 'alpha');
    await waitUntil('a2 veth gone on h1', async () => !(await kernelOf(alphaH1))!.veths.some((v) => v.name === veth));
    await waitUntil('a2 routes gone on h2', async () => {
      const state = (await kernelOf(alphaH2))!;
      return !state.routes.some((r) => r.dst === '10.20.1.11/32' || r.dst === 'fd00:20:1::11/128') && !state.neighbours.some((n) => n.dst === '10.20.1.11');
    });
  });

  await t.test('deleting a network removes its gateways; deleting a tenant removes its namespaces everywhere', async () => {
    await labRm(lab.state, 'a4');
    lab.state.containers = lab.state.containers.filter((c) => c.name !== 'a4');
    saveLab(lab.state);
    assert.ok(a4.endpoint);
    await waitUntil('a4 endpoint deleted', async () => (await client.find('Endpoint', a4.endpoint!, 'alpha')) === undefined);
    await client.delete('Network', 'back', 'alpha');
    await waitUntil('back gateways removed from lo on h1', async () => {
      const lo = (await kernelOf(alphaH1))!.loAddresses;
      return !lo.includes('10.20.2.1/32') && !lo.includes('fd00:20:2::1/128') && lo.includes('10.20.1.1/32');
    });
    const betaH1 = tenantNamespaceName(h1.netnsPrefix, 'beta');
    const betaH2 = tenantNamespaceName(h2.netnsPrefix, 'beta');
    assert.ok(listNetns().includes(betaH1) && listNetns().includes(betaH2));
    await client.delete('Tenant', 'beta', undefined, { cascade: true });
    await waitUntil('beta namespaces gone on both hosts', () => !listNetns().includes(betaH1) && !listNetns().includes(betaH2));
  });

  await t.test('lab down stops every process and leaves no namespace or file behind', async () => {
    const pids = lab.state.hosts.map((h) => h.agentPid!);
    await labDown(lab.state.name);
    assert.deepEqual(netnsWithPrefix(labNetnsPrefix(lab.state.name)), []);
    assert.ok(!fs.existsSync(lab.state.dir));
    for (const pid of pids) assert.equal(isAlive(pid), false);
    assert.equal(await labDown(lab.state.name), false, 'second down is a no-op');
  });
});
