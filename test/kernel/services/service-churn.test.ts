/**
 * Service VIPs under change, with real packets on a 2-host lab, while clients keep using them:
 *  - an established TCP stream through a VIP survives unrelated changes (other services created and
 *    deleted, other services' backends churning);
 *  - while a client loops connections and the service scales down, no connection started after a
 *    removal is realized in the client's router namespace lands on the removed backend;
 *  - a service crossing slot classes (src/core/services/compile.ts, slotClass) keeps its established
 *    stream and sends no new connection to a backend whose removal was realized;
 *  - ClientIP affinity keeps a client on its backend within the timeout, forgets it after the timeout
 *    of silence, and never keeps a client on a removed backend;
 *  - agent kill -9 and restart (on the client's host and on the backends' host) while a client loops
 *    through a VIP: no failed connection;
 *  - a hostile tenant reaches no VIP of another tenant.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { restartAgent } from '../../../src/lab/lab';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { run } from '../../../src/kernel/exec';

const NETWORKS = [{ name: 'net', cidrs: ['10.31.0.0/24'] }];
const V = 'tenet.dev/v1';

/** Answers each TCP connection on `port` with `name` and ends it; on `port + 1`, answers every chunk received with `name` (a stream). */
const SERVER = `
const net = require('net');
const [name, port] = [process.argv[1], Number(process.argv[2])];
net.createServer((s) => { s.on('error', () => {}); s.end(name + '\\n'); }).listen({ port, host: '0.0.0.0' });
net.createServer((s) => { s.on('error', () => {}); s.on('data', () => s.write(name + '\\n')); }).listen({ port: port + 1, host: '0.0.0.0' });
`;

/** Connections to address:port one after the other for `ms` milliseconds; prints [{t0, r}] (r: the answer, "refused", "timeout", ...). */
const LOOP = `
const net = require('net');
const [address, port, ms] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
function tcp() { return new Promise((resolve) => { const t0 = Date.now(); const s = net.connect({ host: address, port }); let data = '';
  const timer = setTimeout(() => { s.destroy(); resolve({ t0, r: 'timeout' }); }, 2000);
  s.on('data', (d) => (data += d)); s.on('end', () => { clearTimeout(timer); resolve({ t0, r: data.trim() }); });
  s.on('error', (e) => { clearTimeout(timer); resolve({ t0, r: e.code }); }); }); }
(async () => { const out = []; const end = Date.now() + ms; do out.push(await tcp()); while (Date.now() < end); process.stdout.write(JSON.stringify(out)); })();
`;

/** One TCP connection to address:port kept for `ms`, a line sent every 20 ms; prints {sent, answers: {name: n}, error}. */
const STREAM = `
const net = require('net');
const [address, port, ms] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = net.connect({ host: address, port }); let sent = 0, buffer = '', error = null; const answers = {};
s.on('connect', () => { const timer = setInterval(() => { s.write('x\\n'); sent++; }, 20);
  setTimeout(() => { clearInterval(timer); setTimeout(() => { s.destroy(); finish(); }, 500); }, ms); });
s.on('data', (d) => { buffer += d; const lines = buffer.split('\\n'); buffer = lines.pop(); for (const l of lines) answers[l] = (answers[l] || 0) + 1; });
s.on('error', (e) => { error = e.code; finish(); });
s.on('close', () => { if (error === null) error = 'closed'; });
let done = false; function finish() { if (done) return; done = true; process.stdout.write(JSON.stringify({ sent, answers, error: error === 'closed' ? null : error })); }
`;

function exec(netns: string, code: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a client script to its end; its JSON output. */
async function client<T>(netns: string, code: string, args: string[], children: ChildProcess[]): Promise<T> {
  const child = exec(netns, code, args);
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const code_ = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code_, 0, `client in ${netns} failed: ${err}`);
  return JSON.parse(out) as T;
}

