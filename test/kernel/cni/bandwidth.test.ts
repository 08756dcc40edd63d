/**
 * tenet-cni's own `bandwidth` capability, with real packets: a container limited to 8 Mbit/s each way
 * gets that through iperf3 in both directions, while an unlimited pair on the same host gets far more;
 * the token buckets sit on the host end (into the container) and the container's end (out of it), and
 * go away with the interface. Invalid limits are a configuration error that attaches nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createNetwork, linksIn, startAgentHost, type AgentHost } from '../../cni/agent-host';
import { nativeShim, runPlugin } from '../../cni/shim-helpers';
import { run } from '../../../src/kernel/exec';
import { endpointNameFor, hostVethName, tenantNamespaceName } from '../../../src/core/dataplane/names';

let host: AgentHost;
let shim: string;
const servers: ChildProcess[] = [];
const LIMIT = 8_000_000;

before(async () => {
  shim = nativeShim();
  host = await startAgentHost();
  await createNetwork(host.controller, 'acme', 'web', '10.44.0.0/24');
});

after(async () => {
  for (const server of servers) if (server.exitCode === null) server.kill('SIGKILL');
  await host?.stop();
});

function conf(runtimeBandwidth?: Record<string, number>): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'tenet-bw',
    type: 'tenet',
    tenant: 'acme',
    network: 'web',
    agentSocket: host.socket,
    ...(runtimeBandwidth ? { runtimeConfig: { bandwidth: runtimeBandwidth } } : {}),
  });
}

async function add(id: string, bandwidth?: Record<string, number>): Promise<{ netns: string; ip: string }> {
  const netns = await host.containerNetns(id);
  const out = await runPlugin(
    shim,
    { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
    conf(bandwidth),
  );
  assert.equal(out.exitCode, 0, out.stdout);
  return { netns, ip: out.json!.ips[0].address.split('/')[0] };
}

/** Bits per second the receiver saw in a 2-second iperf3 run from `client` to `server` (reverse: server sends). */
async function throughput(client: string, server: { netns: string; ip: string }, reverse = false): Promise<number> {
  let child: ChildProcess | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      // A one-shot server (-1); a fresh one whenever the last has ended.
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        child = spawn('nsenter', [`--net=${server.netns}`, 'iperf3', '-s', '-1', '-p', '5299'], { stdio: 'ignore' });
        servers.push(child);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const result = await run(
        'nsenter',
        [`--net=${client}`, 'iperf3', '-c', server.ip, '-p', '5299', '-t', '2', '-J', ...(reverse ? ['-R'] : [])],
        { allowFailure: true, timeoutMs: 20000 },
      );
      let received: number | undefined;
      try {
        received = (JSON.parse(result.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received
          ?.bits_per_second;
      } catch {
        received = undefined;
      }
      if (result.code === 0 && received !== undefined) return received;
      if (attempt >= 20) throw new Error(`iperf3 failed: ${result.stdout.slice(0, 600)} ${result.stderr.slice(0, 300)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  }
}

test('the bandwidth capability limits a container both ways; an unlimited pair is not limited', async () => {
  const limited = await add('bwa', { ingressRate: LIMIT, ingressBurst: 64_000, egressRate: LIMIT, egressBurst: 64_000 });
  const peer = await add('bwb');
  const free = await add('bwc');

  // Where the buckets are: host end (router namespace) and the container's eth0.
  const router = `/run/netns/${tenantNamespaceName(host.prefix, 'acme')}`;
  const hostEnd = hostVethName('acme', endpointNameFor('bwa', 'eth0'));
  const { stdout: hostQdisc } = await run('nsenter', [`--net=${router}`, 'tc', 'qdisc', 'show', 'dev', hostEnd]);
  assert.match(hostQdisc, /tbf .*rate 8Mbit/);
  const { stdout: containerQdisc } = await run('nsenter', [`--net=${limited.netns}`, 'tc', 'qdisc', 'show', 'dev', 'eth0']);
  assert.match(containerQdisc, /tbf .*rate 8Mbit/);

  const out = await throughput(limited.netns, peer);
  const into = await throughput(limited.netns, peer, true);
  const unlimited = await throughput(free.netns, peer);
  process.stdout.write(
    `bandwidth: limited out ${Math.round(out / 1e6)} Mbit/s, in ${Math.round(into / 1e6)} Mbit/s; unlimited ${Math.round(unlimited / 1e6)} Mbit/s\n`,
  );
  assert.ok(out > 0 && out < 2 * LIMIT, `egress held near ${LIMIT}: ${out}`);
  assert.ok(into > 0 && into < 2 * LIMIT, `ingress held near ${LIMIT}: ${into}`);
  assert.ok(unlimited > 10 * LIMIT, `the unlimited pair is not limited: ${unlimited}`);

  for (const id of ['bwa', 'bwb', 'bwc']) {
    const del = await runPlugin(
      shim,
      { CNI_COMMAND: 'DEL', CNI_CONTAINERID: id, CNI_NETNS: '', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
      conf(),
    );
    assert.equal(del.exitCode, 0, del.stdout);
  }
  assert.deepEqual(await linksIn(limited.netns), ['lo']);
});

test('invalid limits are a configuration error (7) and attach nothing', async () => {
  const netns = await host.containerNetns('bwbad');
  const invalid: Record<string, number>[] = [
    { ingressRate: LIMIT },
    { egressRate: -1, egressBurst: 64_000 },
    { ingressRate: LIMIT, ingressBurst: 100 },
    { ingressRate: 1.5, ingressBurst: 64_000 },
  ];
  for (const bandwidth of invalid) {
    const out = await runPlugin(
      shim,
      { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'bwbad', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
      conf(bandwidth),
    );
    assert.equal(out.exitCode, 1, out.stdout);
    assert.equal(out.json?.code, 7, out.stdout);
    assert.match(out.json?.details ?? '', /bandwidth/);
  }
  assert.deepEqual(await linksIn(netns), ['lo']);
  const endpoints = await host.controller.client.list<{ spec: { containerId?: string } }>('Endpoint', { tenant: 'acme' });
  assert.equal(endpoints.items.filter((e) => e.spec.containerId === 'bwbad').length, 0);
});
