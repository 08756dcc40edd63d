/**
 * Fairness between tenants: the read latency one tenant sees while another applies a huge batch.
 *
 *   node dist/bench/noisy-neighbour.js [--objects 10000] [--kind Group|Policy|Scope] [--interval-ms 20] [--store sqlite|etcd|etcd://...]
 *                               [--url URL --data-dir DIR: use a controller already running there]
 *
 * Starts `tenet controller` (SQLite in a temp dir unless --store is given), makes tenants `noisy` and
 * `quiet`, a tenant-admin token for `noisy` and a viewer token for `quiet`. The quiet viewer GETs one of
 * its objects every --interval-ms (one request in flight at a time) before, during and after noisy's
 * tenant-admin applies --objects objects in one request. Reports p50/p99/max of quiet's GET during the
 * apply (the target is p99 <= 200 ms), the apply's own duration and the controller's
 * RSS, as JSON printed and written to bench/results/noisy-neighbour.json. Then a viewer of `noisy` opens
 * --watches (default 64, the viewer limit; one more than the limit shows the 429) label-selected
 * watches and the controller's RSS growth per watch is reported.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startController } from '../test/helpers/controller';
import { mintToken, send } from '../test/helpers/http';
import { startEtcd } from '../test/helpers/etcd';

interface Options {
  objects: number;
  kind: string;
  intervalMs: number;
  store: string;
  /** A controller already running (e.g. under --cpu-prof) and its data dir (for admin.token), instead of starting one. */
  url?: string;
  dataDir?: string;
  /** Label-selected watches a viewer of `noisy` opens after the apply (the controller's RSS is reported before and after). */
  watches: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { objects: 10_000, kind: 'Group', intervalMs: 20, store: 'sqlite', watches: 64 };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--objects') options.objects = Number(value);
    else if (argv[i] === '--kind') options.kind = value;
    else if (argv[i] === '--interval-ms') options.intervalMs = Number(value);
    else if (argv[i] === '--store') options.store = value;
    else if (argv[i] === '--url') options.url = value;
    else if (argv[i] === '--data-dir') options.dataDir = value;
    else if (argv[i] === '--watches') options.watches = Number(value);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return options;
}

const V = 'tenet.dev/v1';

