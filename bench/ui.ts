/**
 * The web console in headless Debian chromium against a real controller (docs/ui.md, "Benchmark"):
 *
 *   node dist/bench/ui.js [--endpoints 2000] [--groups 50] [--runs 3]
 *
 * One tenant with N endpoints spread over 8 networks and 2 hosts, and G groups (label grp=i) with a
 * policy per group; reports the first render of the topology (login done, from the click on
 * Topology to the graph drawn and laid out), the first render of the policy matrix of G groups (from
 * the click to the cells on screen), and how long after the API answered a create the new endpoint is
 * in the drawn graph (live update). Median of --runs, written to bench/results/ui.json.
 * Targets (issue 16): first renders <= 2 s; a live update visible <= 500 ms after the watch event.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startController } from '../test/helpers/controller';
import { launchBrowser, loggedIn } from '../test/ui/browser';
import type { TenetObject } from '../src/core/model/object';

const V = 'tenet.dev/v1';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const endpoints = option('endpoints', 2000);
  const groups = option('groups', 50);
  const runs = option('runs', 3);
  const controller = await startController();
  const browser = await launchBrowser();
  try {
    const c = controller.client;
    await c.create({ apiVersion: V, kind: 'Tenant', metadata: { name: 'big' }, spec: {} } as TenetObject);
    for (let n = 0; n < 8; n++)
      await c.create({
        apiVersion: V,
        kind: 'Network',
        metadata: { tenant: 'big', name: `net-${n}` },
        spec: { subnets: [{ cidr: `10.${100 + n}.0.0/20` }] },
      } as TenetObject);
    const intent: unknown[] = [];
    for (let g = 0; g < groups; g++) {
      intent.push({
        apiVersion: V,
        kind: 'Group',
        metadata: { tenant: 'big', name: `g-${g}` },
        spec: { selector: { matchLabels: { grp: String(g) } } },
      });
      intent.push({
        apiVersion: V,
        kind: 'Policy',
        metadata: { tenant: 'big', name: `p-${g}` },
        spec: {
          appliesTo: { group: `g-${g}` },
          ingress: [{ action: 'allow', from: [{ group: `g-${(g + 1) % groups}` }], ports: [{ protocol: 'TCP', port: 8000 + (g % 5) }] }],
        },
      });
    }
    await c.apply(intent);
    const ids = Array.from({ length: endpoints }, (_, i) => i);
    for (let i = 0; i < ids.length; i += 64) {
      await Promise.all(
        ids.slice(i, i + 64).map((n) =>
          c.create({
            apiVersion: V,
            kind: 'Endpoint',
            metadata: { tenant: 'big', name: `ep-${n}`, labels: { grp: String(n % groups), app: `app-${n}` } },
            spec: { network: `net-${n % 8}`, host: `h${n % 2}` },
          } as TenetObject),
        ),
      );
    }
    const topology: number[] = [];
    const matrix: number[] = [];
    const live: number[] = [];
    for (let run = 0; run < runs; run++) {
      const page = await loggedIn(browser, controller.url, controller.adminToken);
      let start = Date.now();
      await page.click('header nav a:has-text("Topology")');
      await page.waitForFunction(() => Number((globalThis as any).document.querySelector('.graph')?.dataset.drawn ?? 0) > 0, undefined, {
        timeout: 60_000,
      });
      topology.push(Date.now() - start);

      // The new endpoint lands in a collapsed network of ~N/8: visible as that group's count going up.
      const name = `live-${run}`;
      const before = (await c.list('Endpoint', { tenant: 'big' })).items.filter(
        (e) => (e.spec as { network: string }).network === 'net-0',
      ).length;
      await c.create({
        apiVersion: V,
        kind: 'Endpoint',
        metadata: { tenant: 'big', name, labels: { grp: '0' } },
        spec: { network: 'net-0' },
      } as TenetObject);
      start = Date.now();
      await page.waitForFunction(
        (count) => ((globalThis as any).tenetTopology.label('net:big/net-0') ?? '').endsWith(`(${count})`),
        before + 1,
        { timeout: 10_000, polling: 10 },
      );
      live.push(Date.now() - start);

      start = Date.now();
      await page.click('header nav a:has-text("Policy matrix")');
      await page.waitForSelector(`table.matrix td.cell[data-from="g-0"][data-to="g-${groups - 1}"]`, { timeout: 60_000 });
      matrix.push(Date.now() - start);
      await page.context().close();
    }
    const result = {
      at: new Date().toISOString(),
      endpoints,
      groups,
      runs,
      topologyFirstRenderMs: { median: median(topology), all: topology },
      matrixFirstRenderMs: { median: median(matrix), all: matrix },
      liveUpdateAfterApiAnswerMs: { median: median(live), all: live },
      loadAverage: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    };
    const out = path.join(__dirname, '..', '..', 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'ui.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await browser.close();
    await controller.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