type Loop = { t0: number; r: string }[];
const tally = (answers: { r: string }[]) => answers.reduce((m, a) => m.set(a.r, (m.get(a.r) ?? 0) + 1), new Map<string, number>());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('service VIPs under change: streams survive, removed backends get nothing, affinity timeout, agent kill -9', async (t) => {
  const lab = await startTestLab(t, 2);
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const s of children) {
      if (s.pid !== undefined && s.exitCode === null && s.signalCode === null) {
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
    }
  });
  const c = lab.controller.client;
  await c.apply([...tenantObjects('alpha', NETWORKS), ...tenantObjects('beta', NETWORKS)]);
  const endpointOf = (name: string) => lab.state.containers.find((x) => x.name === name)!.endpoint!;
  const backend = async (name: string, tenant: string, host: string, ip: number, app: string) => {
    const made = await lab.run(name, { host, tenant, network: 'net', labels: { app }, ips: [`10.31.0.${ip}`] });
    children.push(exec(made.netns, SERVER, [name, '8000']));
    return made;
  };
  // db1 on the client's host, db2/db3 on the other; web1/web2 serve an unrelated service.
  await backend('db1', 'alpha', 'h1', 11, 'db');
  await backend('db2', 'alpha', 'h2', 12, 'db');
  await backend('db3', 'alpha', 'h2', 13, 'db');
  await backend('web1', 'alpha', 'h1', 21, 'web');
  await backend('web2', 'alpha', 'h2', 22, 'web');
  await backend('bdb', 'beta', 'h2', 11, 'db');
  // A fourth db backend, idle until the slot-class test moves it in.
  await backend('db4', 'alpha', 'h2', 14, 'spare');
  const api = await lab.run('api', { host: 'h1', tenant: 'alpha', network: 'net', labels: { app: 'api' }, ips: ['10.31.0.30'] });
  const hostile = await lab.run('evil', { host: 'h1', tenant: 'beta', network: 'net', labels: { app: 'api' }, ips: ['10.31.0.30'] });
  const svc = (name: string, app: string, vip: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: V,
    kind: 'Service' as const,
    metadata: { name, tenant: 'alpha' },
    spec: {
      selector: { matchLabels: { app } },
      ports: [
        { name: 'one', protocol: 'TCP', port: 80, targetPort: 8000 },
        { name: 'stream', protocol: 'TCP', port: 81, targetPort: 8001 },
      ],
      virtualIPs: [vip],
      ...spec,
    },
  });
  const VIP = '10.96.0.80';
  await c.create(svc('db', 'db', VIP));
  await c.create(svc('web', 'web', '10.96.0.81'));
  const once = async (netns: string, vip: string, ms = 1) => client<Loop>(netns, LOOP, [vip, '80', String(ms)], children);
  await waitUntil('db answers through its VIP', async () => (await once(api.netns, VIP))[0].r.startsWith('db'), 20000);
  await waitUntil('web answers through its VIP', async () => (await once(api.netns, '10.96.0.81'))[0].r.startsWith('web'), 20000);
  const router = (host: string, tenant = 'alpha') => tenantNamespaceName(lab.state.hosts.find((h) => h.name === host)!.netnsPrefix, tenant);
  /** The backends (address . port) the slot map of a router namespace holds for a VIP's port 80. */
  const slotBackends = async (netns: string, vip: string): Promise<Set<string>> => {
    const { stdout } = await run('ip', ['netns', 'exec', netns, 'nft', 'list', 'map', 'inet', 'tenet', 'sv_slot4']);
    const found = new Set<string>();
    for (const m of stdout.matchAll(new RegExp(`${vip.replace(/\./g, '\\.')} \\. tcp \\. 80 \\. \\S+ : ([0-9.]+) \\. 8000`, 'g')))
      found.add(m[1]);
    return found;
  };

  await t.test('an established stream through a VIP survives other services created and deleted and other backends churning', async () => {
    const stream = client<{ sent: number; answers: Record<string, number>; error: string | null }>(
      api.netns,
      STREAM,
      [VIP, '81', '6000'],
      children,
    );
    await sleep(300);
    for (let i = 0; i < 10; i++) await c.create(svc(`other${i}`, 'web', `10.96.1.${i + 1}`));
    for (const name of ['web1', 'web2']) await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'gone' } } });
    await sleep(500);
    for (const name of ['web1', 'web2']) await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'web' } } });
    for (let i = 0; i < 10; i++) await c.delete('Service', `other${i}`, 'alpha');
    await c.create(svc('late', 'db', '10.96.1.99'));
    await c.delete('Service', 'late', 'alpha');
    const result = await stream;
    assert.equal(result.error, null, JSON.stringify(result));
    const names = Object.keys(result.answers);
    assert.equal(names.length, 1, `one backend for the whole stream: ${JSON.stringify(result.answers)}`);
    assert.ok(names[0].startsWith('db'));
    // Every line sent was answered (the server answers per chunk, so at most as many answers as lines).
    assert.ok(result.sent > 100 && result.answers[names[0]] > 0.5 * result.sent, JSON.stringify(result));
  });

  await t.test('a tenant reaches no VIP of another tenant', async () => {
    // beta has no service at alpha's VIPs: nothing there answers from alpha's backends.
    const answers = tally(await once(hostile.netns, VIP, 500));
    assert.ok(![...answers.keys()].some((k) => k.startsWith('db') || k.startsWith('web')), JSON.stringify([...answers]));
  });

  await t.test(
    'scale 3 → 2 → 1 while a client loops: no connection started after a removal is realized reaches the removed backend',
    async () => {
      const loop = client<Loop>(api.netns, LOOP, [VIP, '80', '7000'], children);
      const realizedAt = new Map<string, number>();
      const remove = async (name: string, address: string) => {
        await sleep(1000);
        await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'gone' } } });
        // Realized where the client's connections are translated: its own host's router namespace.
        await waitUntil(`${name} gone from the slot map`, async () => !(await slotBackends(router('h1'), VIP)).has(address), 10000);
        realizedAt.set(name, Date.now());
      };
      await remove('db2', '10.31.0.12');
      await remove('db3', '10.31.0.13');
      const answers = await loop;
      assert.ok(answers.length > 50, `only ${answers.length} connections`);
      for (const [name, at] of realizedAt) {
        const late = answers.filter((a) => a.t0 >= at && a.r === name);
        assert.equal(late.length, 0, `${late.length} connections to ${name} after its removal was realized`);
        assert.ok(
          answers.some((a) => a.t0 < at && a.r === name),
          `${name} served before its removal`,
        );
      }
      assert.ok(
        answers.every((a) => a.r.startsWith('db')),
        `failed connections: ${JSON.stringify([...tally(answers)])}`,
      );
      for (const name of ['db2', 'db3']) await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'db' } } });
      await waitUntil('three backends again', async () => (await slotBackends(router('h1'), VIP)).size === 3, 10000);
    },
  );

  await t.test(
    'crossing slot classes (3 → 4 → 1 backends: 13 → 31 → 7 slots) keeps the established stream and sends no new connection to a removed backend',
    async () => {
      /** The slot-class chain the dispatch map sends a VIP's port 80 to, in the client's router namespace. */
      const slotClassOf = async (): Promise<string | undefined> => {
        const { stdout } = await run('ip', ['netns', 'exec', router('h1'), 'nft', 'list', 'map', 'inet', 'tenet', 'sv_cls4']);
        return new RegExp(`${VIP.replace(/\./g, '\\.')} \\. tcp \\. 80 : goto (sv_cls4_\\d+)`).exec(stdout)?.[1];
      };
      assert.equal(await slotClassOf(), 'sv_cls4_13', 'three backends: 13 slots');
      const stream = client<{ sent: number; answers: Record<string, number>; error: string | null }>(
        api.netns,
        STREAM,
        [VIP, '81', '9000'],
        children,
      );
      const loop = client<Loop>(api.netns, LOOP, [VIP, '80', '8000'], children);
      // Which backend the stream landed on (the client's router namespace translated it): that one stays.
      let kept = '';
      await waitUntil(
        'the stream is translated',
        async () => {
          const { stdout } = await run('ip', ['netns', 'exec', router('h1'), 'conntrack', '-L', '-p', 'tcp', '--orig-dst', VIP]).catch(
            () => ({ stdout: '' }),
          );
          // The original tuple (to the VIP, port 81), then the reply's: its source is the backend.
          // ESTABLISHED: an earlier subtest's stream to the same port may linger in TIME_WAIT with another backend.
          const line = stdout.split('\n').find((l) => l.includes(' ESTABLISHED ') && l.includes('dst=10.96.0.80 ') && / dport=81 /.test(l));
          kept = [...(line ?? '').matchAll(/src=(\S+)/g)].map((m) => m[1])[1] ?? '';
          return kept !== '';
        },
        5000,
      );
      try {
        const all = { db1: '10.31.0.11', db2: '10.31.0.12', db3: '10.31.0.13', db4: '10.31.0.14' };
        await sleep(500);
        await c.patch('Endpoint', endpointOf('db4'), 'alpha', { metadata: { labels: { app: 'db' } } });
        await waitUntil(
          'four backends, 31 slots',
          async () => (await slotBackends(router('h1'), VIP)).size === 4 && (await slotClassOf()) === 'sv_cls4_31',
          10000,
        );
        const realizedAt = new Map<string, number>();
        for (const [name, address] of Object.entries(all)) {
          if (address === kept) continue;
          await sleep(700);
          await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'gone' } } });
          await waitUntil(`${name} gone from the slot map`, async () => !(await slotBackends(router('h1'), VIP)).has(address), 10000);
          realizedAt.set(name, Date.now());
        }
        assert.equal(await slotClassOf(), 'sv_cls4_7', 'one backend: 7 slots');
        assert.deepEqual([...(await slotBackends(router('h1'), VIP))], [kept]);
        const answers = await loop;
        assert.ok(answers.length > 50, `only ${answers.length} connections`);
        assert.ok(
          answers.every((a) => a.r.startsWith('db')),
          `failed connections: ${JSON.stringify([...tally(answers)])}`,
        );
        for (const [name, at] of realizedAt) {
          const late = answers.filter((a) => a.t0 >= at && a.r === name);
          assert.equal(late.length, 0, `${late.length} connections to ${name} after its removal was realized`);
        }
        const result = await stream;
        assert.equal(result.error, null, JSON.stringify(result));
        const names = Object.keys(result.answers);
        assert.equal(names.length, 1, `one backend for the whole stream: ${JSON.stringify(result.answers)}`);
        assert.equal(all[names[0] as keyof typeof all], kept, 'the stream stayed on the backend it began with');
        assert.ok(result.sent > 100 && result.answers[names[0]] > 0.5 * result.sent, JSON.stringify(result));
      } finally {
        // Back as before: db1-db3 serve, db4 idles.
        for (const name of ['db1', 'db2', 'db3'])
          await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'db' } } });
        await c.patch('Endpoint', endpointOf('db4'), 'alpha', { metadata: { labels: { app: 'spare' } } });
        await waitUntil(
          'three backends again, 13 slots',
          async () => (await slotBackends(router('h1'), VIP)).size === 3 && (await slotClassOf()) === 'sv_cls4_13',
          10000,
        );
      }
    },
  );

  await t.test('ClientIP affinity: same backend within the timeout, forgotten after it, never kept on a removed backend', async () => {
    await c.patch('Service', 'db', 'alpha', { spec: { sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 2 } });
    const memory = async (): Promise<string> =>
      (await run('ip', ['netns', 'exec', router('h1'), 'nft', 'list', 'map', 'inet', 'tenet', 'sv_affmem4'])).stdout;
    await waitUntil(
      'affinity remembered',
      async () => (await once(api.netns, VIP))[0].r.startsWith('db') && /10\.31\.0\.30/.test(await memory()),
      20000,
    );
    const sticky = tally(await once(api.netns, VIP, 1500));
    assert.equal(sticky.size, 1, `one backend within the timeout: ${JSON.stringify([...sticky])}`);
    assert.match(await memory(), /10\.31\.0\.30 \. 10\.96\.0\.80 \. tcp \. 80 timeout 2s expires/);
    // After 2 s of silence the client is forgotten: its element is gone, and new connections spread again.
    const picked = new Set<string>();
    for (let i = 0; i < 8 && picked.size < 2; i++) {
      await sleep(2600);
      assert.doesNotMatch(await memory(), /10\.31\.0\.30 \./, 'forgotten after the timeout');
      picked.add((await once(api.netns, VIP))[0].r);
    }
    assert.equal(picked.size, 2, `after each timeout the client may land elsewhere: ${[...picked]}`);

    // A long timeout: the client's backend leaves; affinity does not keep it there.
    await c.patch('Service', 'db', 'alpha', { spec: { sessionAffinityTimeoutSeconds: 3600 } });
    await waitUntil(
      '3600 s affinity',
      async () =>
        /goto sv_aff4_3600/.test(
          (await run('ip', ['netns', 'exec', router('h1'), 'nft', 'list', 'map', 'inet', 'tenet', 'sv_affd4'])).stdout,
        ),
      20000,
    );
    const [first] = await once(api.netns, VIP);
    const kept = tally(await once(api.netns, VIP, 1000));
    assert.deepEqual([...kept.keys()], [first.r], 'sticky before the removal');
    const address = `10.31.0.${first.r === 'db1' ? 11 : first.r === 'db2' ? 12 : 13}`;
    await c.patch('Endpoint', endpointOf(first.r), 'alpha', { metadata: { labels: { app: 'gone' } } });
    await waitUntil('removal realized', async () => !(await slotBackends(router('h1'), VIP)).has(address), 10000);
    const after = tally(await once(api.netns, VIP, 1000));
    assert.ok(!after.has(first.r), `affinity kept the client on removed ${first.r}: ${JSON.stringify([...after])}`);
    assert.equal(after.size, 1, `still sticky, on a backend that stays: ${JSON.stringify([...after])}`);
    await c.patch('Endpoint', endpointOf(first.r), 'alpha', { metadata: { labels: { app: 'db' } } });
    await c.patch('Service', 'db', 'alpha', { spec: { sessionAffinity: 'None', sessionAffinityTimeoutSeconds: null } });
    await waitUntil('three backends again', async () => (await slotBackends(router('h1'), VIP)).size === 3, 10000);
  });

  await t.test('agent kill -9 and restart while a client loops through the VIP: no failed connection', async () => {
    for (const host of ['h1', 'h2']) {
      const loop = client<Loop>(api.netns, LOOP, [VIP, '80', '6000'], children);
      await sleep(500);
      await restartAgent(lab.state, host, 'SIGKILL');
      const answers = await loop;
      const failed = answers.filter((a) => !a.r.startsWith('db'));
      assert.equal(
        failed.length,
        0,
        `agent on ${host} killed: ${failed.length} of ${answers.length} failed: ${JSON.stringify(failed.slice(0, 5))}`,
      );
      assert.ok(answers.length > 50, `only ${answers.length} connections`);
      assert.ok(tally(answers).size >= 2, 'still spread over backends');
    }
  });
});
