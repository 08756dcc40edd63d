/**
 * Endpoint creation throughput of a real controller process through the REST API.
 *
 *   node dist/bench/controller-endpoints.js [--store sqlite|etcd://h:p,...] [--endpoints 20000] [--networks 40] [--concurrency 32]
 *
 * Starts `tenet controller` (SQLite in a temp dir by default; any --store spec is passed through),
 * creates one tenant, N networks and the endpoints with fixed concurrency, then reports
 * endpoints/s, p50/p99 latency and the controller's RSS (current and peak) as JSON, printed and
 * written to bench/results/controller-endpoints.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startController } from '../test/helpers/controller';
import { startEtcd } from '../test/helpers/etcd';
import type { TenetObject } from '../src/core/model/object';
import type { Endpoint } from '../src/core/model/kinds/endpoint';

interface Options {
  store: string;
  endpoints: number;
  networks: number;
  concurrency: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { store: 'sqlite', endpoints: 20_000, networks: 40, concurrency: 32 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--store':
        options.store = value;
        i++;
        break;
      case '--endpoints':
        options.endpoints = Number(value);
        i++;
        break;
      case '--networks':
        options.networks = Number(value);
        i++;
        break;
      case '--concurrency':
        options.concurrency = Number(value);
        i++;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return options;
}

function rssOf(pid: number): { rssMB: number; peakRssMB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMB: Math.round(kb('VmRSS') / 102.4) / 10, peakRssMB: Math.round(kb('VmHWM') / 102.4) / 10 };
}

/** CPU seconds (user + system) the process has used: a measure that a busy shared machine does not distort much. */
function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function loadAverage(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(options: Options): Promise<Record<string, unknown>> {
  const extraArgs = options.store === 'sqlite' ? [] : ['--store', options.store];
  const controller = await startController({ extraArgs });
  try {
    const c = controller.client;
    await c.create({ apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: 'bench' }, spec: {} });
    for (let n = 0; n < options.networks; n++) {
      // A /19 per network (8,190 addresses) holds its share of 20,000 endpoints with room to spare.
      await c.create({
        apiVersion: 'tenet.dev/v1',
        kind: 'Network',
        metadata: { name: `net-${n}`, tenant: 'bench' },
        spec: { subnets: [{ cidr: `10.${64 + Math.floor(n / 8)}.${(n % 8) * 32}.0/19` }, { cidr: `fd00:b:${n.toString(16)}::/64` }] },
      } as TenetObject);
    }
    const latencies: number[] = new Array(options.endpoints);
    let next = 0;
    const cpuBefore = cpuSecondsOf(controller.pid);
    const clientCpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const worker = async () => {
      while (next < options.endpoints) {
        const i = next++;
        const t0 = process.hrtime.bigint();
        await c.create({
          apiVersion: 'tenet.dev/v1',
          kind: 'Endpoint',
          metadata: { name: `ep-${i}`, tenant: 'bench', labels: { app: `app-${i % 50}` } },
          spec: { network: `net-${i % options.networks}`, host: `host-${i % 10}` },
        } as TenetObject);
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const controllerCpu = cpuSecondsOf(controller.pid) - cpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const sorted = [...latencies].sort((a, b) => a - b);
    const listed = await c.list<Endpoint>('Endpoint', { tenant: 'bench' });
    const distinct = new Set(listed.items.map((e) => `${e.spec.network}/${(e.status as { ipv4: string }).ipv4}`)).size;
    const result = {
      benchmark: 'controller-endpoints',
      store: options.store,
      endpoints: options.endpoints,
      networks: options.networks,
      concurrency: options.concurrency,
      seconds: Math.round(seconds * 100) / 100,
      endpointsPerSecond: Math.round(options.endpoints / seconds),
      latencyMs: {
        p50: Math.round(percentile(sorted, 50) * 100) / 100,
        p99: Math.round(percentile(sorted, 99) * 100) / 100,
        max: Math.round(sorted[sorted.length - 1] * 100) / 100,
      },
      controller: {
        ...rssOf(controller.pid),
        cpuSeconds: Math.round(controllerCpu * 100) / 100,
        cpuMsPerEndpoint: Math.round((controllerCpu * 1000 * 1000) / options.endpoints) / 1000,
        /** What one fully available core would sustain at this CPU cost per endpoint. */
        endpointsPerCpuSecond: Math.round(options.endpoints / controllerCpu),
      },
      benchClientCpuSeconds: Math.round(((clientCpu.user + clientCpu.system) / 1e6) * 100) / 100,
      loadAverage1m: loadAverage(),
      listedEndpoints: listed.items.length,
      distinctAddresses: distinct,
      node: process.version,
      at: new Date().toISOString(),
    };
    return result;
  } finally {
    await controller.stop();
  }
}

function report(file: string, result: Record<string, unknown>): void {
  const out = path.join(__dirname, '..', '..', 'bench', 'results', file);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.store === 'etcd') {
    // `--store etcd`: SQLite and a fresh 3-member etcd on loopback in the same run, so both figures share the machine's load.
    const sqlite = await measure({ ...options, store: 'sqlite' });
    const cluster = await startEtcd({ size: 3 });
    try {
      const etcd = await measure({ ...options, store: cluster.spec });
      report('controller-endpoints-etcd.json', {
        benchmark: 'controller-endpoints',
        sqlite,
        etcd: { ...etcd, store: 'etcd (3 members on loopback)' },
      });
    } finally {
      await cluster.stop();
    }
    return;
  }
  report('controller-endpoints.json', await measure(options));
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
