/**
 * Real packets through service VIPs on a 2-host lab: two tenants with identical subnets and
 * identically named services holding identical VIPs each reach only their own backends; connections
 * spread over every backend; ClientIP affinity; scaling to 0 answers at once (TCP reset, not a
 * timeout); a backend reaching its own service lands on itself (hairpin); UDP; IPv6 VIPs; named
 * target ports; policy applies to the backend after translation, also through the VIP.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';

const NETWORKS = [{ name: 'net', cidrs: ['10.30.0.0/24', 'fd00:30::/64'] }];
const V = 'tenet.dev/v1';

/** Answers every TCP connection and UDP datagram on `port` (both families) with `name`. */
const SERVER = `
const net = require('net'), dgram = require('dgram');
const [name, port] = [process.argv[1], Number(process.argv[2])];
net.createServer((s) => { s.on('error', () => {}); s.end(name + '\\n'); }).listen({ port, host: '::' });
const u = dgram.createSocket({ type: 'udp6' });
u.on('message', (m, r) => u.send(name, r.port, r.address));
u.bind(port, '::');
`;

/** n TCP connections (or UDP exchanges) to address:port, one after the other; prints a JSON array of answers ("refused", "timeout", ...) and times. */
const CLIENT = `
const net = require('net'), dgram = require('dgram');
const [address, port, n, proto] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
function tcp() { return new Promise((resolve) => { const t0 = Date.now(); const s = net.connect({ host: address, port }); let data = '';
  const timer = setTimeout(() => { s.destroy(); resolve({ r: 'timeout', ms: Date.now() - t0 }); }, 2000);
  s.on('data', (d) => (data += d)); s.on('end', () => { clearTimeout(timer); resolve({ r: data.trim(), ms: Date.now() - t0 }); });
  s.on('error', (e) => { clearTimeout(timer); resolve({ r: e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'refused' : e.code, ms: Date.now() - t0 }); }); }); }
function udp() { return new Promise((resolve) => { const t0 = Date.now(); const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const timer = setTimeout(() => { s.close(); resolve({ r: 'timeout', ms: Date.now() - t0 }); }, 2000);
  s.on('message', (m) => { clearTimeout(timer); s.close(); resolve({ r: String(m), ms: Date.now() - t0 }); });
  s.on('error', (e) => { clearTimeout(timer); s.close(); resolve({ r: 'refused', ms: Date.now() - t0 }); });
  s.connect(port, address, () => s.send('q')); }); }
(async () => { const out = []; for (let i = 0; i < n; i++) out.push(await (proto === 'udp' ? udp() : tcp())); process.stdout.write(JSON.stringify(out)); })();
`;

function exec(netns: string, code: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function connect(
  netns: string,
  address: string,
  port: number,
  n: number,
  proto: 'tcp' | 'udp' = 'tcp',
): Promise<{ r: string; ms: number }[]> {
  const child = exec(netns, CLIENT, [address, String(port), String(n), proto]);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `client in ${netns} failed`);
  return JSON.parse(out) as { r: string; ms: number }[];
}

const count = (answers: { r: string }[]) => answers.reduce((m, a) => m.set(a.r, (m.get(a.r) ?? 0) + 1), new Map<string, number>());

