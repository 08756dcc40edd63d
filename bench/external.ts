/**
 * North-south benchmark on a 2-host lab (run as root: `node dist/bench/external.js`), side by side in one run:
 *  - throughput (iperf3, BENCH_EXT_SECONDS each) and TCP connect latency (p50/p99 of BENCH_EXT_CONNECTS
 *    connections) of: outside → container through a floating IP; container → outside through egress
 *    NAT; and the same pair routed without NAT (a container of a routed network on the same host:
 *    outside → its own address, and its connections out untranslated). The NAT and routed runs
 *    alternate back to back, BENCH_EXT_ROUNDS rounds, each with the load average at the time;
 *  - routed withdrawal: from an opt-out (the apply) until the upstream router's BIRD no longer has the
 *    routed container's /32 (target ≤ 1 s), BENCH_EXT_MOVES times (opting in again between);
 *  - cut-over time from a move (the apply) until new connections land on the new target, with BGP
 *    (target p99 ≤ 1 s) and on layer 2 (target p99 ≤ 200 ms), BENCH_EXT_MOVES moves each, alternating
 *    between an endpoint on h1 and one on h2.
 * Writes bench/results/external.json and prints it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { API_VERSION } from '../src/core/model/common';
import { run } from '../src/kernel/exec';
import { labClient, labDown, labRun, labUp } from '../src/lab/lab';
import { outsideRoutes } from '../src/lab/outside';
import { saveLab } from '../src/lab/state';

const SECONDS = Number(process.env.BENCH_EXT_SECONDS ?? 3);
const CONNECTS = Number(process.env.BENCH_EXT_CONNECTS ?? 500);
const MOVES = Number(process.env.BENCH_EXT_MOVES ?? 6);
const ROUNDS = Number(process.env.BENCH_EXT_ROUNDS ?? 5);
/** Opt-outs timed for the routed withdrawal (0 skips it, as BENCH_EXT_ROUNDS=0 skips throughput and connects). */
const WITHDRAWALS = Number(process.env.BENCH_EXT_WITHDRAWALS ?? MOVES);
const median = (values: number[]): number => percentile(values, 50);
const loadAverage = (): string => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const round = (n: number, digits = 2): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

/** A TCP server that writes its name and closes (for connect latency and cut-over). */
const SERVER = `require('net').createServer((s) => { s.on('error', () => {}); s.end(process.argv[1] + '\\n'); }).listen(Number(process.argv[2]), process.argv[3] || '0.0.0.0')`;
/** COUNT sequential connections; prints each connect time in ms. */
const CONNECT = `
const net = require('net');
const [host, port, count, local] = process.argv.slice(1);
const out = [];
const one = (i) => {
  if (i >= Number(count)) return process.stdout.write(out.join('\\n'));
  const t = process.hrtime.bigint();
  const s = net.connect({ host, port: Number(port), ...(local ? { localAddress: local } : {}) }, () => {
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
    s.destroy();
    setImmediate(() => one(i + 1));
  });
  s.on('error', () => setImmediate(() => one(i + 1)));
};
one(0);
`;
/** Connects every 5 ms and prints "<epoch ms> <who answered>" per connection, until killed. */
const POLL = `
const net = require('net');
const [host, port, local] = process.argv.slice(1);
setInterval(() => {
  const t = Date.now();
  const s = net.connect({ host, port: Number(port), localAddress: local, timeout: 500 });
  let b = '';
  s.on('data', (d) => (b += d));
  s.on('end', () => process.stdout.write(t + ' ' + b.trim() + '\\n'));
  s.on('timeout', () => s.destroy());
  s.on('error', () => {});
}, 5);
`;

/**
 * Throughput, and the CPU the sending and receiving iperf3 used per Gbit/s: the forwarding through
 * the namespaces (veth hops, conntrack, NAT) runs in softirq on the sender's and receiver's CPU, so
 * CPU per Gbit/s is a path's cost that a busy neighbour on the shared machine disturbs less than the
 * wall-clock rate.
 */
