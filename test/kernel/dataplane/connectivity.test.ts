/**
 * Real packets through the real agent: same host, cross host and cross network inside a tenant (TCP, UDP,
 * ICMP; IPv4 and IPv6), and two tenants with identical subnets and identical container addresses on the
 * same hosts that can never reach each other. Then deletions: endpoint, network and tenant objects
 * disappear from the kernel of every host (routes, IPv4/IPv6 neighbours, FDB entries, gateways,
 * namespaces), also when made while an agent was down; and `lab down` leaves nothing behind.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { netnsWithPrefix } from '../../helpers/netns';
import { runProbe } from '../../../src/lab/probe';
import { labDown, labRm, restartAgent } from '../../../src/lab/lab';
import { labNetnsPrefix, saveLab } from '../../../src/lab/state';
import { linkIndexes, readNamespace } from '../../../src/kernel/read';
import { run } from '../../../src/kernel/exec';
import { parseNamespace } from '../../../src/core/dataplane/parse';
import { hostVethName, tenantNamespaceName } from '../../../src/core/dataplane/names';
import { isAlive } from '../../../src/lab/processes';
import { listNetns } from '../../../src/kernel/ip';

const NETWORKS = [
  { name: 'front', cidrs: ['10.20.1.0/24', 'fd00:20:1::/64'] },
  { name: 'back', cidrs: ['10.20.2.0/24', 'fd00:20:2::/64'] },
];

async function pingOk(netns: string, address: string): Promise<boolean> {
  return (await run('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', '-q', address], { allowFailure: true })).code === 0;
}

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
    const results = await runProbe(lab.state, {
      specs: [{ protocol: 'icmp' }, { protocol: 'tcp', port: 80 }, { protocol: 'udp', port: 53 }],
    });
    const tenant = new Map(lab.state.containers.map((c) => [c.name, c.tenant]));
    const intra = results.filter((r) => tenant.get(r.from) === tenant.get(r.to));
    const inter = results.filter((r) => tenant.get(r.from) !== tenant.get(r.to));
    // 4 alpha containers: 12 ordered pairs, 2 beta: 2 pairs; 3 kinds x 2 families each.
    assert.equal(intra.length, (12 + 2) * 3 * 2);
    assert.equal(inter.length, 2 * 4 * 2 * 3 * 2);
    assert.deepEqual(
      intra.filter((r) => !r.allowed),
      [],
      'intra-tenant probes that failed',
    );
    assert.deepEqual(
      inter.filter((r) => r.allowed),
      [],
      'cross-tenant probes that succeeded',
    );
    for (const kind of ['icmp', 'tcp', 'udp'])
      for (const family of [4, 6]) assert.ok(intra.some((r) => r.protocol === kind && r.family === family && r.allowed));
  });

  const alphaH1 = tenantNamespaceName(h1.netnsPrefix, 'alpha');
  const alphaH2 = tenantNamespaceName(h2.netnsPrefix, 'alpha');

  const alphaNamespaces = [alphaH1, alphaH2];
  const underlay = new Map(lab.state.hosts.map((h) => [h.name, h.underlayIP]));

  await t.test('deleting an endpoint removes its veth on its host and its routes and IPv4/IPv6 neighbours on the other', async () => {
    const a2 = lab.state.containers.find((c) => c.name === 'a2')!;
    const veth = hostVethName('alpha', a2.endpoint!);
    assert.ok((await kernelOf(alphaH1))!.veths.some((v) => v.name === veth));
    const remote = (await kernelOf(alphaH2))!;
    assert.ok(remote.routes.some((r) => r.dst === '10.20.1.11/32') && remote.neighbours.some((n) => n.dst === 'fd00:20:1::11'));
    await client.delete('Endpoint', a2.endpoint!, 'alpha');
    await waitUntil('a2 veth gone on h1', async () => !(await kernelOf(alphaH1))!.veths.some((v) => v.name === veth));
    await waitUntil('a2 routes and neighbours gone on h2', async () => {
      const state = (await kernelOf(alphaH2))!;
      return (
        !state.routes.some((r) => r.dst === '10.20.1.11/32' || r.dst === 'fd00:20:1::11/128') &&
        !state.neighbours.some((n) => n.dst === '10.20.1.11' || n.dst === 'fd00:20:1::11')
      );
    });
    // h1 still has a1 of alpha: h2 keeps its FDB entry to h1.
    assert.ok((await kernelOf(alphaH2))!.fdb.some((f) => f.dst === underlay.get('h1')));
  });

  await t.test('deleting a network removes its gateways on every host; deleting a tenant removes its namespaces everywhere', async () => {
    await labRm(lab.state, 'a4');
    lab.state.containers = lab.state.containers.filter((c) => c.name !== 'a4');
    saveLab(lab.state);
    assert.ok(a4.endpoint);
    await waitUntil('a4 endpoint deleted', async () => (await client.find('Endpoint', a4.endpoint!, 'alpha')) === undefined);
    for (const ns of alphaNamespaces) assert.ok((await kernelOf(ns))!.loAddresses.includes('10.20.2.1/32'), `${ns} has the back gateway`);
    await client.delete('Network', 'back', 'alpha');
    for (const ns of alphaNamespaces) {
      await waitUntil(`back gateways removed from lo in ${ns}`, async () => {
        const lo = (await kernelOf(ns))!.loAddresses;
        return (
          !lo.includes('10.20.2.1/32') && !lo.includes('fd00:20:2::1/128') && lo.includes('10.20.1.1/32') && lo.includes('fd00:20:1::1/128')
        );
      });
    }
    const betaH1 = tenantNamespaceName(h1.netnsPrefix, 'beta');
    const betaH2 = tenantNamespaceName(h2.netnsPrefix, 'beta');
    assert.ok(listNetns().includes(betaH1) && listNetns().includes(betaH2));
    await client.delete('Tenant', 'beta', undefined, { cascade: true });
    await waitUntil('beta namespaces gone on both hosts', () => !listNetns().includes(betaH1) && !listNetns().includes(betaH2));
  });

  await t.test("the last endpoint of a tenant on a host leaves: the other host's FDB entry, routes and neighbours for it go", async () => {
    const a3 = lab.state.containers.find((c) => c.name === 'a3')!;
    const before = (await kernelOf(alphaH1))!;
    assert.deepEqual(
      before.fdb.map((f) => f.dst),
      [underlay.get('h2')],
    );
    assert.ok(before.neighbours.some((n) => n.dst === 'fd00:20:1::12') && before.routes.some((r) => r.dst === 'fd00:20:1::12/128'));
    await client.delete('Endpoint', a3.endpoint!, 'alpha');
    await waitUntil('h1 forgets h2 for alpha', async () => {
      const state = (await kernelOf(alphaH1))!;
      return (
        state.fdb.length === 0 &&
        !state.routes.some((r) => r.dev.startsWith('tvx')) &&
        !state.neighbours.some((n) => n.dev.startsWith('tvx'))
      );
    });
    await waitUntil("alpha's namespace on h2 deleted after its linger", () => !listNetns().includes(alphaH2), 15000);
    assert.ok(listNetns().includes(alphaH1), 'a1 keeps alpha on h1');
  });

  await t.test('a network and a tenant deleted while an agent is down (stopped, not paused) are removed when it is back', async () => {
    await client.apply(
      tenantObjects('gamma', [
        { name: 'n1', cidrs: ['10.40.1.0/24', 'fd00:40:1::/64'] },
        { name: 'n2', cidrs: ['10.40.2.0/24'] },
      ]),
    );
    const g1 = await lab.run('g1', { host: 'h1', tenant: 'gamma', network: 'n1' });
    const g2 = await lab.run('g2', { host: 'h2', tenant: 'gamma', network: 'n1' });
    const g3 = await lab.run('g3', { host: 'h2', tenant: 'gamma', network: 'n2' });
    const gammaH1 = tenantNamespaceName(h1.netnsPrefix, 'gamma');
    const gammaH2 = tenantNamespaceName(h2.netnsPrefix, 'gamma');
    await waitUntil(
      'g1 reaches g2 and g3',
      async () => (await pingOk(g1.netns, g2.addresses[0])) && (await pingOk(g1.netns, g3.addresses[0])),
    );
    const g3veth = hostVethName('gamma', g3.endpoint!);
    const h2before = await linkIndexes(gammaH2);

    await restartAgent(lab.state, 'h2', 'SIGKILL', async () => {
      await client.delete('Endpoint', g3.endpoint!, 'gamma');
      await client.delete('Network', 'n2', 'gamma');
      // h1's agent runs: it applies the change at once.
      await waitUntil('n2 gone on h1', async () => !(await kernelOf(gammaH1))!.loAddresses.includes('10.40.2.1/32'));
      const stale = (await kernelOf(gammaH2))!;
      assert.ok(
        stale.loAddresses.includes('10.40.2.1/32') && stale.veths.some((v) => v.name === g3veth),
        'nothing changes on h2 while its agent is down',
      );
    });
    // restartAgent returned after the new agent's first full pass: h2 has caught up.
    const caughtUp = (await kernelOf(gammaH2))!;
    assert.ok(!caughtUp.loAddresses.includes('10.40.2.1/32'), "the deleted network's gateway is gone on h2");
    assert.ok(!caughtUp.veths.some((v) => v.name === g3veth), "the deleted endpoint's veth is gone on h2");
    const h2after = await linkIndexes(gammaH2);
    for (const [name, index] of h2before) if (name !== g3veth) assert.equal(h2after.get(name), index, `${name} was recreated`);
    assert.ok(await pingOk(g1.netns, g2.addresses[0]), 'gamma still works across hosts');

    await restartAgent(lab.state, 'h1', 'SIGTERM', async () => {
      await client.delete('Tenant', 'gamma', undefined, { cascade: true });
      await waitUntil('gamma gone on h2 (its agent runs)', () => !listNetns().includes(gammaH2), 15000);
      assert.ok(listNetns().includes(gammaH1), 'nothing changes on h1 while its agent is down');
    });
    assert.ok(!listNetns().includes(gammaH1), "the deleted tenant's namespace is gone on h1");
    assert.ok(listNetns().includes(alphaH1), 'the other tenant is untouched');
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
