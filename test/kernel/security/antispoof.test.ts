/**
 * Hostile tenant: source forgery from inside a container, with real packets in a 2-host `tenet lab`.
 * A policy admits only role=trusted to the db (udp/5353). An untrusted container on the same host as
 * the trusted one sends hand-built Ethernet frames (python3 AF_PACKET: any source MAC, any source
 * address) forging the trusted container's IPv4 and IPv6 sources, a foreign MAC, another tenant's
 * address, the host's underlay address and public addresses. Nothing forged is delivered (to the db on
 * the other host, the db on the same host, or an open listener any honest sender may reach); honest
 * frames from the same sender are; the drops are counted for the attacker's endpoint in its Host's
 * status and in `tenet describe endpoint`; and the tenant that runs without policy hooks tracks no
 * connections for it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { hostVethMac, hostVethName, tenantNamespaceName } from '../../../src/core/dataplane/names';
import type { LabContainer } from '../../../src/lab/state';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import type { Host } from '../../../src/core/model/kinds/host';
import type { TenetObject } from '../../../src/core/model/object';
import { runCli } from '../../cli/run-cli';

// Heartbeats (and counter reports) every second instead of 10.
process.env.TENET_HEARTBEAT = '1';

const TENANT = 'spoof';
const PYTHON = '/usr/bin/python3';
const PORT = 5353;

/** Sends `count` UDP datagrams as raw Ethernet frames: every header field is the caller's choice. */
const SENDER = String.raw`
import json, socket, struct, sys
a = json.loads(sys.argv[1])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
mac = lambda m: bytes.fromhex(m.replace(':', ''))
payload = a['payload'].encode()
n = 8 + len(payload)
if ':' in a['dst']:
    src = socket.inet_pton(socket.AF_INET6, a['src']); dst = socket.inet_pton(socket.AF_INET6, a['dst'])
    udp = struct.pack('!HHHH', 40000, a['port'], n, 0) + payload
    c = csum(src + dst + struct.pack('!I3xB', n, 17) + udp) or 0xffff
    udp = struct.pack('!HHHH', 40000, a['port'], n, c) + payload
    packet = struct.pack('!IHBB', 6 << 28, n, 17, 64) + src + dst + udp
    ethertype = 0x86dd
else:
    src = socket.inet_aton(a['src']); dst = socket.inet_aton(a['dst'])
    udp = struct.pack('!HHHH', 40000, a['port'], n, 0) + payload
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + n, 0, 0, 64, 17, 0, src, dst)
    packet = h[:10] + struct.pack('!H', csum(h)) + h[12:] + udp
    ethertype = 0x0800
frame = mac(a['dstMac']) + mac(a['srcMac']) + struct.pack('!H', ethertype) + packet
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
for _ in range(a['count']): s.send(frame)
`;

/** Prints the payload of every datagram it receives on udp/PORT (IPv4 and IPv6). */
const LISTENER = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', int(sys.argv[1])))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(4096)
    print(data.decode(errors='replace'), peer[0], flush=True)