test('service VIPs: tenant isolation, spread, affinity, scale to zero, hairpin, UDP, IPv6, named ports, policy after translation', async (t) => {
  const lab = await startTestLab(t, 2);
  const servers: ChildProcess[] = [];
  t.after(() => {
    for (const s of servers) {
      // The lab's own cleanup (registered first, so run first) may have ended it already.
      if (s.pid !== undefined && s.exitCode === null) {
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
  const ports = [{ name: 'pg', port: 5432, protocol: 'TCP' }];
  const backend = async (name: string, tenant: string, host: string, ip: number, labels: Record<string, string>) => {
    const made = await lab.run(name, { host, tenant, network: 'net', labels, ips: [`10.30.0.${ip}`, `fd00:30::${ip}`] });
    const server = exec(made.netns, SERVER, [name, labels.app === 'db' ? '5432' : '9000']);
    servers.push(server);
    return made;
  };
  // Named target port "pg": the db endpoints declare it (lab containers carry no ports, so set them on the endpoint).
  await backend('a-db1', 'alpha', 'h1', 11, { app: 'db' });
  await backend('a-db2', 'alpha', 'h1', 12, { app: 'db' });
  await backend('a-db3', 'alpha', 'h2', 13, { app: 'db' });
  await backend('b-db1', 'beta', 'h2', 11, { app: 'db' });
  const aClient = await lab.run('a-api', {
    host: 'h1',
    tenant: 'alpha',
    network: 'net',
    labels: { app: 'api' },
    ips: ['10.30.0.20', 'fd00:30::20'],
  });
  const aOther = await lab.run('a-web', {
    host: 'h2',
    tenant: 'alpha',
    network: 'net',
    labels: { app: 'web' },
    ips: ['10.30.0.21', 'fd00:30::21'],
  });
  const bClient = await lab.run('b-api', {
    host: 'h1',
    tenant: 'beta',
    network: 'net',
    labels: { app: 'api' },
    ips: ['10.30.0.20', 'fd00:30::20'],
  });
  for (const [tenant, names] of [
    ['alpha', ['a-db1', 'a-db2', 'a-db3']],
    ['beta', ['b-db1']],
  ] as const) {
    for (const name of names) {
      const endpoint = lab.state.containers.find((x) => x.name === name)!.endpoint!;
      await c.patch('Endpoint', endpoint, tenant, { spec: { ports } });
    }
  }
  const svc = (tenant: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: V,
    kind: 'Service' as const,
    metadata: { name: 'db', tenant },
    spec: {
      selector: { matchLabels: { app: 'db' } },
      ports: [
        { name: 'pg', protocol: 'TCP', port: 80, targetPort: 'pg' },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5432 },
      ],
      virtualIPs: ['10.96.0.53', 'fd00:96::53'],
      ...spec,
    },
  });
  await c.create(svc('alpha'));
  await c.create(svc('beta'));
  const vip = '10.96.0.53';
  await waitUntil('alpha service answers', async () => (await connect(aClient.netns, vip, 80, 1))[0].r.startsWith('a-db'), 20000);
  await waitUntil('beta service answers', async () => (await connect(bClient.netns, vip, 80, 1))[0].r === 'b-db1', 20000);

  await t.test('300 connections land on every backend of the own tenant only (20-47 % each)', async () => {
    const answers = count(await connect(aClient.netns, vip, 80, 300));
    assert.deepEqual([...answers.keys()].sort(), ['a-db1', 'a-db2', 'a-db3'], JSON.stringify([...answers]));
    for (const [name, n] of answers) assert.ok(n >= 60 && n <= 141, `${name}: ${n} of 300`);
    const beta = count(await connect(bClient.netns, vip, 80, 30));
    assert.deepEqual([...beta.keys()], ['b-db1']);
  });

  await t.test('UDP and IPv6 VIPs', async () => {
    const udp = count(await connect(aClient.netns, vip, 53, 30, 'udp'));
    assert.ok(
      [...udp.keys()].every((k) => k.startsWith('a-db')),
      JSON.stringify([...udp]),
    );
    const v6 = count(await connect(aClient.netns, 'fd00:96::53', 80, 30));
    assert.ok([...v6.keys()].every((k) => k.startsWith('a-db')) && v6.size >= 2, JSON.stringify([...v6]));
    const b6 = count(await connect(bClient.netns, 'fd00:96::53', 80, 10));
    assert.deepEqual([...b6.keys()], ['b-db1']);
  });

  await t.test('hairpin: a backend reaching its own service can land on itself', async () => {
    const db1 = lab.state.containers.find((x) => x.name === 'a-db1')!;
    const answers = count(await connect(db1.netns, vip, 80, 60));
    assert.ok(answers.get('a-db1')! > 0, JSON.stringify([...answers]));
    assert.ok(
      [...answers.keys()].every((k) => k.startsWith('a-db')),
      JSON.stringify([...answers]),
    );
  });

  await t.test('ClientIP affinity: one client lands on one backend every time', async () => {
    await c.patch('Service', 'db', 'alpha', { spec: { sessionAffinity: 'ClientIP' } });
    await waitUntil('affinity realized', async () => count(await connect(aClient.netns, vip, 80, 20)).size === 1, 20000);
    assert.equal(count(await connect(aClient.netns, vip, 80, 50)).size, 1);
    assert.equal(count(await connect(aOther.netns, vip, 80, 20)).size, 1);
    await c.patch('Service', 'db', 'alpha', { spec: { sessionAffinity: null } });
  });

  await t.test('scale 3 → 1 → 0 → 2: never a removed backend; at 0 refused at once', async () => {
    const endpointOf = (name: string) => lab.state.containers.find((x) => x.name === name)!.endpoint!;
    for (const name of ['a-db2', 'a-db3']) await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'gone' } } });
    await waitUntil('one backend', async () => count(await connect(aClient.netns, vip, 80, 20)).size === 1, 20000);
    assert.deepEqual([...count(await connect(aClient.netns, vip, 80, 60)).keys()], ['a-db1']);
    await c.patch('Endpoint', endpointOf('a-db1'), 'alpha', { metadata: { labels: { app: 'gone' } } });
    await waitUntil('no backend', async () => (await connect(aClient.netns, vip, 80, 1))[0].r === 'refused', 20000);
    const refused = await connect(aClient.netns, vip, 80, 20);
    assert.ok(
      refused.every((a) => a.r === 'refused' && a.ms < 100),
      JSON.stringify(refused),
    );
    // One probe a second: the kernel rate-limits the ICMP errors it sends to one destination (icmp_ratelimit,
    // 1 s per message after a burst of 6), and a burst of probes would measure that limit, not the service.
    const udpRefused: Awaited<ReturnType<typeof connect>> = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 1100));
      udpRefused.push(...(await connect(aClient.netns, vip, 53, 1, 'udp')));
    }
    assert.ok(
      udpRefused.every((a) => a.r === 'refused' && a.ms < 100),
      JSON.stringify(udpRefused),
    );
    for (const name of ['a-db2', 'a-db3']) await c.patch('Endpoint', endpointOf(name), 'alpha', { metadata: { labels: { app: 'db' } } });
    await waitUntil('two backends', async () => count(await connect(aClient.netns, vip, 80, 30)).size === 2, 20000);
    assert.deepEqual([...count(await connect(aClient.netns, vip, 80, 60)).keys()].sort(), ['a-db2', 'a-db3']);
  });
  await t.test('policy applies to the backend through the VIP, and a hostile tenant cannot bypass it', async () => {
    await c.apply([
      {
        apiVersion: V,
        kind: 'Policy',
        metadata: { name: 'db-from-api', tenant: 'alpha' },
        spec: {
          appliesTo: { selector: { matchLabels: { app: 'db' } } },
          ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
        },
      },
    ]);
    // The policy isolates the db backends: only app=api may reach them on tcp/5432 (the port after translation).
    await waitUntil(
      'web denied through the VIP',
      async () => [...count(await connect(aOther.netns, vip, 80, 5)).keys()].every((k) => !k.startsWith('a-db')),
      20000,
    );
    const web = count(await connect(aOther.netns, vip, 80, 5));
    assert.ok(![...web.keys()].some((k) => k.startsWith('a-db')), `web reached a db backend through the VIP: ${JSON.stringify([...web])}`);
    const api = count(await connect(aClient.netns, vip, 80, 20));
    assert.ok(
      [...api.keys()].every((k) => k.startsWith('a-db')),
      JSON.stringify([...api]),
    );
    // Straight to a backend is denied to web as well: the VIP is no way around the policy, nor the other way round.
    const direct = count(await connect(aOther.netns, '10.30.0.12', 5432, 5));
    assert.ok(![...direct.keys()].some((k) => k.startsWith('a-db')), JSON.stringify([...direct]));
    // A client of tenant beta reaches no alpha backend through any VIP (beta's own service answers from beta).
    assert.deepEqual([...count(await connect(bClient.netns, vip, 80, 10)).keys()], ['b-db1']);
    await c.delete('Policy', 'db-from-api', 'alpha');
  });
});