function objectFor(kind: string, i: number): Record<string, unknown> {
  const metadata = { name: `${kind.toLowerCase()}-${i}`, tenant: 'noisy', labels: { app: `app-${i % 97}`, tier: `t${i % 7}` } };
  switch (kind) {
    case 'Group':
      return { apiVersion: V, kind, metadata, spec: { selector: { matchLabels: { app: `app-${i % 97}` } } } };
    case 'Scope':
      return { apiVersion: V, kind, metadata, spec: {} };
    case 'Policy':
      return {
        apiVersion: V,
        kind,
        metadata,
        spec: {
          appliesTo: { selector: { matchLabels: { app: `app-${i % 97}` } } },
          ingress: [
            {
              action: 'allow',
              from: [{ selector: { matchLabels: { tier: `t${i % 7}` } } }],
              ports: [{ protocol: 'TCP', port: 1000 + (i % 5000) }],
            },
          ],
        },
      };
    default:
      throw new Error(`--kind must be Group, Scope or Policy (got ${kind})`);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (n: number) => Math.round(n * 10) / 10;

function summary(samples: number[]): { count: number; p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

function rssOf(pid: number): { rssMB: number; peakRssMB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMB: Math.round(kb('VmRSS') / 102.4) / 10, peakRssMB: Math.round(kb('VmHWM') / 102.4) / 10 };
}

async function measure(options: Options): Promise<Record<string, unknown>> {
  const controller = options.url
    ? {
        url: options.url,
        pid: 0,
        adminToken: fs.readFileSync(path.join(options.dataDir ?? '.', 'admin.token'), 'utf8').trim(),
        stop: async () => undefined,
      }
    : await startController({ extraArgs: options.store === 'sqlite' ? [] : ['--store', options.store] });
  try {
    const base = controller.url;
    const admin = controller.adminToken;
    for (const tenant of ['noisy', 'quiet']) {
      const answer = await send(base, 'POST', '/api/v1/tenants', {
        token: admin,
        body: { apiVersion: V, kind: 'Tenant', metadata: { name: tenant }, spec: {} },
      });
      if (answer.status !== 201) throw new Error(answer.text);
    }
    const made = await send(base, 'POST', '/api/v1/tenants/quiet/groups', {
      token: admin,
      body: {
        apiVersion: V,
        kind: 'Group',
        metadata: { name: 'web', tenant: 'quiet' },
        spec: { selector: { matchLabels: { app: 'web' } } },
      },
    });
    if (made.status !== 201) throw new Error(made.text);
    const noisy = (await mintToken(base, admin, { role: 'tenant-admin', tenant: 'noisy' })).token;
    const quiet = (await mintToken(base, admin, { role: 'viewer', tenant: 'quiet' })).token;

    const state: { phase: 'before' | 'during' | 'after' | 'done' } = { phase: 'before' };
    const samples: Record<'before' | 'during' | 'after', number[]> = { before: [], during: [], after: [] };
    const reader = (async () => {
      while (state.phase !== 'done') {
        const at = state.phase as 'before' | 'during' | 'after';
        const t0 = process.hrtime.bigint();
        const answer = await send(base, 'GET', '/api/v1/tenants/quiet/groups/web', { token: quiet });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (answer.status !== 200) throw new Error(`quiet read answered ${answer.status}: ${answer.text}`);
        samples[at].push(ms);
        await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const objects = Array.from({ length: options.objects }, (_, i) => objectFor(options.kind, i));
    state.phase = 'during';
    const t0 = process.hrtime.bigint();
    const applied = await send(base, 'POST', '/api/v1/apply', { token: noisy, body: { objects } });
    const applyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (applied.status !== 200) throw new Error(`apply answered ${applied.status}: ${applied.text.slice(0, 500)}`);
    state.phase = 'after';
    await new Promise((resolve) => setTimeout(resolve, 1000));
    state.phase = 'done';
    await reader;
    const watchMemory = controller.pid ? await selectedWatches(base, admin, options.watches, controller.pid) : undefined;
    return {
      benchmark: 'noisy-neighbour',
      store: options.store,
      objects: options.objects,
      kind: options.kind,
      applyMs: round(applyMs),
      quietGetMs: { before: summary(samples.before), during: summary(samples.during), after: summary(samples.after) },
      targetP99Ms: 200,
      metTarget: summary(samples.during).p99 <= 200,
      controller: controller.pid ? rssOf(controller.pid) : undefined,
      selectedWatches: watchMemory,
      loadAverage1m: Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
      node: process.version,
      at: new Date().toISOString(),
    };
  } finally {
    await controller.stop();
  }
}

/**
 * Opens `count` label-selected watches (app=app-1: ~1% of the tenant) with one viewer token of the
 * noisy tenant and reports the controller's RSS before and after: each watch should cost its
 * selected keys, not a copy of the tenant (issue 10: 1,300 of them once took 3.3 GB).
 */
async function selectedWatches(base: string, admin: string, count: number, pid: number): Promise<Record<string, unknown>> {
  const viewer = (await mintToken(base, admin, { role: 'viewer', tenant: 'noisy' })).token;
  const url = new URL(base);
  const before = rssOf(pid).rssMB;
  const requests: http.ClientRequest[] = [];
  const statuses: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const request = http.request(
            {
              host: url.hostname,
              port: url.port,
              path: '/api/v1/tenants/noisy/groups?watch=1&labelSelector=app%3Dapp-1',
              headers: { authorization: `Bearer ${viewer}` },
              agent: false,
            },
            (response) => {
              response.resume();
              resolve(response.statusCode ?? 0);
            },
          );
          request.on('error', reject);
          request.end();
          requests.push(request);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = rssOf(pid).rssMB;
    return {
      opened: statuses.filter((s) => s === 200).length,
      refused429: statuses.filter((s) => s === 429).length,
      rssBeforeMB: before,
      rssAfterMB: after,
      perWatchKB: Math.round(((after - before) * 1024) / Math.max(1, count)),
    };
  } finally {
    for (const request of requests) request.destroy();
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  let result: Record<string, unknown>;
  if (options.store === 'etcd') {
    // `--store etcd`: a fresh 3-member etcd on loopback for this run.
    const cluster = await startEtcd({ size: 3 });
    try {
      result = { ...(await measure({ ...options, store: cluster.spec })), store: 'etcd (3 members on loopback)' };
    } finally {
      await cluster.stop();
    }
  } else {
    result = await measure(options);
  }
  const suffix = `${options.kind === 'Group' ? '' : `-${options.kind.toLowerCase()}`}${options.store === 'sqlite' ? '' : '-etcd'}`;
  const out = path.join(__dirname, '..', '..', 'bench', 'results', `noisy-neighbour${suffix}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