`;

interface Box {
  c: LabContainer;
  ipv4: string;
  ipv6: string;
  mac: string;
  /** The MAC of the router side of its veth: where its frames go. */
  gatewayMac: string;
}

test('forged IPv4/IPv6 sources and MACs from a container are dropped before policy and counted; honest traffic passes', async (t) => {
  const lab = await startTestLab(t, 2);
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  const admin = lab.controller.client;
  await admin.apply([
    ...tenantObjects(TENANT, [{ name: 'pods', cidrs: ['10.81.0.0/24', 'fd81::/64'] }]),
    ...tenantObjects('other', [{ name: 'pods', cidrs: ['10.82.0.0/24'] }]),
  ] as TenetObject[]);
  const [h1, h2] = lab.state.hosts;

  const box = async (name: string, host: string, labels: Record<string, string>): Promise<Box> => {
    const c = await lab.run(name, { host, tenant: TENANT, network: 'pods', labels });
    const endpoint = await admin.get<Endpoint>('Endpoint', c.endpoint!, TENANT);
    const status = endpoint.status as { ipv4: string; ipv6: string; mac: string };
    return { c, ipv4: status.ipv4, ipv6: status.ipv6, mac: status.mac, gatewayMac: hostVethMac(hostVethName(TENANT, c.endpoint!)) };
  };
  const trusted = await box('trusted', h1.name, { role: 'trusted' });
  const attacker = await box('attacker', h1.name, { role: 'untrusted' });
  const db = await box('db', h2.name, { app: 'db' });
  const dbNear = await box('db-near', h1.name, { app: 'db' });
  const open = await box('open', h2.name, { app: 'open' });
  const stranger = await lab.run('stranger', { host: h1.name, tenant: 'other', network: 'pods', labels: {} });

  const received = new Map<string, string>();
  for (const target of [db, dbNear, open]) {
    const child = spawn('ip', ['netns', 'exec', target.c.netns, PYTHON, '-u', '-c', LISTENER, String(PORT)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(child);
    received.set(target.c.name, '');
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => received.set(target.c.name, received.get(target.c.name)! + chunk));
  }
  await waitUntil('the listeners', () => [db, dbNear, open].every((b) => received.get(b.c.name)!.includes('ready')), 10000);

  let sent = 0;
  /** Sends from `from` (its own MAC and addresses unless forged) to `to`; true when `to` received it. */
  const delivered = async (from: Box, to: Box, family: 4 | 6, forged: { src?: string; mac?: string } = {}, count = 3): Promise<boolean> => {
    const tag = `probe-${crypto.randomBytes(6).toString('hex')}`;
    const args = {
      src: forged.src ?? (family === 4 ? from.ipv4 : from.ipv6),
      dst: family === 4 ? to.ipv4 : to.ipv6,
      srcMac: forged.mac ?? from.mac,
      dstMac: from.gatewayMac,
      port: PORT,
      payload: tag,
      count,
    };
    await run('ip', ['netns', 'exec', from.c.netns, PYTHON, '-c', SENDER, JSON.stringify(args)], { timeoutMs: 10000 });
    if (forged.src !== undefined || forged.mac !== undefined) sent += count;
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      if (received.get(to.c.name)!.includes(tag)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };

  await admin.apply([
    {
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'db-guard', tenant: TENANT },
      spec: {
        appliesTo: { selector: { matchLabels: { app: 'db' } } },
        ingress: [
          { action: 'allow', from: [{ selector: { matchLabels: { role: 'trusted' } } }], ports: [{ protocol: 'UDP', port: PORT }] },
        ],
      },
    },
  ] as unknown as TenetObject[]);
  // The policy is in force once the attacker's honest datagrams stop arriving and the trusted one's arrive.
  await waitUntil('the policy', async () => !(await delivered(attacker, db, 4)) && (await delivered(trusted, db, 4)), 30000);

  // Honest frames from the same raw sender: the policy decides.
  for (const family of [4, 6] as const) {
    assert.equal(await delivered(trusted, db, family), true, `trusted → db over IPv${family}`);
    assert.equal(await delivered(trusted, dbNear, family), true, `trusted → db on the same host over IPv${family}`);
    assert.equal(await delivered(attacker, db, family), false, `untrusted → db over IPv${family} is denied by policy`);
    assert.equal(await delivered(attacker, open, family), true, `untrusted → open listener over IPv${family}`);
  }

  // Forging the trusted container's source: policy would admit it; antispoofing drops it first.
  for (const family of [4, 6] as const) {
    const src = family === 4 ? trusted.ipv4 : trusted.ipv6;
    assert.equal(await delivered(attacker, db, family, { src }), false, `forged trusted IPv${family} source → db`);
    assert.equal(await delivered(attacker, dbNear, family, { src }), false, `forged trusted IPv${family} source → db on the same host`);
    assert.equal(
      await delivered(attacker, db, family, { src, mac: trusted.mac }),
      false,
      `forged trusted IPv${family} source and MAC → db`,
    );
  }
  // A foreign MAC with the attacker's own address, to a destination it may reach.
  for (const family of [4, 6] as const)
    assert.equal(await delivered(attacker, open, family, { mac: '02:de:ad:be:ef:01' }), false, `forged MAC over IPv${family}`);
  // Sources from another tenant's range, the host's underlay and public addresses.
  const strangerIp = stranger.addresses.find((a) => !a.includes(':'))!.replace(/\/.*/, '');
  for (const src of [strangerIp, h1.underlayIP, '8.8.8.8', trusted.ipv4.replace(/\.\d+$/, '.250')]) {
    assert.equal(await delivered(attacker, open, 4, { src }), false, `forged source ${src}`);
  }
  for (const src of ['2001:4860:4860::8888', 'fd81::dead'])
    assert.equal(await delivered(attacker, open, 6, { src }), false, `forged source ${src}`);

  // Still honest traffic after all that.
  assert.equal(await delivered(trusted, db, 4), true);
  assert.equal(await delivered(attacker, open, 6), true);

  // Counted for the attacker's endpoint (and only for it) in its Host's status…
  let drops: NonNullable<NonNullable<Host['status']>['spoofDrops']> = [];
  await waitUntil(
    'the heartbeat to report the drops',
    async () => {
      drops = ((await admin.get<Host>('Host', h1.name)).status?.spoofDrops ?? []).filter((d) => d.tenant === TENANT);
      return (drops.find((d) => d.endpoint === attacker.c.endpoint)?.packets ?? 0) >= sent;
    },
    20000,
  );
  assert.deepEqual(
    drops.map((d) => d.endpoint),
    [attacker.c.endpoint],
    JSON.stringify(drops),
  );
  assert.equal(drops[0].packets, sent, 'every forged frame was counted once');
  // …and in `tenet describe endpoint`.
  const described = await runCli(lab.controller.url, ['describe', 'endpoint', `${TENANT}/${attacker.c.endpoint}`]);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, new RegExp(`Spoofed:\\s+${sent} packets`), described.stdout);
  const clean = await runCli(lab.controller.url, ['describe', 'endpoint', `${TENANT}/${trusted.c.endpoint}`]);
  assert.match(clean.stdout, /Spoofed:\s+0 packets/, clean.stdout);
  // …and on the controller's /metrics, per host, tenant and endpoint.
  const metrics = await fetch(`${lab.controller.url}/metrics`, { headers: { authorization: `Bearer ${lab.controller.adminToken}` } });
  assert.equal(metrics.status, 200);
  const text = await metrics.text();
  assert.match(
    text,
    new RegExp(`tenet_antispoof_dropped_packets\\{host="${h1.name}",tenant="${TENANT}",endpoint="${attacker.c.endpoint}"\\} ${sent}\\b`),
    text,
  );
  assert.doesNotMatch(text, new RegExp(`tenet_antispoof_dropped_packets\\{[^}]*endpoint="${trusted.c.endpoint}"`));

  // The tenant without policy runs its router namespace unhooked: antispoofing adds no connection tracking.
  const otherTable = await run('ip', [
    'netns',
    'exec',
    tenantNamespaceName(h1.netnsPrefix, 'other'),
    'nft',
    'list',
    'table',
    'inet',
    'tenet',
  ]);
  assert.match(otherTable.stdout, /hook prerouting priority (raw|-300);/);
  assert.doesNotMatch(otherTable.stdout, /hook forward/);
  assert.doesNotMatch(otherTable.stdout, /\bct\b/);
});
