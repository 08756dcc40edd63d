/**
 * Issue 10, hole 2: a deleted tenant's VNI must not join two tenants. Tenant alpha has containers on two
 * hosts; h2's agent is down while alpha is deleted; the controller restarts (its VNI pool starts again
 * from the beginning) and tenant beta is made on the same subnet, with a container on h1 holding the
 * address alpha's h1 container had and an endpoint placed on h2 holding the address of alpha's stale
 * container there. Beta must not get alpha's VNI while h2 has not confirmed, and no packet may cross
 * between beta and alpha's leftovers on h2, either way. When h2's agent returns it removes alpha's
 * namespace before it makes beta's, and only then is the VNI handed out again.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { raw } from '../../api/api-helpers';
import { agentHealth, startAgent, stopAgent, waitAgent, waitReconciled } from '../../../src/lab/lab';
import { API_VERSION } from '../../../src/core/model/common';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { listNetns } from '../../../src/kernel/ip';
import { run } from '../../../src/kernel/exec';
import type { TenetObject } from '../../../src/core/model/object';

// Host status (which carries the namespaces a host holds) every second instead of every ten.
process.env.TENET_HEARTBEAT = '1';

async function ping(netns: string, address: string): Promise<boolean> {
  return (await run('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', '-q', address], { allowFailure: true })).code === 0;
}

/** Echo requests a namespace's kernel received (its ICMP counter): what arrived, whatever became of the reply. */
async function echoesIn(netns: string): Promise<number> {
  const snmp = (await run('ip', ['netns', 'exec', netns, 'cat', '/proc/net/snmp'])).stdout;
  const [names, values] = snmp
    .split('\n')
    .filter((l) => l.startsWith('Icmp:'))
    .map((l) => l.split(/\s+/));
  return Number(values[names.indexOf('InEchos')]);
}

const vniOf = (t: TenetObject): number => (t.status as { vni: number }).vni;

test("a deleted tenant's VNI is held back while a host that missed the deletion carries it; no packet crosses; the returning agent removes the stale namespace first", async (t) => {
  const lab = await startTestLab(t, 2);
  const [h1, h2] = lab.state.hosts;
  const metric = async (name: string): Promise<number> =>
    Number(new RegExp(`^${name} (\\d+)$`, 'm').exec((await raw(lab.controller.url, 'GET', '/metrics')).text)?.[1]);

  await lab.controller.client.apply(tenantObjects('alpha', [{ name: 'net', cidrs: ['10.77.0.0/24'] }]));
  const a1 = await lab.run('a1', { host: 'h1', tenant: 'alpha', network: 'net' });
  const a2 = await lab.run('a2', { host: 'h2', tenant: 'alpha', network: 'net' });
  await waitUntil('a1 reaches a2 across the hosts', () => ping(a1.netns, a2.addresses[0]));
  const vniA = vniOf(await lab.controller.client.get('Tenant', 'alpha'));
  const staleRouter = tenantNamespaceName(h2.netnsPrefix, 'alpha');

  await stopAgent(h2, 'SIGKILL');
  await lab.controller.client.delete('Tenant', 'alpha', undefined, { cascade: true });
  await waitUntil("h1 removed alpha's namespace", () => !listNetns().includes(tenantNamespaceName(h1.netnsPrefix, 'alpha')));
  assert.ok(listNetns().includes(staleRouter), "alpha's namespace stays on h2 while its agent is down");

  lab.setController(await lab.controller.restart());
  await waitUntil('h1 reconnected', async () => (await agentHealth(h1))?.controllerReachable === true, 20000);

  await lab.controller.client.apply(tenantObjects('beta', [{ name: 'net', cidrs: ['10.77.0.0/24'] }]));
  const vniB = vniOf(await lab.controller.client.get('Tenant', 'beta'));
  assert.notEqual(vniB, vniA, "beta must not get alpha's VNI while h2 has not confirmed");
  assert.equal(await metric('tenet_vnis_retired'), 1, "alpha's VNI waits for h2");

  // Beta takes the addresses alpha's containers had: b1 on h1 (a1's), and an endpoint placed on h2 (a2's),
  // so beta's router on h1 routes a2's address over VXLAN to h2, and alpha's stale router on h2 routes a1's to h1.
  const b1 = await lab.run('b1', { host: 'h1', tenant: 'beta', network: 'net', ips: [a1.addresses[0]] });
  await lab.controller.client.create({
    apiVersion: API_VERSION,
    kind: 'Endpoint',
    metadata: { name: 'b2', tenant: 'beta' },
    spec: { network: 'net', host: 'h2', ips: [a2.addresses[0]] },
  } as unknown as TenetObject);
  const b1Router = tenantNamespaceName(h1.netnsPrefix, 'beta');
  await waitUntil("beta's router on h1 routes b2 over VXLAN", async () => {
    const routes = (await run('ip', ['-n', b1Router, '-json', 'route', 'show', `${a2.addresses[0]}/32`])).stdout;
    return routes.includes('tvx');
  });

  const a2Before = await echoesIn(a2.netns);
  const b1Before = await echoesIn(b1.netns);
  for (let i = 0; i < 3; i++) {
    assert.equal(await ping(b1.netns, a2.addresses[0]), false, "beta (h1) reaches alpha's stale container on h2");
    assert.equal(await ping(a2.netns, a1.addresses[0]), false, "alpha's stale container on h2 reaches beta (h1)");
  }
  assert.equal(await echoesIn(a2.netns), a2Before, "no echo request from beta arrived in alpha's stale container");
  assert.equal(await echoesIn(b1.netns), b1Before, "no echo request from alpha's stale container arrived in beta");
  assert.equal(await metric('tenet_vnis_retired'), 1, 'still held back: h2 has not confirmed');

  // h2 returns: alpha's namespace goes before beta's is made (b2 is placed on h2), then the VNI is free.
  const logStart = fs.statSync(h2.log).size;
  await startAgent(lab.state, h2);
  await waitAgent(h2);
  await waitReconciled(h2);
  assert.ok(!listNetns().includes(staleRouter), 'the stale namespace is gone');
  const log = fs.readFileSync(h2.log, 'utf8').slice(logStart);
  const lines = log.split('\n');
  const removed = lines.findIndex((l) => l.includes('removing a router namespace') && l.includes(staleRouter));
  const created = lines.findIndex(
    (l) => l.includes('creating tenant namespace') && l.includes(tenantNamespaceName(h2.netnsPrefix, 'beta')),
  );
  assert.ok(removed >= 0, `the agent says it removed the stale namespace:\n${log}`);
  assert.ok(created >= 0, `the agent made beta's namespace:\n${log}`);
  assert.ok(removed < created, `the stale namespace went first:\n${log}`);
  await waitUntil('h2 confirmed: the VNI is released', async () => (await metric('tenet_vnis_retired')) === 0, 20000);

  // Allocatable again: a restarted controller (cursor at the start) hands out alpha's old VNI to the next tenant.
  lab.setController(await lab.controller.restart());
  await lab.controller.client.apply(tenantObjects('gamma', []));
  assert.equal(vniOf(await lab.controller.client.get('Tenant', 'gamma')), vniA);
});
