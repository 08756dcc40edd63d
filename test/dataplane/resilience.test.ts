/**
 * The agent restarts (SIGTERM and kill -9) while a 10 ms ping and a TCP stream cross it: no packet lost,
 * the stream survives, and the agent converges without recreating links (interface indexes unchanged).
 * The controller goes down: traffic keeps flowing, and changes made after it returns reach every agent.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { startTestLab, tenantObjects, waitUntil } from '../helpers/lab';
import { restartAgent, startAgent, stopAgent, waitAgent } from '../../src/lab/lab';
import { hostVethName } from '../../src/core/dataplane/names';
import { linkIndexes } from '../../src/kernel/read';
import { tenantNamespaceName } from '../../src/core/dataplane/names';
import { run } from '../../src/kernel/exec';
import { AttachClient } from '../../src/cni/attach-client';
import { AttachApiError } from '../../src/cni/attach-api';
import { startController } from '../helpers/controller';

function spawnIn(netns: string, args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn('ip', ['netns', 'exec', netns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

function pingCounts(output: string): { sent: number; received: number } {
  const match = /(\d+) packets transmitted, (\d+) received/.exec(output);
  assert.ok(match, `no ping summary in: ${output}`);
  return { sent: Number(match[1]), received: Number(match[2]) };
}

async function ping(netns: string, address: string): Promise<boolean> {
  return (await run('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', '-q', address], { allowFailure: true })).code === 0;
}

test('agent restarts and crashes lose no packets and recreate nothing; a controller outage stops nothing', async (t) => {
  const lab = await startTestLab(t, 2);
  await lab.controller.client.apply(tenantObjects('acme', [{ name: 'net', cidrs: ['10.30.0.0/24', 'fd00:30::/64'] }]));
  const c1 = await lab.run('c1', { host: 'h1', tenant: 'acme', network: 'net' });
  const c2 = await lab.run('c2', { host: 'h2', tenant: 'acme', network: 'net' });
  const [h1, h2] = lab.state.hosts;
  const routers = [tenantNamespaceName(h1.netnsPrefix, 'acme'), tenantNamespaceName(h2.netnsPrefix, 'acme')];
  const snapshot = async () => ({
    routers: await Promise.all(routers.map((ns) => linkIndexes(ns))),
    containers: await Promise.all([c1, c2].map((c) => linkIndexes(c.netns))),
  });
  const before = await snapshot();
  const children: ChildProcess[] = [];
  t.after(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

  await t.test('restart (SIGTERM) and kill -9 of both agents under a 10 ms ping and a TCP stream', async () => {
    const server = spawnIn(c2.netns, ['iperf3', '-s', '-1', '-p', '5201']);
    children.push(server.child);
    await new Promise((r) => setTimeout(r, 300));
    const stream = spawnIn(c1.netns, ['iperf3', '-c', c2.addresses[0], '-p', '5201', '-t', '7', '-b', '20M']);
    const pinger = spawnIn(c1.netns, ['ping', '-i', '0.01', '-c', '700', '-q', c2.addresses[0]]);
    const pinger6 = spawnIn(c1.netns, ['ping', '-i', '0.01', '-c', '700', '-q', c2.addresses[1]]);
    children.push(stream.child, pinger.child, pinger6.child);
    await new Promise((r) => setTimeout(r, 500));
    await restartAgent(lab.state, 'h1', 'SIGTERM');
    await restartAgent(lab.state, 'h2', 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await restartAgent(lab.state, 'h1', 'SIGKILL');
    await restartAgent(lab.state, 'h2', 'SIGTERM');
    assert.equal(await stream.exit, 0, `the TCP stream broke:\n${stream.output()}`);
    await pinger.exit;
    await pinger6.exit;
    const v4 = pingCounts(pinger.output());
    const v6 = pingCounts(pinger6.output());
    assert.equal(v4.sent, 700);
    assert.deepEqual(v4, { sent: 700, received: 700 }, 'IPv4 packets lost');
    assert.deepEqual(v6, { sent: 700, received: 700 }, 'IPv6 packets lost');
    await server.exit;
  });

  await t.test('after the restarts the agents converge without recreating links', async () => {
    // A change after the restarts is programmed on both hosts...
    const c3 = await lab.run('c3', { host: 'h2', tenant: 'acme', network: 'net' });
    await waitUntil('c1 reaches the new c3', () => ping(c1.netns, c3.addresses[0]));
    // ...and every link that existed before still has its interface index.
    const after = await snapshot();
    for (let i = 0; i < 2; i++) {
      for (const [name, index] of before.routers[i]) assert.equal(after.routers[i].get(name), index, `${routers[i]} ${name} was recreated`);
      for (const [name, index] of before.containers[i]) assert.equal(after.containers[i].get(name), index, `container ${name} was recreated`);
    }
  });

  await t.test('what was deleted while an agent was down is removed when it comes back', async () => {
    const c6 = await lab.run('c6', { host: 'h2', tenant: 'acme', network: 'net' });
    const veth = hostVethName('acme', c6.endpoint!);
    assert.ok((await linkIndexes(routers[1])).has(veth));
    await stopAgent(h2, 'SIGKILL');
    await lab.controller.client.delete('Endpoint', c6.endpoint!, 'acme');
    assert.ok((await linkIndexes(routers[1])).has(veth), 'nothing changes while the agent is down');
    await startAgent(lab.state, h2);
    await waitAgent(h2);
    await waitUntil('the stale veth removed after the restart', async () => !(await linkIndexes(routers[1])).has(veth));
    assert.ok(await ping(c1.netns, c2.addresses[0]), 'the rest still works');
  });

  await t.test('controller down: traffic flows, attach says Unavailable, changes after its return reach every agent', async () => {
    const dataDir = lab.controller.dataDir;
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    await lab.controller.kill();
    const pinger = spawnIn(c1.netns, ['ping', '-i', '0.01', '-c', '200', '-q', c2.addresses[0]]);
    children.push(pinger.child);
    await pinger.exit;
    assert.deepEqual(pingCounts(pinger.output()), { sent: 200, received: 200 });
    const client = new AttachClient(h1.socket);
    t.after(() => client.close());
    const c4netns = `${c1.netns}x`;
    await run('ip', ['netns', 'add', c4netns]);
    t.after(() => run('ip', ['netns', 'del', c4netns], { allowFailure: true }));
    await assert.rejects(
      client.attach({ containerId: 'outage', netns: `/run/netns/${c4netns}`, ifName: 'eth0', tenant: 'acme', network: 'net' }),
      (error: unknown) => error instanceof AttachApiError && error.status === 503 && error.reason === 'Unavailable',
    );
    assert.equal((await linkIndexes(c4netns)).size, 1, 'a failed attach leaves no interface behind');
    // Back on the same data: a new endpoint made afterwards is routed on both hosts.
    const restarted = await startController({ dataDir, extraArgs: ['--listen', `unix:${lab.socket}`] });
    lab.setController(restarted);
    await waitUntil('agents reconnected', async () => (await client.healthz()).controllerReachable, 20000);
    const c5 = await lab.run('c5', { host: 'h1', tenant: 'acme', network: 'net' });
    await waitUntil('c2 (h2) reaches c5 made after the outage', () => ping(c2.netns, c5.addresses[0]), 20000);
    assert.ok(await ping(c5.netns, c1.addresses[0]));
  });
});