async function iperf(clientNs: string, server: string, bind?: string): Promise<{ gbps: number; cpuPerGbps: number }> {
  const args = ['netns', 'exec', clientNs, 'iperf3', '-J', '-c', server, '-t', String(SECONDS), ...(bind ? ['-B', bind] : [])];
  const result = JSON.parse((await run('ip', args, { timeoutMs: (SECONDS + 20) * 1000 })).stdout) as {
    end: { sum_received: { bits_per_second: number }; cpu_utilization_percent: { host_total: number; remote_total: number } };
  };
  const gbps = result.end.sum_received.bits_per_second / 1e9;
  const cpu = result.end.cpu_utilization_percent;
  return { gbps: round(gbps, 3), cpuPerGbps: round((cpu.host_total + cpu.remote_total) / gbps, 2) };
}

async function connects(clientNs: string, host: string, port: number, local?: string): Promise<{ p50Ms: number; p99Ms: number }> {
  const args = [
    'netns',
    'exec',
    clientNs,
    process.execPath,
    '-e',
    CONNECT,
    host,
    String(port),
    String(CONNECTS),
    ...(local ? [local] : []),
  ];
  const values = (await run('ip', args, { timeoutMs: 120000 })).stdout.split('\n').filter(Boolean).map(Number);
  return { p50Ms: round(percentile(values, 50), 3), p99Ms: round(percentile(values, 99), 3) };
}

interface AgentLine {
  msg?: string;
  at?: number;
  answering?: string[];
  stopped?: string[];
  addresses?: string[];
  seenAt?: number;
  startedAt?: number;
  ms?: Record<string, number>;
  stages?: Record<string, number>;
  changed?: boolean;
}

/**
 * Where a layer-2 cut-over's time goes, each stage in ms after the move's apply started: the apply
 * answered; the new host's agent saw the change and started its pass; it armed the proxy entry (the
 * DNAT slots and route were set earlier in the same pass); the outside captured its gratuitous ARP and
 * its neighbour entry changed; the old host's agent saw the change and stopped answering; the first
 * new connection landed on the new endpoint.
 */
function layer2Stages(
  address: string,
  movedAt: number,
  appliedAt: number,
  landed: number | undefined,
  wire: readonly { t: number; line: string }[],
  newHost: readonly AgentLine[],
  oldHost: readonly AgentLine[],
): Record<string, number | undefined> {
  const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - movedAt);
  const armed = newHost.find((l) => l.msg === 'layer-2 floating IPs' && (l.at ?? 0) >= movedAt && l.answering?.includes(address));
  const announced = newHost.find((l) => l.msg === 'gratuitous ARP' && (l.at ?? 0) >= movedAt && l.addresses?.includes(address));
  const stopped = oldHost.find((l) => l.msg === 'layer-2 floating IPs' && (l.at ?? 0) >= movedAt && l.stopped?.includes(address));
  const pass = (lines: readonly AgentLine[], until: number | undefined): AgentLine | undefined =>
    lines.find((l) => l.msg === 'reconciled' && (l.startedAt ?? 0) >= movedAt && (until === undefined || (l.startedAt ?? 0) <= until));
  const newPass = pass(newHost, armed?.at);
  const oldPass = pass(oldHost, stopped?.at);
  const after = wire.filter((w) => w.t >= movedAt);
  const garp = after.find((w) =>
    new RegExp(`who-has ${address.replace(/\./g, '\\.')} (\\([0-9a-f:]+\\) )?tell ${address.replace(/\./g, '\\.')},`).test(w.line),
  );
  const neigh = after.find((w) => w.line.startsWith(`${address} dev`) && /lladdr/.test(w.line));
  const requests = after.filter(
    (w) => w.t <= (landed ?? Infinity) && w.line.includes(`who-has ${address} tell `) && !w.line.includes(`tell ${address}`),
  );
  return {
    applied: rel(appliedAt),
    newSeen: rel(newPass?.seenAt),
    newPassStart: rel(newPass?.startedAt),
    newArmed: rel(armed?.at),
    newAnnounced: rel(announced?.at),
    garpOnWire: rel(garp?.t),
    outsideNeighUpdated: rel(neigh?.t),
    oldSeen: rel(oldPass?.seenAt),
    oldStopped: rel(stopped?.at),
    outsideArpRequests: requests.length,
    landed: rel(landed),
    ...Object.fromEntries(Object.entries(armed?.stages ?? {}).map(([k, v]) => [`egressMs.${k}`, v])),
    ...Object.fromEntries(Object.entries(newPass?.ms ?? {}).map(([k, v]) => [`newPassMs.${k}`, v])),
  };
}

