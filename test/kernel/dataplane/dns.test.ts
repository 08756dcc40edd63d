/**
 * The tenant resolvers with real packets (docs/services.md, "DNS"): a 2-host lab, two tenants with the
 * same subnets. From inside lab containers (their resolv.conf from the attach result): busybox nslookup
 * and glibc's resolver (getent, python's getaddrinfo) find the tenant's own endpoints by full and short
 * names and services by their virtual IPs and SRV; the other tenant's names are NXDOMAIN even asked by
 * their exact FQDN; nothing is forwarded; the resolver listens on the gateways in the router namespace
 * only; removed endpoints disappear; the resolvers end with the agent and with `tenet lab down`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { labDown, labRm, restartAgent } from '../../../src/lab/lab';
import { saveLab, type LabContainer } from '../../../src/lab/state';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { API_VERSION } from '../../../src/core/model/common';
import { alive, resolverPids } from '../../helpers/resolver';

const DOMAIN = 'cluster.local';

async function inContainer(c: LabContainer, args: string[]): Promise<{ out: string; code: number | null }> {
  const result = await run('ip', ['netns', 'exec', c.netns, ...args], { allowFailure: true, timeoutMs: 10000 });
  return { out: result.stdout + result.stderr, code: result.code };
}

const nslookup = (c: LabContainer, name: string, ...extra: string[]) => inContainer(c, ['busybox', 'nslookup', ...extra, name]);
const getent = (c: LabContainer, name: string) => inContainer(c, ['getent', 'ahosts', name]);
const getaddrinfo = (c: LabContainer, name: string) =>
  inContainer(c, [
    'python3',
    '-c',
    'import socket,sys\ntry:\n print(sorted({a[4][0] for a in socket.getaddrinfo(sys.argv[1], 80)}))\nexcept socket.gaierror as e:\n print("gaierror", e.errno); sys.exit(2)',
    name,
  ]);

const running = (pids: number[]): boolean => pids.length === 3 && pids.every(alive);

test('tenant DNS: own names resolve from inside containers, other tenants do not exist, nothing is forwarded', async (t) => {
  const lab = await startTestLab(t, 2);
  const client = lab.controller.client;
  for (const tenant of ['red', 'blue']) await client.apply(tenantObjects(tenant, [{ name: 'net', cidrs: ['10.50.0.0/24', 'fd50::/64'] }]));
  const [h1, h2] = lab.state.hosts;
  const redA = await lab.run('ra', { host: h1.name, tenant: 'red', network: 'net' });
  const redB = await lab.run('rb', { host: h2.name, tenant: 'red', network: 'net' });
  const blueA = await lab.run('ba', { host: h1.name, tenant: 'blue', network: 'net' });
  const fqdn = (c: LabContainer) => `${c.endpoint}.net.${c.tenant}.${DOMAIN}`;
  const redRouter = tenantNamespaceName(h1.netnsPrefix, 'red');

  await t.test('the container resolv.conf names the gateway and the search list', () => {
    const conf = fs.readFileSync(`/etc/netns/${redA.netns}/resolv.conf`, 'utf8');
    assert.match(conf, /^nameserver 10\.50\.0\.1$/m);
    assert.match(conf, /^nameserver fd50::1$/m);
    assert.match(conf, new RegExp(`^search red\\.svc\\.${DOMAIN} net\\.red\\.${DOMAIN} red\\.${DOMAIN}$`, 'm'));
  });

  await t.test('own endpoints resolve by FQDN (busybox) and short name (glibc), across hosts, A and AAAA', async () => {
    await waitUntil('red-b resolves', async () => (await nslookup(redA, fqdn(redB))).out.includes(redB.addresses[0]), 10000);
    const answer = await nslookup(redA, fqdn(redB));
    assert.equal(answer.code, 0, answer.out);
    for (const address of redB.addresses) assert.ok(answer.out.includes(address), `${address} in ${answer.out}`);
    const short = await getent(redA, redB.endpoint!);
    assert.equal(short.code, 0, short.out);
    assert.ok(short.out.includes(redB.addresses[0]), short.out);
    const lib = await getaddrinfo(redA, `${redB.endpoint}.net`);
    assert.equal(lib.code, 0, lib.out);
    assert.deepEqual(JSON.parse(lib.out.trim().replace(/'/g, '"')), [...redB.addresses].sort());
    // Blue's own resolver answers for blue: the name exists, only not for red.
    const own = await nslookup(blueA, fqdn(blueA));
    assert.equal(own.code, 0, own.out);
    assert.ok(own.out.includes(blueA.addresses[0]), own.out);
  });

  await t.test('hostile: red asks for blue names (exact FQDN, short, SRV, ANY, through blue-style names) and gets NXDOMAIN', async () => {
    for (const [name, extra] of [
      [fqdn(blueA), []],
      [fqdn(blueA), ['-type=AAAA']],
      [fqdn(blueA), ['-type=ANY']],
      [`_http._tcp.x.blue.svc.${DOMAIN}`, ['-type=SRV']],
      [`anything.blue.${DOMAIN}`, []],
    ] as [string, string[]][]) {
      const answer = await nslookup(redA, name, ...extra);
      assert.notEqual(answer.code, 0, `${name}: ${answer.out}`);
      assert.match(answer.out, /NXDOMAIN/, `${name} ${extra.join(' ')}: ${answer.out}`);
      for (const address of blueA.addresses) assert.ok(!answer.out.includes(`Address: ${address}`), answer.out);
    }
    // The endpoint name alone through red's search list finds nothing of blue either (glibc).
    const short = await getaddrinfo(redA, blueA.endpoint!);
    assert.notEqual(short.code, 0, short.out);
    // Asking blue's gateway address from red reaches red's own resolver (same address, red's namespace).
    const direct = await inContainer(redA, ['busybox', 'nslookup', fqdn(blueA), '10.50.0.1']);
    assert.match(direct.out, /NXDOMAIN/, direct.out);
  });

  await t.test('nothing is forwarded: outside names are refused at once, never looked up', async () => {
    const started = Date.now();
    const answer = await nslookup(redA, 'example.com');
    assert.notEqual(answer.code, 0, answer.out);
    assert.match(answer.out, /REFUSED|NXDOMAIN/, answer.out);
    assert.ok(Date.now() - started < 3000, 'no upstream timeout');
  });

  await t.test('a default-deny tenant still reaches its resolver (the router namespace input path is not filtered)', async () => {
    await client.apply([{ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'red' }, spec: { defaultPolicy: 'deny' } }]);
    await waitUntil(
      'deny in force between endpoints',
      async () => (await inContainer(redA, ['ping', '-c1', '-W1', redB.addresses[0]])).code !== 0,
      15000,
    );
    const answer = await nslookup(redA, fqdn(redB));
    assert.equal(answer.code, 0, answer.out);
    assert.ok(answer.out.includes(redB.addresses[0]), answer.out);
    await client.apply([{ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'red' }, spec: {} }]);
  });

  await t.test('the resolver listens on the gateways inside the router namespace only', async () => {
    const inRouter = await run('ip', ['netns', 'exec', redRouter, 'ss', '-Hlnu', 'sport', '=', ':53']);
    const bound = inRouter.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.trim().split(/\s+/)[3])
      .sort();
    assert.deepEqual(bound, ['10.50.0.1:53', '[fd50::1]:53']);
    const overV6 = await inContainer(redA, ['busybox', 'nslookup', fqdn(redB), 'fd50::1']);
    assert.equal(overV6.code, 0, overV6.out);
    assert.ok(overV6.out.includes(redB.addresses[0]), `answered over IPv6: ${overV6.out}`);
    const inHost = await run('ip', ['netns', 'exec', h1.netns, 'ss', '-Hlnu', 'sport', '=', ':53']);
    assert.equal(inHost.stdout.trim(), '', 'no resolver in the host namespace');
    assert.ok(
      running(resolverPids(redRouter)),
      `resolver processes ${resolverPids(redRouter)
        .map((p) => `${p}:${alive(p)}`)
        .join(' ')}`,
    );
  });

  await t.test('a Service with virtual IPs resolves by name and short name, with SRV for its named port', async () => {
    await client.apply([
      {
        apiVersion: API_VERSION,
        kind: 'Service',
        metadata: { name: 'db', tenant: 'red' },
        spec: {
          selector: { matchLabels: { app: 'db' } },
          ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
          virtualIPs: ['10.96.0.10', 'fd00:96::10'],
        },
      },
    ]);
    await waitUntil('db resolves', async () => (await nslookup(redA, `db.red.svc.${DOMAIN}`)).out.includes('10.96.0.10'), 10000);
    const short = await getaddrinfo(redA, 'db');
    assert.deepEqual(JSON.parse(short.out.trim().replace(/'/g, '"')), ['10.96.0.10', 'fd00:96::10']);
    const srv = await nslookup(redA, `_pg._tcp.db.red.svc.${DOMAIN}`, '-type=SRV');
    assert.equal(srv.code, 0, srv.out);
    assert.match(srv.out, new RegExp(`0 0 5432 db\\.red\\.svc\\.${DOMAIN}`));
    const fromBlue = await nslookup(blueA, `db.red.svc.${DOMAIN}`);
    assert.match(fromBlue.out, /NXDOMAIN/, fromBlue.out);
  });

  await t.test('SRV changes restart the back ends one at a time: a client querying meanwhile loses no query', async () => {
    // glibc waits 5 s for a lost UDP query: every lookup must succeed, none may take near that long.
    const loop = inContainer(redA, [
      'python3',
      '-c',
      'import socket,sys,time\nend=time.time()+float(sys.argv[2]); worst=0; n=0; fails=0\nwhile time.time()<end:\n t=time.perf_counter()\n try: socket.getaddrinfo(sys.argv[1], 80, socket.AF_INET)\n except socket.gaierror: fails+=1\n worst=max(worst,time.perf_counter()-t); n+=1\nprint(n, fails, round(worst*1000))',
      fqdn(redA),
      '4',
    ]);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 4; i++) {
      await client.apply([
        {
          apiVersion: API_VERSION,
          kind: 'Service',
          metadata: { name: `roll${i}`, tenant: 'red' },
          spec: {
            selector: { matchLabels: { app: 'x' } },
            ports: [{ name: 'p', protocol: 'UDP', port: 1000 + i }],
            virtualIPs: [`10.96.1.${i + 1}`],
          },
        },
      ]);
      await waitUntil(
        `roll${i} SRV`,
        async () => (await nslookup(redA, `_p._udp.roll${i}.red.svc.${DOMAIN}`, '-type=SRV')).code === 0,
        5000,
      );
    }
    const [queries, fails, worstMs] = (await loop).out.trim().split(' ').map(Number);
    assert.ok(queries > 100, `queries: ${queries}`);
    assert.equal(fails, 0, 'no lookup failed');
    assert.ok(worstMs < 1000, `slowest lookup ${worstMs} ms`);
  });

  await t.test('a removed endpoint disappears', async () => {
    const rb = redB;
    await labRm(lab.state, 'rb');
    lab.state.containers = lab.state.containers.filter((c) => c.name !== 'rb');
    saveLab(lab.state);
    await waitUntil('rb is gone', async () => /NXDOMAIN/.test((await nslookup(redA, fqdn(rb))).out), 10000);
  });

  await t.test('resolvers end with the agent; a restarted agent (even after kill -9) starts them again', async () => {
    const before = resolverPids(redRouter);
    assert.ok(running(before));
    await restartAgent(lab.state, h1.name, 'SIGKILL');
    await waitUntil('a new resolver', () => running(resolverPids(redRouter)) && resolverPids(redRouter)[0] !== before[0], 10000);
    assert.ok(!before.some(alive), 'the killed agent’s resolver was ended by its successor');
    await waitUntil('answers again', async () => (await nslookup(redA, fqdn(redA))).code === 0, 10000);
    const second = resolverPids(redRouter);
    await restartAgent(lab.state, h1.name, 'SIGTERM', async () => {
      assert.ok(!second.some(alive), 'a stopped agent leaves no resolver');
    });
  });

  await t.test('an agent killed with -9 while its tenant is deleted: its successor ends the orphaned resolver', async () => {
    const blueRouter = tenantNamespaceName(h1.netnsPrefix, 'blue');
    const orphans = resolverPids(blueRouter);
    assert.ok(running(orphans));
    await restartAgent(lab.state, h1.name, 'SIGKILL', async () => {
      assert.ok(orphans.every(alive), 'the resolver outlives an agent killed with -9 (it keeps answering)');
      await client.delete('Tenant', 'blue', undefined, { cascade: true });
    });
    await waitUntil('blue namespace swept', () => !fs.existsSync(`/run/netns/${blueRouter}`), 10000);
    await waitUntil('orphans ended', () => !orphans.some(alive), 5000);
    lab.state.containers = lab.state.containers.filter((c) => c.tenant !== 'blue');
    saveLab(lab.state);
  });

  await t.test('lab down leaves no resolver', async () => {
    const pids = lab.state.hosts
      .flatMap((h) => ['red', 'blue'].flatMap((tenant) => resolverPids(tenantNamespaceName(h.netnsPrefix, tenant))))
      .filter(alive);
    assert.ok(pids.length >= 3, `resolver processes running: ${pids.length}`);
    await labDown(lab.state.name);
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} ended`);
    assert.ok(!fs.existsSync(`/etc/netns/${redA.netns}`));
  });
});
