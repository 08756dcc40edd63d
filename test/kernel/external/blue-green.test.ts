/**
 * Blue-green through a floating IP, with real HTTP from the lab's outside namespace (docs/external.md):
 * a steady load of 2,000 requests (a new connection each) against a floating IP bound to service
 * `blue` while `tenet float move` binds it to service `green`: no request fails, and every request
 * started a second after the move is answered by green. Then the same load while the host's agent is
 * killed with -9 and started again: no request fails.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { restartAgent } from '../../../src/lab/lab';
import type { TenetObject } from '../../../src/core/model/object';

const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'tenet');
const REQUESTS = 2000;
const RATE = 100; // per second

/** A load generator run inside the outside namespace: REQUESTS GETs at RATE/s from the "internet" address, one connection each. */
const LOAD = `
const http = require('http');
const [address, source, count, rate] = process.argv.slice(1);
const results = [];
let started = 0;
const one = () => {
  const t = Date.now();
  const req = http.get({ host: address, port: 80, path: '/', agent: false, timeout: 2000, localAddress: source }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => results.push({ t, ok: res.statusCode === 200, body: body.trim() }));
    res.on('error', (e) => results.push({ t, ok: false, body: e.message }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => results.push({ t, ok: false, body: e.message }));
};
const timer = setInterval(() => {
  one();
  if (++started >= Number(count)) clearInterval(timer);
}, 1000 / Number(rate));
const done = setInterval(() => {
  if (results.length >= Number(count)) {
    clearInterval(done);
    process.stdout.write(JSON.stringify(results));
  }
}, 50);
`;

interface Result {
  t: number;
  ok: boolean;
  body: string;
}

const service = (name: string): TenetObject =>
  ({
    apiVersion: API_VERSION,
    kind: 'Service',
    metadata: { name, tenant: 'shop' },
    spec: { selector: { matchLabels: { app: name } }, ports: [{ protocol: 'TCP', port: 80, targetPort: 8080 }] },
  }) as TenetObject;

test('blue-green: a floating IP moves from service blue to green under load with no failed request; agent kill -9 under load fails none', async (t) => {
  const lab = await startTestLab(t, 1);
  const outside = lab.state.outside!;
  const client = lab.controller.client;
  await client.apply(tenantObjects('shop', [{ name: 'front', cidrs: ['10.50.1.0/24'] }]));
  await client.apply([
    service('blue'),
    service('green'),
    { apiVersion: API_VERSION, kind: 'FloatingIPPool', metadata: { name: 'public' }, spec: { cidrs: ['198.18.200.0/24'] } },
  ]);
  const containers = [];
  for (const [name, app] of [
    ['blue1', 'blue'],
    ['blue2', 'blue'],
    ['green1', 'green'],
    ['green2', 'green'],
  ]) {
    containers.push(await lab.run(name, { host: 'h1', tenant: 'shop', network: 'front', labels: { app } }));
  }
  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  for (const c of containers) {
    const server = `require('http').createServer((q, r) => r.end('${c.labels.app} ${c.name}\\n')).listen(8080)`;
    children.push(spawnGroup('ip', ['netns', 'exec', c.netns, process.execPath, '-e', server], { stdio: 'ignore' }));
  }
  for (const c of containers)
    await waitUntil(`server in ${c.name}`, async () =>
      (await run('ip', ['netns', 'exec', c.netns, 'ss', '-Htln'])).stdout.includes(':8080'),
    );
  await client.apply([
    { apiVersion: API_VERSION, kind: 'FloatingIP', metadata: { name: 'web', tenant: 'shop' }, spec: { target: { service: 'blue' } } },
  ]);
  const address = ((await client.get('FloatingIP', 'web', 'shop')) as { status?: { address?: string } }).status!.address!;

  const load = async (): Promise<Result[]> => {
    const r = await run(
      'ip',
      ['netns', 'exec', outside.netns, process.execPath, '-e', LOAD, address, outside.internetIP, String(REQUESTS), String(RATE)],
      {
        timeoutMs: 120000,
      },
    );
    return JSON.parse(r.stdout) as Result[];
  };
  const once = async (): Promise<string | undefined> => {
    const r = await run(
      'ip',
      ['netns', 'exec', outside.netns, 'curl', '-s', '--max-time', '2', '--interface', outside.internetIP, `http://${address}/`],
      {
        allowFailure: true,
      },
    );
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  await waitUntil('the floating IP answers from blue', async () => (await once())?.startsWith('blue ') ?? false, 30000);

  // Phase 1: the cut-over, a third into the load, through the CLI.
  const running = load();
  await new Promise((r) => setTimeout(r, (REQUESTS / RATE) * 333));
  const env = { ...process.env, TENET_SERVER: lab.controller.url, TENET_TOKEN: lab.controller.adminToken };
  await promisify(execFile)(BIN, ['float', 'move', 'shop/web', '--to', 'service/green'], { env });
  const movedAt = Date.now();
  const results = await running;
  assert.equal(results.length, REQUESTS);
  const failed = results.filter((r) => !r.ok);
  assert.equal(failed.length, 0, `failed requests: ${JSON.stringify(failed.slice(0, 5))}`);
  assert.ok(results.some((r) => r.body.startsWith('blue ')) && results.some((r) => r.body.startsWith('green ')));
  const late = results.filter((r) => r.t > movedAt + 1000);
  assert.ok(late.length > REQUESTS / 3, `${late.length} requests after the move`);
  assert.deepEqual(
    late.filter((r) => !r.body.startsWith('green ')),
    [],
    'every request started a second after the move is answered by green',
  );

  // Phase 2: the agent is killed with -9 and started again under the same load.
  const second = load();
  await new Promise((r) => setTimeout(r, (REQUESTS / RATE) * 250));
  await restartAgent(lab.state, 'h1', 'SIGKILL');
  const again = await second;
  assert.equal(again.length, REQUESTS);
  assert.deepEqual(
    again.filter((r) => !r.ok),
    [],
    'no request failed across the agent kill and restart',
  );
  assert.ok(again.every((r) => r.body.startsWith('green ')));
});
