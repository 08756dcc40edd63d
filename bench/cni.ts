/**
 * ADD and DEL latency of tenet-cni (native shim -> agent -> attach API) against the reference
 * bridge + host-local plugins, driven the same way (spawn, env + stdin, wait for exit) from the same
 * process, alternating run by run, on the same machine in the same run. Writes bench/results/cni.json.
 *
 *   node dist/bench/cni.js [--runs 200]
 *
 * The driver re-executes itself inside a fresh network namespace (`ip netns exec`) so the bridge the
 * reference plugin creates never touches the machine's own namespace; tenet-cni reaches its agent (in
 * another namespace) through the agent's unix socket, as it would on a real host.
 *
 * Every ADD gets a namespace of its own, made before the run (as runtimes make one per container):
 * reusing one namespace at once would measure the wait for the previous container's interface, which
 * the kernel deletes 20-40 ms after DEL (tenet-cni's DEL answers before that; the reference's after).
 */
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { AttachClient } from '../src/attach/client';
import { createNetwork, startAgentHost } from '../test/cni/agent-host';
import { nativeShim, ROOT } from '../test/cni/shim-helpers';

const run = promisify(execFile);

interface InnerConfig {
  runs: number;
  agentSocket: string;
  warmup: number;
  shim: string;
  tenetConf: string;
  referenceConf: string;
  /** One namespace per run and side (warm-up included), in run order. */
  tenetNetns: string[];
  referenceNetns: string[];
  directNetns: string[];
}

function once(executable: string, env: Record<string, string>, stdin: string): Promise<{ ms: number; code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(executable, [], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code: code ?? -1, stdout }));
    child.stdin.end(stdin);
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[index] * 100) / 100;
}

async function inner(config: InnerConfig): Promise<void> {
  const sides = {
    tenet: { exe: config.shim, conf: config.tenetConf, netns: config.tenetNetns, add: [] as number[], del: [] as number[] },
    reference: {
      exe: '/usr/lib/cni/bridge',
      conf: config.referenceConf,
      netns: config.referenceNetns,
      add: [] as number[],
      del: [] as number[],
    },
  };
  // The attach API called directly (no process, no CNI layer): what tenet-cni adds on top of the agent.
  const direct = { add: [] as number[], del: [] as number[] };
  const client = new AttachClient(config.agentSocket);
  const total = config.warmup + config.runs;
  for (let i = 0; i < total; i++) {
    let t = process.hrtime.bigint();
    await client.attach({
      containerId: `bench-direct-${i}`,
      netns: config.directNetns[i],
      ifName: 'eth0',
      tenant: 'bench',
      network: 'web',
    });
    const addMs = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    await client.detach({ containerId: `bench-direct-${i}`, ifName: 'eth0', netns: config.directNetns[i] });
    const delMs = Number(process.hrtime.bigint() - t) / 1e6;
    if (i >= config.warmup) {
      direct.add.push(addMs);
      direct.del.push(delMs);
    }
    // Alternate which side goes first so drift and caches hit both alike.
    const order = i % 2 === 0 ? (['tenet', 'reference'] as const) : (['reference', 'tenet'] as const);
    for (const name of order) {
      const side = sides[name];
      const env = { CNI_CONTAINERID: `bench-${name}-${i}`, CNI_NETNS: side.netns[i], CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
      const add = await once(side.exe, { ...env, CNI_COMMAND: 'ADD' }, side.conf);
      if (add.code !== 0) throw new Error(`${name} ADD failed: ${add.stdout}`);
      const del = await once(side.exe, { ...env, CNI_COMMAND: 'DEL' }, side.conf);
      if (del.code !== 0) throw new Error(`${name} DEL failed: ${del.stdout}`);
      if (i >= config.warmup) {
        side.add.push(add.ms);
        side.del.push(del.ms);
      }
    }
  }
  const summary = (values: number[]) => ({
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    mean: Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100,
  });
  const tenet = { add: summary(sides.tenet.add), del: summary(sides.tenet.del) };
  const reference = { add: summary(sides.reference.add), del: summary(sides.reference.del) };
  client.close();
  process.stdout.write(
    JSON.stringify({
      tenet,
      reference,
      attachApiDirect: { add: summary(direct.add), del: summary(direct.del) },
      ratio: {
        addP50: Math.round((tenet.add.p50 / reference.add.p50) * 100) / 100,
        delP50: Math.round((tenet.del.p50 / reference.del.p50) * 100) / 100,
      },
      targetMet: tenet.add.p50 <= reference.add.p50,
    }),
  );
}

async function outer(runs: number): Promise<void> {
  const tag = crypto.randomBytes(3).toString('hex');
  const host = await startAgentHost();
  const refNs = `${host.prefix}ref`;
  const dataDir = path.join(host.dir, 'host-local');
  try {
    await createNetwork(host.controller, 'bench', 'web', '10.98.0.0/16');
    await run('ip', ['netns', 'add', refNs]);
    await run('ip', ['-n', refNs, 'link', 'set', 'lo', 'up']);
    // Made before the driver starts: it runs in a copy of the mount namespace, where namespaces it
    // made itself would be invisible to the agent.
    const total = 10 + runs;
    const pool = (side: string) => Array.from({ length: total }, (_, i) => `${host.prefix}${side}${i}`);
    const pools = { tenet: pool('ct'), reference: pool('cr'), direct: pool('cd') };
    const lines = [...pools.tenet, ...pools.reference, ...pools.direct].map((name) => `netns add ${name}\n`).join('');
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['-batch', '-'], (error) => (error ? reject(error) : resolve()));
      child.stdin?.end(lines);
    });
    const paths = (names: string[]) => names.map((name) => `/run/netns/${name}`);
    const config: InnerConfig = {
      runs,
      agentSocket: host.socket,
      warmup: 10,
      shim: nativeShim(),
      tenetConf: JSON.stringify({
        cniVersion: '1.0.0',
        name: 'bench-tenet',
        type: 'tenet',
        tenant: 'bench',
        network: 'web',
        agentSocket: host.socket,
      }),
      referenceConf: JSON.stringify({
        cniVersion: '1.0.0',
        name: 'bench-ref',
        type: 'bridge',
        bridge: `tbr${tag}`,
        isGateway: true,
        ipam: { type: 'host-local', subnet: '10.99.0.0/16', dataDir },
      }),
      tenetNetns: paths(pools.tenet),
      referenceNetns: paths(pools.reference),
      directNetns: paths(pools.direct),
    };
    const { stdout } = await run('ip', ['netns', 'exec', refNs, process.execPath, __filename, '--inner', JSON.stringify(config)], {
      maxBuffer: 1 << 20,
      timeout: 30 * 60_000,
    });
    const measured = JSON.parse(stdout) as Record<string, unknown>;
    const result = {
      benchmark: 'cni',
      generatedAt: new Date().toISOString(),
      runs,
      method:
        'spawn the plugin with env + stdin and wait for its exit; ADD then DEL per run, each run in a namespace of its own made beforehand; tenet and reference alternate; 10 warm-up runs each; milliseconds. attachApiDirect: the agent attach API over its socket without tenet-cni, in the same loop',
      tenetPath: 'native/tenet-cni -> agent /v1/cni -> attach API (controller over a unix socket)',
      referencePath: '/usr/lib/cni/bridge + host-local (isGateway)',
      ...measured,
    };
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'cni.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await host.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--inner') {
  inner(JSON.parse(args[1]) as InnerConfig).catch((error: Error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
} else {
  const runsIndex = args.indexOf('--runs');
  const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 200;
  outer(runs).catch((error: Error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
}
