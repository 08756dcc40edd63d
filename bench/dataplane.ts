/**
 * Data-plane benchmark on a 2-host lab (run as root: `node dist/bench/dataplane.js`):
 *  (a) attach latency over the agent socket (controller call included), p50/p99 of 200 containers;
 *  (b) iperf3 throughput between containers on different hosts through Tenet vs the same kernel path built
 *      by hand (veth + host routes + VXLAN, no Tenet), alternated in one run (the order flips every round so a
 *      drift in the machine's load favours neither), client and server pinned to different cores and the first
 *      second (slow start) omitted, as a ratio of medians; once as the tenant stands (no policy: no hooks, no
 *      connection tracking) and once with a policy that allows everything (hooks and tracking: the price of
 *      stateful filtering);
 *  (c) time until a new endpoint on another host answers a ping from an existing container;
 *  (d) flow recording (docs/observability.md) on vs off, with the policy in place: throughput and the rate of
 *      short TCP connections (the expensive case for conntrack events), alternated (the agents restarted with
 *      --flow-records 0 or the default; `off` also turns the namespaces' conntrack accounting and timestamps
 *      back off, which the reader turns on), BENCH_FLOW_ROUNDS rounds (default 8), the order flipping every
 *      round; reported as ratios of medians on/off and as the median of each round's on/off ratio (the two
 *      measurements of a round are back to back, so a drift in the machine's load cancels out), with the
 *      load average at each round, the agents', readers' and controller's CPU per connection, and how many connections
 *      were made vs recorded (records the agents made, events throttled or lost, records the controller
 *      took); both router namespaces' conntrack tables are flushed between modes.
 * Writes bench/results/dataplane.json and prints it. BENCH_ONLY=flows runs only (d) (with the policy in
 * place) and writes bench/results/dataplane-flows.json.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AttachClient } from '../src/attach/client';
import { API_VERSION } from '../src/core/model/common';
import { run } from '../src/kernel/exec';
import { addNetns, delNetns, ipBatch, listNetns } from '../src/kernel/ip';
import { labClient, labDown, labRun, labUp, startAgent, stopAgent } from '../src/lab/lab';
import { spawn } from 'node:child_process';
import { saveLab, type LabState } from '../src/lab/state';
import { tenantNamespaceName } from '../src/core/dataplane/names';
import { DEFAULT_RING } from '../src/agent/flows/recorder';

const ATTACHES = Number(process.env.BENCH_ATTACHES ?? 200);
const IPERF_SECONDS = Number(process.env.BENCH_IPERF_SECONDS ?? 3);
const IPERF_ROUNDS = Number(process.env.BENCH_IPERF_ROUNDS ?? 9);
const REACH_SAMPLES = Number(process.env.BENCH_REACH_SAMPLES ?? 10);
const FLOW_ROUNDS = Number(process.env.BENCH_FLOW_ROUNDS ?? 8);
const ONLY_FLOWS = process.env.BENCH_ONLY === 'flows';
const CONNECT_SECONDS = Number(process.env.BENCH_CONNECT_SECONDS ?? 3);

/** A TCP server that closes every connection at once, and a client that opens them one after the other. */
const CONNECT_SERVER = `require('node:net').createServer((s) => s.end()).listen(Number(process.argv[1]));`;
const CONNECT_CLIENT = `
const net = require('node:net');
const [address, port, seconds] = process.argv.slice(1);
const end = Date.now() + Number(seconds) * 1000;
let done = 0, tried = 0;
(function next() {
  if (Date.now() >= end) { process.stdout.write(done + ' ' + tried); return; }
  tried++;
  const s = net.connect(Number(port), address, () => { done++; s.destroy(); next(); });
  s.on('error', () => next());
})();
`;

/**
 * Short connections from client to server (namespaces), sequential, over CONNECT_SECONDS: per second, and
 * how many were made (connected) and tried (each a conntrack entry).
 */