function stageSummary(moves: readonly Record<string, number | undefined>[], p: number): Record<string, number> {
  const keys = [...new Set(moves.flatMap((m) => Object.keys(m)))];
  return Object.fromEntries(
    keys.map((k) => [
      k,
      percentile(
        moves.map((m) => m[k]).filter((v): v is number => v !== undefined),
        p,
      ),
    ]),
  );
}

async function main(): Promise<void> {
  const name = `bx${crypto.randomBytes(3).toString('hex')}`;
  const state = await labUp({ name, hosts: 2 });
  const children: ChildProcess[] = [];
  const start = (netns: string, args: string[]): void => {
    children.push(spawn('ip', ['netns', 'exec', netns, ...args], { stdio: 'ignore', detached: true }));
  };
  try {
    const outside = state.outside!;
    const [h1, h2] = state.hosts;
    const client = labClient(state);
    await client.apply([
      { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'shop' }, spec: { egress: { mode: 'nat' } } },
      {
        apiVersion: API_VERSION,
        kind: 'Network',
        metadata: { name: 'front', tenant: 'shop' },
        spec: { subnets: [{ cidr: '10.70.1.0/24' }] },
      },
      // The baseline: the same pair of paths routed without NAT (docs/external.md, "Routed networks").
      { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'direct' }, spec: { routed: {} } },
      {
        apiVersion: API_VERSION,
        kind: 'Network',
        metadata: { name: 'front', tenant: 'direct' },
        spec: { subnets: [{ cidr: '10.71.1.0/24' }] },
      },
      { apiVersion: API_VERSION, kind: 'FloatingIPPool', metadata: { name: 'public' }, spec: { cidrs: ['198.18.50.0/24'] } },
      {
        apiVersion: API_VERSION,
        kind: 'FloatingIPPool',
        metadata: { name: 'lan' },
        spec: { cidrs: ['192.168.250.200/29'], advertise: 'l2' },
      },
    ]);
    const c1 = await labRun(state, 'c1', { host: 'h1', tenant: 'shop', network: 'front' });
    const c2 = await labRun(state, 'c2', { host: 'h2', tenant: 'shop', network: 'front' });
    // On h1 like c1: the two paths cross the same hosts and namespaces, and differ by NAT alone.
    const routedAddress = '10.71.1.10';
    const r1 = await labRun(state, 'r1', { host: 'h1', tenant: 'direct', network: 'front', ips: [routedAddress] });
    state.containers.push(c1, c2, r1);
    saveLab(state);
    const fip = (fipName: string, pool: string, endpoint: string): unknown => ({
      apiVersion: API_VERSION,
      kind: 'FloatingIP',
      metadata: { name: fipName, tenant: 'shop' },
      spec: { pool, target: { endpoint } },
    });
    await client.apply([fip('bgp', 'public', c1.endpoint!), fip('l2', 'lan', c1.endpoint!)]);
    const addressOf = async (n: string): Promise<string> =>
      ((await client.get('FloatingIP', n, 'shop')) as { status?: { address?: string } }).status!.address!;
    const bgpAddress = await addressOf('bgp');
    const l2Address = await addressOf('l2');

    for (const c of [c1, c2, r1]) start(c.netns, [process.execPath, '-e', SERVER, c.name, '8080']);
    start(c1.netns, ['iperf3', '-s']);
    start(r1.netns, ['iperf3', '-s']);
    start(outside.netns, ['iperf3', '-s', '-B', outside.internetIP]);
    start(outside.netns, [process.execPath, '-e', SERVER, 'outside', '8080', outside.internetIP]);
    // Until the floating IP and the routed address answer (BGP session up, routes learned).
    for (const [address, who] of [
      [bgpAddress, 'c1'],
      [routedAddress, 'r1'],
    ]) {
      for (let i = 0; i < 300; i++) {
        const r = await run('ip', ['netns', 'exec', outside.netns, 'curl', '-s', '--max-time', '1', `telnet://${address}:8080`], {
          allowFailure: true,
          input: '',
        });
        if (r.stdout.includes(who)) break;
        await new Promise((r2) => setTimeout(r2, 100));
      }
    }

    // NAT and routed alternate back to back (the machine is shared: a run's neighbour is its comparison).
    const rounds: {
      loadAverage: string;
      throughputGbps: { floatingIp: number; routedIn: number; egressNat: number; routedOut: number };
      cpuPercentPerGbps: { floatingIp: number; routedIn: number; egressNat: number; routedOut: number };
      connect: Record<'floatingIp' | 'routedIn' | 'egressNat' | 'routedOut', { p50Ms: number; p99Ms: number }>;
    }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const load = loadAverage();
      // Which of a pair goes first alternates too.
      const pair = async <T>(a: () => Promise<T>, b: () => Promise<T>): Promise<[T, T]> => {
        if (i % 2 === 0) {
          const x = await a();
          return [x, await b()];
        }
        const y = await b();
        return [await a(), y];
      };
      const [fipRun, routedInRun] = await pair(
        () => iperf(outside.netns, bgpAddress, outside.internetIP),
        () => iperf(outside.netns, routedAddress, outside.internetIP),
      );
      const [egressRun, routedOutRun] = await pair(
        () => iperf(c1.netns, outside.internetIP),
        () => iperf(r1.netns, outside.internetIP),
      );
      const [floatingIpConnect, routedInConnect] = await pair(
        () => connects(outside.netns, bgpAddress, 8080, outside.internetIP),
        () => connects(outside.netns, routedAddress, 8080, outside.internetIP),
      );
      const [egressNatConnect, routedOutConnect] = await pair(
        () => connects(c1.netns, outside.internetIP, 8080),
        () => connects(r1.netns, outside.internetIP, 8080),
      );
      rounds.push({
        loadAverage: load,
        throughputGbps: { floatingIp: fipRun.gbps, routedIn: routedInRun.gbps, egressNat: egressRun.gbps, routedOut: routedOutRun.gbps },
        cpuPercentPerGbps: {
          floatingIp: fipRun.cpuPerGbps,
          routedIn: routedInRun.cpuPerGbps,
          egressNat: egressRun.cpuPerGbps,
          routedOut: routedOutRun.cpuPerGbps,
        },
        connect: { floatingIp: floatingIpConnect, routedIn: routedInConnect, egressNat: egressNatConnect, routedOut: routedOutConnect },
      });
      process.stderr.write(
        `round ${i + 1}/${ROUNDS} (load ${load}): ${JSON.stringify(rounds[i].throughputGbps)} cpu%/Gbps ${JSON.stringify(rounds[i].cpuPercentPerGbps)}\n`,
      );
    }
    // BENCH_EXT_PERF=1: a system-wide perf profile during one more egress NAT and routed-out run each,
    // with the share of the samples in netfilter's NAT, conntrack, nftables and checksum code.
    const profiles: Record<string, Record<string, number>> = {};
    if (process.env.BENCH_EXT_PERF === '1') {
      for (const [label, ns] of [
        ['egressNat', c1.netns],
        ['routedOut', r1.netns],
      ] as const) {
        const data = `/tmp/bench-ext-perf-${name}-${label}.data`;
        const perf = run('perf', ['record', '-a', '-F', '999', '-o', data, '--', 'sleep', String(SECONDS)], {
          timeoutMs: 60000,
          allowFailure: true,
        });
        await iperf(ns, outside.internetIP);
        await perf;
        const report = (
          await run('perf', ['report', '-i', data, '--no-children', '--sort', 'symbol', '--stdio'], {
            timeoutMs: 120000,
            allowFailure: true,
          })
        ).stdout;
        const share: Record<string, number> = { nat: 0, conntrack: 0, nft: 0, csum: 0, veth: 0 };
        for (const line of report.split('\n')) {
          const m = /^\s+([0-9.]+)%\s+\[k\]\s+(\S+)/.exec(line);
          if (!m) continue;
          const [pct, sym] = [Number(m[1]), m[2]];
          if (/nat|masq/.test(sym)) share.nat += pct;
          else if (/conntrack|nf_ct_/.test(sym)) share.conntrack += pct;
          else if (/^nft_|nf_tables/.test(sym)) share.nft += pct;
          else if (/csum|checksum/.test(sym)) share.csum += pct;
          else if (/veth/.test(sym)) share.veth += pct;
        }
        profiles[label] = Object.fromEntries(Object.entries(share).map(([k, v]) => [k, round(v, 2)]));
        fs.rmSync(data, { force: true });
        process.stderr.write(`perf ${label}: ${JSON.stringify(profiles[label])}\n`);
      }
    }
    const medianOf = (pick: (r: (typeof rounds)[number]) => number): number => round(median(rounds.map(pick)), 3);
    const throughput = {
      floatingIpGbps: medianOf((r) => r.throughputGbps.floatingIp),
      routedInGbps: medianOf((r) => r.throughputGbps.routedIn),
      egressNatGbps: medianOf((r) => r.throughputGbps.egressNat),
      routedOutGbps: medianOf((r) => r.throughputGbps.routedOut),
    };
    const cpuPercentPerGbps = {
      floatingIp: medianOf((r) => r.cpuPercentPerGbps.floatingIp),
      routedIn: medianOf((r) => r.cpuPercentPerGbps.routedIn),
      egressNat: medianOf((r) => r.cpuPercentPerGbps.egressNat),
      routedOut: medianOf((r) => r.cpuPercentPerGbps.routedOut),
    };
    const connect = Object.fromEntries(
      (['floatingIp', 'routedIn', 'egressNat', 'routedOut'] as const).map((k) => [
        k,
        { p50Ms: medianOf((r) => r.connect[k].p50Ms), p99Ms: medianOf((r) => r.connect[k].p99Ms) },
      ]),
    );
    // Each round's own ratio: a NAT run against the routed run beside it.
    const ratioPerRound = rounds.map((r) => ({
      floatingIpVsRoutedIn: round(r.throughputGbps.floatingIp / r.throughputGbps.routedIn, 3),
      egressNatVsRoutedOut: round(r.throughputGbps.egressNat / r.throughputGbps.routedOut, 3),
    }));
    const ratios = {
      floatingIpVsRoutedIn: round(median(ratioPerRound.map((r) => r.floatingIpVsRoutedIn)), 3),
      egressNatVsRoutedOut: round(median(ratioPerRound.map((r) => r.egressNatVsRoutedOut)), 3),
    };

    const cutover = async (fipName: string, pool: string, address: string): Promise<number[]> => {
      const times: number[] = [];
      const poller = spawn('ip', ['netns', 'exec', outside.netns, process.execPath, '-e', POLL, address, '8080', outside.internetIP], {
        detached: true,
      });
      children.push(poller);
      const answers: { t: number; who: string }[] = [];
      let buffer = '';
      poller.stdout.setEncoding('utf8');
      poller.stdout.on('data', (text: string) => {
        buffer += text;
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) {
          const [t, who] = line.split(' ');
          answers.push({ t: Number(t), who });
        }
      });
      // Layer 2: the outside's view of the ARP traffic and of its neighbour entry, stamped as they arrive.
      const wire: { t: number; line: string }[] = [];
      if (fipName === 'l2') {
        for (const args of [
          ['tcpdump', '-tt', '-n', '-e', '-l', '-i', 'eth0', 'arp'],
          ['ip', 'monitor', 'neigh'],
        ]) {
          const watcher = spawn('ip', ['netns', 'exec', outside.netns, ...args], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
          children.push(watcher);
          let rest = '';
          watcher.stdout.setEncoding('utf8');
          watcher.stdout.on('data', (text: string) => {
            const lines = (rest + text).split('\n');
            rest = lines.pop()!;
            for (const line of lines) {
              // tcpdump's own capture time (-tt, epoch seconds) where it has one.
              const stamp = /^(\d+\.\d+) /.exec(line);
              wire.push({ t: stamp ? Math.round(Number(stamp[1]) * 1000) : Date.now(), line });
            }
          });
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      let current = c1;
      for (let i = 0; i < MOVES; i++) {
        const next = current === c1 ? c2 : c1;
        await new Promise((r) => setTimeout(r, 1500));
        const movedAt = Date.now();
        await client.apply([fip(fipName, pool, next.endpoint!)]);
        const appliedAt = Date.now();
        const deadline = Date.now() + 10000;
        let landed: number | undefined;
        while (landed === undefined && Date.now() < deadline) {
          landed = answers.find((a) => a.t >= movedAt && a.who === next.name)?.t;
          if (landed === undefined) await new Promise((r) => setTimeout(r, 20));
        }
        times.push(landed === undefined ? 10000 : landed - movedAt);
        if (fipName === 'l2') {
          await new Promise((r) => setTimeout(r, 300));
          l2Stages.push(
            layer2Stages(
              address,
              movedAt,
              appliedAt,
              landed,
              wire,
              hostLogs(next.host === h1.name ? h1 : h2),
              hostLogs(next.host === h1.name ? h2 : h1),
            ),
          );
          if (i === 0) process.stderr.write(`wire: ${JSON.stringify(wire.slice(-6))}\n`);
          process.stderr.write(`l2 move ${i + 1}: ${JSON.stringify(l2Stages[l2Stages.length - 1])}\n`);
        }
        current = next;
      }
      process.kill(-poller.pid!, 'SIGKILL');
      return times;
    };
    const l2Stages: Record<string, number | undefined>[] = [];
    const hostLogs = (host: { log: string }): AgentLine[] =>
      fs
        .readFileSync(host.log, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as AgentLine);
    const bgpMoves = await cutover('bgp', 'public', bgpAddress);
    const l2Moves = await cutover('l2', 'lan', l2Address);

    // Routed withdrawal: opt-out until the upstream's BIRD lost the route, then opt in again.
    const directTenant = (routed: boolean): unknown => ({
      apiVersion: API_VERSION,
      kind: 'Tenant',
      metadata: { name: 'direct' },
      spec: routed ? { routed: {} } : {},
    });
    const learned = async (): Promise<boolean> => /via /.test(await outsideRoutes(outside, `${routedAddress}/32`));
    const until = async (want: boolean): Promise<number | undefined> => {
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline) {
        if ((await learned()) === want) return Date.now();
        await new Promise((r) => setTimeout(r, 10));
      }
      return undefined;
    };
    const withdrawals: number[] = [];
    for (let i = 0; i < WITHDRAWALS; i++) {
      await until(true);
      const at = Date.now();
      await client.apply([directTenant(false)]);
      const gone = await until(false);
      withdrawals.push(gone === undefined ? 10000 : gone - at);
      await client.apply([directTenant(true)]);
    }
    const summary = (values: number[]) => ({
      moves: values.length,
      p50Ms: percentile(values, 50),
      p99Ms: percentile(values, 99),
      samplesMs: values,
    });

    const result = {
      at: new Date().toISOString(),
      hosts: 2,
      rounds: ROUNDS,
      seconds: SECONDS,
      connects: CONNECTS,
      throughput,
      cpuPercentPerGbps,
      perfSharePercent: profiles,
      connect,
      ratios,
      ratioPerRound,
      runs: rounds,
      cutover: { bgp: summary(bgpMoves), l2: summary(l2Moves) },
      l2Stages: { perMove: l2Stages, p50: stageSummary(l2Stages, 50), max: stageSummary(l2Stages, 100) },
      routedWithdrawal: summary(withdrawals),
      targets: { throughputRatio: 0.95, bgpCutoverP99Ms: 1000, l2CutoverP99Ms: 200, routedWithdrawalP99Ms: 1000 },
      met: {
        floatingIpThroughput: ratios.floatingIpVsRoutedIn >= 0.95,
        egressThroughput: ratios.egressNatVsRoutedOut >= 0.95,
        bgpCutover: percentile(bgpMoves, 99) <= 1000,
        routedWithdrawal: percentile(withdrawals, 99) <= 1000,
        l2Cutover: percentile(l2Moves, 99) <= 200,
      },
      note: 'medians over the rounds; ratios are per round (each NAT run against the routed run beside it), then the median',
      loadAverageAtEnd: loadAverage(),
      hostsUsed: [h1.name, h2.name],
    };
    const file = path.join(__dirname, '..', '..', 'bench', 'results', 'external.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const child of children) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await labDown(name);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
