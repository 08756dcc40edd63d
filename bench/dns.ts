/**
 * Tenant DNS benchmark on a 2-host lab (run as root: `node dist/bench/dns.js`):
 *  (a) how long until a new endpoint (on the other host) resolves from an existing container, counted from
 *      the start of its attach (the Endpoint is created inside it); target ≤ 1 s;
 *  (b) how long until a new Service's name resolves, counted from the Service's create (its VIP is allocated in the same txn)
 *      (what the services work's VIP allocation does); target ≤ 1 s;
 *  (c) answer latency of the tenant resolver from inside a container (UDP query to the gateway, p50/p99 of
 *      2,000 queries, measured inside the container's namespace); target p99 ≤ 2 ms.
 * Writes bench/results/dns.json and prints it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { API_VERSION } from '../src/core/model/common';
import { run } from '../src/kernel/exec';
import { labClient, labDown, labRun, labUp } from '../src/lab/lab';
import { saveLab } from '../src/lab/state';
import { DNS_QUERY_SCRIPT, percentile } from './dns-probe';

const SAMPLES = Number(process.env.BENCH_DNS_SAMPLES ?? 10);
const QUERIES = Number(process.env.BENCH_DNS_QUERIES ?? 2000);

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/**
 * A waiter inside the container, started once (python's start-up must not count): says "ready", then for
 * each name read from stdin loops getaddrinfo until it resolves and prints the wall clock (ms) of success.
 */
const WAIT_SCRIPT = `
import socket, sys, time
print("ready", flush=True)
for line in sys.stdin:
    name = line.strip(); deadline = time.time() + 10; done = False
    while time.time() < deadline and not done:
        try:
            socket.getaddrinfo(name, 80, socket.AF_INET); done = True
        except socket.gaierror:
            time.sleep(0.002)
    print(time.time() * 1000 if done else -1, flush=True)
`;

class Waiter {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private wake?: () => void;

  constructor(netns: string) {
    this.child = spawn('ip', ['netns', 'exec', netns, 'python3', '-c', WAIT_SCRIPT]);
    let buffer = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      buffer += text;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      this.lines.push(...parts);
      this.wake?.();
    });
  }

  private async next(): Promise<string> {
    while (this.lines.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.lines.shift()!;
  }

  async ready(): Promise<void> {
    if ((await this.next()) !== 'ready') throw new Error('waiter did not start');
  }

  /** Wall clock (ms) when `name` first resolved. */
  async resolved(name: string): Promise<number> {
    this.child.stdin.write(`${name}\n`);
    const at = Number(await this.next());
    if (at < 0) throw new Error(`${name} did not resolve within 10 s`);
    return at;
  }

  close(): void {
    this.child.kill();
  }
}

async function main(): Promise<void> {
  const name = `b${crypto.randomBytes(3).toString('hex')}`;
  const state = await labUp({ name, hosts: 2 });
  try {
    const client = labClient(state);
    await client.apply([
      { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'bench' }, spec: {} },
      {
        apiVersion: API_VERSION,
        kind: 'Network',
        metadata: { name: 'net', tenant: 'bench' },
        spec: { subnets: [{ cidr: '10.61.0.0/16' }] },
      },
    ]);
    const c1 = await labRun(state, 'c1', { host: 'h1', tenant: 'bench', network: 'net' });
    state.containers.push(c1);
    saveLab(state);

    const waiter = new Waiter(c1.netns);
    await waiter.ready();
    const endpointMs: number[] = [];
    const serviceMs: number[] = [];
    try {
      for (let i = 0; i < SAMPLES; i++) {
        const started = Date.now();
        const made = await labRun(state, `n${i}`, { host: 'h2', tenant: 'bench', network: 'net' });
        state.containers.push(made);
        endpointMs.push((await waiter.resolved(`${made.endpoint}.net.bench.cluster.local`)) - started);
      }
      saveLab(state);
      for (let i = 0; i < SAMPLES; i++) {
        const svc = `s${i}`;
        const started = Date.now();
        // The controller allocates the Service's VIP in the create's txn: the name resolves once agents see it.
        await client.apply([
          {
            apiVersion: API_VERSION,
            kind: 'Service',
            metadata: { name: svc, tenant: 'bench' },
            spec: { selector: {}, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
          },
        ]);
        serviceMs.push((await waiter.resolved(`${svc}.bench.svc.cluster.local`)) - started);
      }
    } finally {
      waiter.close();
    }

    const { stdout } = await run(
      'ip',
      [
        'netns',
        'exec',
        c1.netns,
        'python3',
        '-c',
        DNS_QUERY_SCRIPT,
        '10.61.0.1',
        `${c1.endpoint}.net.bench.cluster.local`,
        String(QUERIES),
      ],
      { timeoutMs: 60000 },
    );
    const answers = stdout.split('\n').filter(Boolean).map(Number);

    const summary = (values: number[]) => ({
      samples: values.length,
      p50Ms: round(percentile(values, 50)),
      p99Ms: round(percentile(values, 99)),
      maxMs: round(Math.max(...values)),
    });
    const result = {
      at: new Date().toISOString(),
      hosts: 2,
      newRemoteEndpointResolves: summary(endpointMs),
      newServiceResolves: summary(serviceMs),
      answerLatency: summary(answers),
      targets: { resolvesWithinMs: 1000, answerP99Ms: 2 },
      met: {
        endpoint: Math.max(...endpointMs) <= 1000,
        service: Math.max(...serviceMs) <= 1000,
        answerP99: percentile(answers, 99) <= 2,
      },
    };
    const file = path.join(__dirname, '..', '..', 'bench', 'results', 'dns.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    // BENCH_DNS_LOGS=dir keeps the agents' logs (run with TENET_LOG_LEVEL=debug to see each pass's timing).
    const keep = process.env.BENCH_DNS_LOGS;
    if (keep) for (const host of state.hosts) fs.cpSync(host.log, path.join(keep, `${host.name}.log`));
    await labDown(name);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