async function connectRate(client: string, server: string, address: string): Promise<{ rate: number; made: number; tried: number }> {
  const port = String(7000 + crypto.randomInt(500));
  const listener = spawn('ip', ['netns', 'exec', server, process.execPath, '-e', CONNECT_SERVER, port], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 400));
    const result = await run(
      'ip',
      ['netns', 'exec', client, process.execPath, '-e', CONNECT_CLIENT, address, port, String(CONNECT_SECONDS)],
      {
        timeoutMs: (CONNECT_SECONDS + 20) * 1000,
      },
    );
    const [made, tried] = result.stdout.trim().split(' ').map(Number);
    return { rate: made / CONNECT_SECONDS, made, tried };
  } finally {
    listener.kill('SIGKILL');
  }
}

/** The agents' and their flow readers' pids (tenet-flowd in the tenant's router namespaces). */
async function recordingPids(state: LabState, tenant: string): Promise<{ agents: number[]; readers: number[] }> {
  const agents = state.hosts.map((h) => h.agentPid!).filter(Boolean);
  const pids: number[] = [];
  for (const host of state.hosts) {
    const readers = await run('ip', ['netns', 'pids', tenantNamespaceName(host.netnsPrefix, tenant)], { allowFailure: true });
    for (const pid of readers.stdout.split('\n').filter(Boolean)) {
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'tenet-flowd') pids.push(Number(pid));
      } catch {
        // gone meanwhile
      }
    }
  }
  return { agents, readers: pids };
}

/** What an agent's recorder counted so far (its /metrics on the attach socket): records made, events throttled and lost. */
async function agentFlowCounts(socket: string): Promise<{ recorded: number; throttled: number; lost: number; evicted: number }> {
  const text = await new Promise<string>((resolve, reject) => {
    const request = http.get({ socketPath: socket, path: '/metrics', timeout: 10000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('metrics: timeout')));
  });
  const value = (pattern: RegExp): number => {
    let total = 0;
    for (const match of text.matchAll(pattern)) total += Number(match[1]);
    return total;
  };
  return {
    recorded: value(/^tenet_agent_flow_records_total (\S+)$/gm),
    throttled: value(/^tenet_agent_flow_events_throttled_total (\S+)$/gm),
    lost: value(/^tenet_agent_flow_events_lost_total\{source="conntrack"\} (\S+)$/gm),
    evicted: value(/^tenet_agent_flow_records_evicted_total (\S+)$/gm),
  };
}

/** The number of the controller's newest flow record (its records taken so far). */
async function controllerFlowSeq(state: LabState): Promise<number> {
  const answer = (await labClient(state).request('GET', '/api/v1/flows?tenant=bench&limit=1')) as { seq: number };
  return answer.seq;
}

/** CPU seconds (user + system, or user only) the processes used so far; a process gone counts 0. */
function cpuSeconds(pids: number[], userOnly = false): number {
  const ticks = 100; // USER_HZ
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(fields[11]) + (userOnly ? 0 : Number(fields[12]))) / ticks;
    } catch {
      // gone
    }
  }
  return total;
}

