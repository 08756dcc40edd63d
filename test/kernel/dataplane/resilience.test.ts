/**
 * The agent restarts (SIGTERM and kill -9) while a 10 ms ping and a TCP stream cross it: after each new
 * agent's first full pass (its healthz says so) both still run; no packet is lost, the stream survives,
 * and the agent converges without recreating links (interface indexes unchanged).
 * The controller goes down: traffic keeps flowing, and changes made after it returns reach every agent.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { agentHealth, restartAgent, startAgent, stopAgent, waitAgent } from '../../../src/lab/lab';
import { tail } from '../../../src/lab/processes';
import { hostVethName } from '../../../src/core/dataplane/names';
import { linkIndexes } from '../../../src/kernel/read';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { run } from '../../../src/kernel/exec';
import { AttachClient } from '../../../src/attach/client';
import { AttachApiError } from '../../../src/attach/api';
import { startController } from '../../helpers/controller';

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

/**
 * Echo requests sent and echo replies received by a namespace (its kernel's ICMP counters). Unlike the
 * summary of a ping stopped by a signal, these also count the reply that was in flight at that moment.
 */
async function echoCounters(netns: string): Promise<{ v4: { out: number; in: number }; v6: { out: number; in: number } }> {
  const snmp = (await run('ip', ['netns', 'exec', netns, 'cat', '/proc/net/snmp'])).stdout;
  const snmp6 = (await run('ip', ['netns', 'exec', netns, 'cat', '/proc/net/snmp6'])).stdout;
  const [names, values] = snmp
    .split('\n')
    .filter((l) => l.startsWith('Icmp:'))
    .map((l) => l.split(/\s+/));
  const v4 = (field: string): number => Number(values[names.indexOf(field)]);
  const v6 = (field: string): number => Number(new RegExp(`^${field}\\s+(\\d+)`, 'm').exec(snmp6)?.[1] ?? NaN);
  return { v4: { out: v4('OutEchos'), in: v4('InEchoReps') }, v6: { out: v6('Icmp6OutEchos'), in: v6('Icmp6InEchoReplies') } };
}

/** Bytes the peer acknowledged on the namespace's established TCP connections to `port` (ss -ti). */
async function bytesAcked(netns: string, port: number): Promise<number> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, 'ss', '-Htin', 'state', 'established', `( dport = :${port} )`]);
  return [...stdout.matchAll(/bytes_acked:(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
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
    await waitUntil('the iperf3 server listening', async () =>
      (await run('ip', ['netns', 'exec', c2.netns, 'ss', '-Htln', 'sport = :5201'])).stdout.includes('5201'),
    );
    const before = await echoCounters(c1.netns);
    // Neither the stream nor the pings have a duration: they must still run when the last agent is back.
    const stream = spawnIn(c1.netns, ['iperf3', '-c', c2.addresses[0], '-p', '5201', '-t', '3600', '-b', '20M']);
    const pinger = spawnIn(c1.netns, ['ping', '-i', '0.01', '-q', c2.addresses[0]]);
    const pinger6 = spawnIn(c1.netns, ['ping', '-i', '0.01', '-q', c2.addresses[1]]);
    children.push(stream.child, pinger.child, pinger6.child);
    const flowing = async (): Promise<number> => {
      const acked = await bytesAcked(c1.netns, 5201);
      const now = await echoCounters(c1.netns);
      await waitUntil('the stream and both pings carrying data', async () => {
        const later = await echoCounters(c1.netns);
        return (await bytesAcked(c1.netns, 5201)) > acked && later.v4.in > now.v4.in && later.v6.in > now.v6.in;
      });
      return acked;
    };
    const stillRunning = (when: string): void => {
      assert.equal(pinger.child.exitCode, null, `the IPv4 ping ended ${when}:\n${pinger.output()}`);
      assert.equal(pinger6.child.exitCode, null, `the IPv6 ping ended ${when}:\n${pinger6.output()}`);
      assert.equal(stream.child.exitCode, null, `the TCP stream ended ${when}:\n${stream.output()}`);
    };
    await flowing();
    const restarts: [string, 'SIGTERM' | 'SIGKILL'][] = [
      ['h1', 'SIGTERM'],
      ['h2', 'SIGKILL'],
      ['h1', 'SIGKILL'],
      ['h2', 'SIGTERM'],
    ];
    for (const [hostName, signal] of restarts) {
      const oldPid = lab.state.hosts.find((h) => h.name === hostName)!.agentPid;
      // Returns after the new agent's first full pass: it listed, read every namespace back and diffed.
      const host = await restartAgent(lab.state, hostName, signal);
      assert.notEqual(host.agentPid, oldPid);
      const health = await agentHealth(host);
      assert.ok(health && health.synced && (health.fullPasses ?? 0) >= 1, `no full pass reported: ${JSON.stringify(health)}`);
      assert.equal(health.lastPassFailures, 0, `the pass of ${hostName}'s new agent had failures:\n${tail(host.log)}`);
      stillRunning(`before ${hostName}'s agent (${signal}) completed its first full pass`);
    }
    // The stream still moves data after the last restart (not merely a process waiting on a dead socket).
    await flowing();
    stillRunning('after the restarts');
    pinger.child.kill('SIGINT');
    pinger6.child.kill('SIGINT');
    await pinger.exit;
    await pinger6.exit;
    const v4 = pingCounts(pinger.output());
    const v6 = pingCounts(pinger6.output());
    // That they ran across the restarts is stillRunning's to say, not a count that depends on timing.
    assert.ok(v4.sent > 0 && v6.sent > 0, JSON.stringify({ v4, v6 }));
    // Zero loss: every echo request c1 sent was answered, the last one possibly after ping stopped counting.
    let after = await echoCounters(c1.netns);
    const lost = (): { v4: number; v6: number } => ({
      v4: after.v4.out - before.v4.out - (after.v4.in - before.v4.in),
      v6: after.v6.out - before.v6.out - (after.v6.in - before.v6.in),
    });
    await waitUntil(
      'the replies in flight',
      async () => {
        after = await echoCounters(c1.netns);
        return lost().v4 === 0 && lost().v6 === 0;
      },
      3000,
    ).catch(() => undefined);
    assert.deepEqual(lost(), { v4: 0, v6: 0 }, `echo requests without a reply (ping: ${JSON.stringify({ v4, v6 })})`);
    assert.ok(after.v4.out - before.v4.out >= v4.sent && after.v6.out - before.v6.out >= v6.sent);
    stream.child.kill('SIGKILL');
    server.child.kill('SIGKILL');
    await stream.exit;
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
      for (const [name, index] of before.containers[i])
        assert.equal(after.containers[i].get(name), index, `container ${name} was recreated`);
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