/** Restarts the agents with flow recording on or off and waits until the router namespaces read (or do not read) flows. */
async function setFlowRecording(state: LabState, tenant: string, on: boolean): Promise<void> {
  for (const host of state.hosts) await stopAgent(host);
  process.env.TENET_FLOW_RECORDS = on ? String(DEFAULT_RING) : '0';
  for (const host of state.hosts) await startAgent(state, host);
  saveLab(state);
  for (const host of state.hosts) {
    const netns = tenantNamespaceName(host.netnsPrefix, tenant);
    if (!on) {
      for (const sysctl of ['net.netfilter.nf_conntrack_acct=0', 'net.netfilter.nf_conntrack_timestamp=0'])
        await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', sysctl]);
    }
    const deadline = Date.now() + 20000;
    for (;;) {
      const readers = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
      const reading = readers.stdout
        .split('\n')
        .filter(Boolean)
        .some((pid) => {
          try {
            return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'tenet-flowd';
          } catch {
            return false;
          }
        });
      if (reading === on) break;
      if (Date.now() > deadline) throw new Error(`${netns}: flow reader ${on ? 'not started' : 'still running'} after 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const median = (values: number[]): number => percentile(values, 50);
const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

async function attachLatency(state: LabState): Promise<{ samples: number; p50Ms: number; p99Ms: number; meanMs: number }> {
  const clients = state.hosts.map((h) => new AttachClient(h.socket));
  const times: number[] = [];
  const made: string[] = [];
  try {
    for (let i = 0; i < ATTACHES; i++) {
      const netns = `tl-${state.name}-a${i}`;
      await addNetns(netns);
      made.push(netns);
      const started = process.hrtime.bigint();
      await clients[i % clients.length].attach({
        containerId: `bench-${i}`,
        netns: `/run/netns/${netns}`,
        ifName: 'eth0',
        tenant: 'bench',
        network: 'many',
      });
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    for (let i = 0; i < made.length; i++) await clients[i % clients.length].detach({ containerId: `bench-${i}`, ifName: 'eth0' });
  } finally {
    await Promise.all(made.map((n) => delNetns(n).catch(() => undefined)));
    clients.forEach((c) => c.close());
  }
  return {
    samples: times.length,
    p50Ms: round(median(times)),
    p99Ms: round(percentile(times, 99)),
    meanMs: round(times.reduce((a, b) => a + b, 0) / times.length),
  };
}

/** The Tenet data path by hand: two host namespaces on a bridge, router namespaces, veths, host routes, VXLAN. */
async function buildManualPath(prefix: string): Promise<{ client: string; server: string; serverIP: string }> {
  const ns = (s: string) => `${prefix}${s}`;
  for (const n of ['fab', 'h1', 'h2', 'r1', 'r2', 'c1', 'c2']) await addNetns(ns(n));
  await ipBatch(['link add br0 type bridge', 'link set br0 up'], { netns: ns('fab') });
  for (const i of [1, 2]) {
    await ipBatch([`link add p${i} type veth peer name eth0 netns ${ns(`h${i}`)}`, `link set p${i} master br0 up`], { netns: ns('fab') });
    await ipBatch(
      [
        'link set lo up',
        `addr add 192.168.99.${i}/24 dev eth0`,
        'link set eth0 up',
        `link add vx type vxlan id 77 local 192.168.99.${i} dstport 4789 nolearning`,
        `link set vx netns ${ns(`r${i}`)}`,
      ],
      { netns: ns(`h${i}`) },
    );
    await run('ip', ['netns', 'exec', ns(`r${i}`), 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.proxy_arp=1']);
    const other = 3 - i;
    await ipBatch(
      [
        'link set lo up',
        'addr add 10.77.0.1/32 dev lo',
        `link add v type veth peer name eth0 netns /run/netns/${ns(`c${i}`)}`,
        `link set v address 02:77:00:00:01:0${i} mtu 1450 up`,
        `link set vx address 02:77:00:00:00:0${i} mtu 1450 up`,
        `route add 10.77.0.1${i}/32 dev v`,
        `neigh replace 10.77.0.1${i} lladdr 02:77:00:00:02:0${i} dev v nud permanent`,
        `route add 10.77.0.1${other}/32 dev vx`,
        `neigh replace 10.77.0.1${other} lladdr 02:77:00:00:00:0${other} dev vx nud permanent`,
      ],
      { netns: ns(`r${i}`) },
    );
    await run('bridge', [
      '-n',
      ns(`r${i}`),
      'fdb',
      'append',
      `02:77:00:00:00:0${other}`,
      'dev',
      'vx',
      'dst',
      `192.168.99.${other}`,
      'self',
      'permanent',
    ]);
    await ipBatch(
      [
        'link set lo up',
        `link set eth0 address 02:77:00:00:02:0${i} mtu 1450 up`,
        `addr add 10.77.0.1${i}/24 dev eth0`,
        'route add default via 10.77.0.1 dev eth0',
      ],
      { netns: ns(`c${i}`) },
    );
  }
  return { client: ns('c1'), server: ns('c2'), serverIP: '10.77.0.12' };
}

async function iperf(client: string, server: string, address: string): Promise<number> {
  const port = String(5300 + crypto.randomInt(500));
  // Pinned: on two cores an unpinned client and server sometimes share one, which alone moves a run by ±10 %.
  const child = run('ip', ['netns', 'exec', server, 'taskset', '-c', '1', 'iperf3', '-s', '-1', '-p', port], {
    allowFailure: true,
    timeoutMs: (IPERF_SECONDS + 16) * 1000,
  });
  await new Promise((r) => setTimeout(r, 300));
  const result = await run(
    'ip',
    ['netns', 'exec', client, 'taskset', '-c', '0', 'iperf3', '-J', '-O', '1', '-c', address, '-p', port, '-t', String(IPERF_SECONDS)],
    {
      timeoutMs: (IPERF_SECONDS + 16) * 1000,
    },
  );
  await child;
  const json = JSON.parse(result.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return json.end.sum_received.bits_per_second / 1e9;
}

/** Until every host's router namespace of `tenant` has its forward hooks (the agents programmed a restriction). */
async function waitHooked(state: LabState, tenant: string): Promise<void> {
  const deadline = Date.now() + 10000;
  for (const host of state.hosts) {
    const netns = tenantNamespaceName(host.netnsPrefix, tenant);
    for (;;) {
      const chains = await run('ip', ['netns', 'exec', netns, 'nft', 'list', 'table', 'inet', 'tenet'], { allowFailure: true });
      if (chains.stdout.includes('hook forward')) break;
      if (Date.now() > deadline) throw new Error(`${netns}: no forward hooks after 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function reachability(state: LabState, from: { netns: string }): Promise<{ samples: number; p50Ms: number; p99Ms: number }> {
  const times: number[] = [];
  const client = new AttachClient(state.hosts[1].socket);
  try {
    for (let i = 0; i < REACH_SAMPLES; i++) {
      const netns = `tl-${state.name}-r${i}`;
      await addNetns(netns);
      try {
        const started = process.hrtime.bigint();
        const result = await client.attach({
          containerId: `reach-${i}`,
          netns: `/run/netns/${netns}`,
          ifName: 'eth0',
          tenant: 'bench',
          network: 'many',
        });
        const address = result.addresses[0].address.split('/')[0];
        for (;;) {
          const ping = await run('ip', ['netns', 'exec', from.netns, 'ping', '-c1', '-W0.05', '-q', address], { allowFailure: true });
          if (ping.code === 0) break;
          if (Number(process.hrtime.bigint() - started) / 1e6 > 10000) throw new Error(`endpoint ${address} not reachable after 10 s`);
        }
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        await client.detach({ containerId: `reach-${i}`, ifName: 'eth0' });
      } finally {
        await delNetns(netns).catch(() => undefined);
      }
    }
  } finally {
    client.close();
  }
  return { samples: times.length, p50Ms: round(median(times)), p99Ms: round(percentile(times, 99)) };
}

/**
 * How much of one `on` connection test was recorded. Each connection is tracked in both hosts' router
 * namespaces, and each namespace makes two records of it (flow-start, flow-end): 4 records per connection
 * (and per connection tried: a refused one is a conntrack entry too). Counted once the readers and the
 * pushes had time to deliver (at most 15 s): records the agents made, events they throttled or lost, and
 * records the controller took. A connection counts as fully recorded as far as the records allow:
 * floor(records / 4).
 */
async function recordedOf(
  state: LabState,
  before: Awaited<ReturnType<typeof agentFlowCounts>>[],
  seqBefore: number,
  made: number,
  tried: number,
) {
  const expected = tried * 2 * state.hosts.length;
  let after = before;
  let seq = seqBefore;
  const deadline = Date.now() + 15000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await Promise.all(state.hosts.map((h) => agentFlowCounts(h.socket)));
    const nowSeq = await controllerFlowSeq(state);
    const settled = now.every((c, i) => c.recorded === after[i].recorded) && nowSeq === seq;
    after = now;
    seq = nowSeq;
    if (settled || Date.now() > deadline) break;
  }
  const delta = (pick: (c: Awaited<ReturnType<typeof agentFlowCounts>>) => number) =>
    after.reduce((sum, c, i) => sum + pick(c) - pick(before[i]), 0);
  const records = delta((c) => c.recorded);
  const atController = seq - seqBefore;
  return {
    made,
    tried,
    expectedRecords: expected,
    records,
    throttled: delta((c) => c.throttled),
    lost: delta((c) => c.lost),
    evicted: delta((c) => c.evicted),
    atController,
    fullyRecordedByAgents: Math.min(made, Math.floor(records / (2 * state.hosts.length))),
    fullyAtController: Math.min(made, Math.floor(atController / (2 * state.hosts.length))),
  };
}

/** Flow recording on vs off (the policy stays: hooks and tracking in both modes), part (d). */
async function flowRecordingCost(state: LabState, c1: { netns: string }, c2: { netns: string; addresses: string[] }) {
  const flowRuns: Record<'on' | 'off', { gbps: number[]; connectsPerSecond: number[] }> = {
    on: { gbps: [], connectsPerSecond: [] },
    off: { gbps: [], connectsPerSecond: [] },
  };
  const paired: { throughput: number[]; connectRate: number[] } = { throughput: [], connectRate: [] };
  // The agents' and readers' CPU per short connection: what recording costs, measured apart from the machine's load.
  const cpuPerConnectionUs: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const readerCpuPerConnectionUs: number[] = [];
  const controllerCpuPerConnectionUs: number[] = [];
  const agentUserCpuPerConnectionUs: number[] = [];
  const load: string[] = [];
  const recording: Awaited<ReturnType<typeof recordedOf>>[] = [];
  for (let i = 0; i < FLOW_ROUNDS; i++) {
    load.push(
      os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
    );
    for (const mode of i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      await setFlowRecording(state, 'bench', mode === 'on');
      flowRuns[mode].gbps.push(round(await iperf(c1.netns, c2.netns, c2.addresses[0])));
      const { agents, readers } = await recordingPids(state, 'bench');
      const agentsBefore = cpuSeconds(agents);
      const agentsUserBefore = cpuSeconds(agents, true);
      const readersBefore = cpuSeconds(readers);
      // The controller takes every record the agents push (parse, checks, ring): its CPU too.
      const controller = state.controller.pid ? [state.controller.pid] : [];
      const controllerBefore = cpuSeconds(controller);
      const countsBefore = mode === 'on' ? await Promise.all(state.hosts.map((h) => agentFlowCounts(h.socket))) : [];
      const seqBefore = mode === 'on' ? await controllerFlowSeq(state) : 0;
      const { rate, made, tried } = await connectRate(c1.netns, c2.netns, c2.addresses[0]);
      flowRuns[mode].connectsPerSecond.push(round(rate, 1));
      const perConnection = (seconds: number) => round((seconds / made) * 1e6, 1);
      const readersUs = perConnection(cpuSeconds(readers) - readersBefore);
      cpuPerConnectionUs[mode].push(round(perConnection(cpuSeconds(agents) - agentsBefore) + readersUs, 1));
      if (mode === 'on') {
        readerCpuPerConnectionUs.push(readersUs);
        agentUserCpuPerConnectionUs.push(perConnection(cpuSeconds(agents, true) - agentsUserBefore));
        recording.push(await recordedOf(state, countsBefore, seqBefore, made, tried));
        // Until every record arrived (recordedOf waits for that): pushes go on after the test.
        controllerCpuPerConnectionUs.push(perConnection(cpuSeconds(controller) - controllerBefore));
      }
      // The next mode starts from an empty conntrack table: entries of this one's connections (TIME_WAIT,
      // 120 s) would otherwise end during a later round and cost that round's readers their DESTROY.
      for (const host of state.hosts)
        await run('ip', ['netns', 'exec', tenantNamespaceName(host.netnsPrefix, 'bench'), 'conntrack', '-F'], { allowFailure: true });
    }
    paired.throughput.push(round(flowRuns.on.gbps[i] / flowRuns.off.gbps[i], 3));
    paired.connectRate.push(round(flowRuns.on.connectsPerSecond[i] / flowRuns.off.connectsPerSecond[i], 3));
    process.stderr.write(
      `flow round ${i + 1}/${FLOW_ROUNDS} (load ${load[i]}): on ${flowRuns.on.gbps[i]} Gbit/s ${flowRuns.on.connectsPerSecond[i]}/s (agents+readers ${cpuPerConnectionUs.on[i]} µs CPU per connection, readers ${readerCpuPerConnectionUs[i]}, agents in user space ${agentUserCpuPerConnectionUs[i]}, controller until every record arrived ${controllerCpuPerConnectionUs[i]}; recorded ${JSON.stringify(recording[i])}), off ${flowRuns.off.gbps[i]} Gbit/s ${flowRuns.off.connectsPerSecond[i]}/s (${cpuPerConnectionUs.off[i]} µs)\n`,
    );
  }
  return {
    rounds: FLOW_ROUNDS,
    connectSeconds: CONNECT_SECONDS,
    iperfSeconds: IPERF_SECONDS,
    loadAverage: load,
    ...flowRuns,
    pairedThroughputRatios: paired.throughput,
    pairedConnectRateRatios: paired.connectRate,
    throughputRatio: round(median(flowRuns.on.gbps) / median(flowRuns.off.gbps), 3),
    connectRateRatio: round(median(flowRuns.on.connectsPerSecond) / median(flowRuns.off.connectsPerSecond), 3),
    medianPairedThroughputRatio: round(median(paired.throughput), 3),
    medianPairedConnectRateRatio: round(median(paired.connectRate), 3),
    agentAndReaderCpuPerConnectionUs: cpuPerConnectionUs,
    medianAgentAndReaderCpuPerConnectionUs: { on: median(cpuPerConnectionUs.on), off: median(cpuPerConnectionUs.off) },
    readerCpuPerConnectionUs,
    agentUserCpuPerConnectionUs,
    controllerCpuPerConnectionUs,
    medianControllerCpuPerConnectionUs: median(controllerCpuPerConnectionUs),
    recording,
    connectionsMade: recording.reduce((sum, r) => sum + r.made, 0),
    connectionsFullyRecorded: recording.reduce((sum, r) => sum + r.fullyRecordedByAgents, 0),
    connectionsFullyAtController: recording.reduce((sum, r) => sum + r.fullyAtController, 0),
  };
}

async function flowsOnly(state: LabState, c1: { netns: string }, c2: { netns: string; addresses: string[] }): Promise<void> {
  const flowRecording = await flowRecordingCost(state, c1, c2);
  const result = {
    at: new Date().toISOString(),
    hosts: 2,
    flowRecording,
    targets: { flowThroughputRatio: 0.95, flowConnectRateRatio: 0.9 },
    met: {
      flowThroughputRatio: flowRecording.medianPairedThroughputRatio >= 0.95,
      flowConnectRateRatio: flowRecording.medianPairedConnectRateRatio >= 0.9,
    },
  };
  const file = path.join(__dirname, '..', '..', 'bench', 'results', 'dataplane-flows.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/** Allows everything within the tenant: hooks and connection tracking in both router namespaces. */
const openPolicy = {
  apiVersion: API_VERSION,
  kind: 'Policy',
  metadata: { name: 'open', tenant: 'bench' },
  spec: {
    appliesTo: {},
    ingress: [{ action: 'allow', from: [{ cidr: '10.60.0.0/16' }] }],
    egress: [{ action: 'allow', to: [{ cidr: '10.60.0.0/16' }] }],
  },
};

async function main(): Promise<void> {
  const name = `b${crypto.randomBytes(3).toString('hex')}`;
  const manualPrefix = `tl-${name}-m-`;
  const state = await labUp({ name, hosts: 2 });
  try {
    const client = labClient(state);
    await client.apply([
      { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'bench' }, spec: {} },
      {
        apiVersion: API_VERSION,
        kind: 'Network',
        metadata: { name: 'many', tenant: 'bench' },
        spec: { subnets: [{ cidr: '10.60.0.0/16' }] },
      },
    ]);
    const c1 = await labRun(state, 'c1', { host: 'h1', tenant: 'bench', network: 'many' });
    const c2 = await labRun(state, 'c2', { host: 'h2', tenant: 'bench', network: 'many' });
    state.containers.push(c1, c2);
    saveLab(state);
    if (ONLY_FLOWS) {
      await client.apply([openPolicy]);
      await waitHooked(state, 'bench');
      return await flowsOnly(state, c1, c2);
    }

    const attach = await attachLatency(state);
    process.stderr.write(`attach: ${JSON.stringify(attach)}\n`);

    const manual = await buildManualPath(manualPrefix);
    const measureThroughput = async () => {
      const tenetRuns: number[] = [];
      const manualRuns: number[] = [];
      for (let i = 0; i < IPERF_ROUNDS; i++) {
        const runTenet = async () => tenetRuns.push(await iperf(c1.netns, c2.netns, c2.addresses[0]));
        const runManual = async () => manualRuns.push(await iperf(manual.client, manual.server, manual.serverIP));
        if (i % 2 === 0) await runTenet().then(runManual);
        else await runManual().then(runTenet);
      }
      return {
        seconds: IPERF_SECONDS,
        rounds: IPERF_ROUNDS,
        tenetGbps: tenetRuns.map((v) => round(v)),
        manualGbps: manualRuns.map((v) => round(v)),
        tenetMedianGbps: round(median(tenetRuns)),
        manualMedianGbps: round(median(manualRuns)),
        ratio: round(median(tenetRuns) / median(manualRuns), 3),
      };
    };
    // The tenant restricts nothing here, so its namespaces carry no hooks and track no connection (docs/policy.md).
    const throughput = await measureThroughput();
    process.stderr.write(`throughput: ${JSON.stringify(throughput)}\n`);
    // The price of stateful filtering: a policy on c2 makes both namespaces' hooks and connection tracking return.
    await client.apply([openPolicy]);
    await waitHooked(state, 'bench');
    const throughputWithPolicy = await measureThroughput();
    process.stderr.write(`throughput with a policy: ${JSON.stringify(throughputWithPolicy)}\n`);

    const flowRecording = await flowRecordingCost(state, c1, c2);
    process.stderr.write(`flow recording: ${JSON.stringify(flowRecording)}\n`);
    await setFlowRecording(state, 'bench', true);

    const reach = await reachability(state, c1);
    const result = {
      at: new Date().toISOString(),
      hosts: 2,
      attachLatency: attach,
      throughput,
      throughputWithPolicy,
      flowRecording,
      newRemoteEndpointReachable: reach,
      targets: { attachP50Ms: 50, throughputRatio: 0.95, flowThroughputRatio: 0.95, flowConnectRateRatio: 0.9 },
      met: {
        attachP50: attach.p50Ms < 50,
        throughputRatio: throughput.ratio >= 0.95,
        flowThroughputRatio: flowRecording.medianPairedThroughputRatio >= 0.95,
        flowConnectRateRatio: flowRecording.medianPairedConnectRateRatio >= 0.9,
      },
    };
    const file = path.join(__dirname, '..', '..', 'bench', 'results', 'dataplane.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.all(
      listNetns()
        .filter((n) => n.startsWith(manualPrefix))
        .map((n) => delNetns(n).catch(() => undefined)),
    );
    await labDown(name);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
