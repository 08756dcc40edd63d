/**
 * IPv6 ways in and out with real packets (docs/external.md, "IPv6"): NAT66 egress (two tenants with
 * the same IPv6 address on one host, each gets its own reply, the outside sees the host's IPv6 underlay
 * address; no right, nothing out), an IPv6 floating IP announced over MP-BGP (the upstream router's
 * route read from BIRD itself, moved with the binding) with the client's address visible, and one in
 * layer-2 mode answered by NDP, moved by unsolicited neighbour advertisements.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { outsideRoutes } from '../../../src/lab/outside';
import { hostUnderlayIPv6 } from '../../../src/lab/fabric';
import type { TenetObject } from '../../../src/core/model/object';
import { canonicalIp } from '../../../src/core/net/ip';

const PORT = 8080;

/** socat's answer with its peer address canonical (socat prints `[fd00:0250:0000:…]`). */
const bare = (text: string): string =>
  text
    .split(' ')
    .map((word) => (word.includes(':') ? (canonicalIp(word.replace(/\[|\]/g, '')) ?? word) : word))
    .join(' ');

test('IPv6: NAT66 egress without mixing tenants, floating IPs over MP-BGP and NDP, client address kept, moves followed', async (t) => {
  const lab = await startTestLab(t, 2);
  const outside = lab.state.outside!;
  const [h1, h2] = lab.state.hosts;
  const [v6h1, v6h2] = [hostUnderlayIPv6(1), hostUnderlayIPv6(2)];
  const internet6 = outside.internetIPv6!;
  const client = lab.controller.client;
  const dual = (tenant: string, egress: boolean): unknown[] => {
    const objects = tenantObjects(tenant, [{ name: 'front', cidrs: ['10.40.1.0/24', 'fd10:40:1::/64'] }]) as {
      spec: Record<string, unknown>;
    }[];
    if (egress) objects[0].spec.egress = { mode: 'nat' };
    return objects;
  };
  await client.apply([
    ...dual('blue', true),
    ...dual('green', true),
    ...dual('red', false),
    { apiVersion: API_VERSION, kind: 'FloatingIPPool', metadata: { name: 'public6' }, spec: { cidrs: ['2001:db8:100::/120'] } },
    {
      apiVersion: API_VERSION,
      kind: 'FloatingIPPool',
      metadata: { name: 'lan6' },
      spec: { cidrs: ['fd00:250::200/125'], advertise: 'l2' },
    },
  ] as TenetObject[]);
  const b1 = await lab.run('b1', { host: 'h1', tenant: 'blue', network: 'front', ips: ['10.40.1.10', 'fd10:40:1::10'] });
  const g1 = await lab.run('g1', { host: 'h1', tenant: 'green', network: 'front', ips: ['10.40.1.10', 'fd10:40:1::10'] });
  const r1 = await lab.run('r1', { host: 'h1', tenant: 'red', network: 'front', ips: ['10.40.1.10', 'fd10:40:1::10'] });
  const a2 = await lab.run('a2', { host: 'h2', tenant: 'blue', network: 'front', ips: ['10.40.1.12', 'fd10:40:1::12'] });

  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  const listen = async (netns: string, reply: string, bind?: string): Promise<void> => {
    children.push(
      spawnGroup(
        'ip',
        [
          'netns',
          'exec',
          netns,
          'socat',
          `TCP6-LISTEN:${PORT},${bind ? `bind=[${bind}],` : ''}fork,reuseaddr`,
          `SYSTEM:read line; echo "${reply} $line $SOCAT_PEERADDR"`,
        ],
        { stdio: 'ignore' },
      ),
    );
    await waitUntil(`listener in ${netns}`, async () =>
      (await run('ip', ['netns', 'exec', netns, 'ss', '-Htln6'])).stdout.includes(`:${PORT}`),
    );
  };
  /** The answer to `line` sent from `netns` to [address]:PORT (undefined: none within 2 s). */
  const ask = async (netns: string, address: string, line: string, socket: string[] = []): Promise<string | undefined> => {
    const r = await run(
      'ip',
      ['netns', 'exec', netns, 'socat', '-T2', '-', [`TCP6:[${address}]:${PORT}`, 'connect-timeout=2', ...socket].join(',')],
      {
        input: `${line}\n`,
        allowFailure: true,
        timeoutMs: 5000,
      },
    );
    return r.code === 0 && r.stdout.trim() ? bare(r.stdout.trim()) : undefined;
  };
  await listen(outside.netns, 'internet', internet6);
  await listen(a2.netns, 'a2');
  await listen(b1.netns, 'b1');

  // NAT66 egress: same address, same source port, same moment, two tenants; the outside sees h1's IPv6 address.
  await waitUntil('blue reaches the IPv6 internet', async () => (await ask(b1.netns, internet6, 'x')) !== undefined, 30000);
  await waitUntil('green reaches the IPv6 internet', async () => (await ask(g1.netns, internet6, 'x')) !== undefined, 15000);
  for (let round = 0; round < 5; round++) {
    const port = [`sourceport=${42000 + round}`, 'reuseaddr'];
    const [blue, green] = await Promise.all([
      ask(b1.netns, internet6, `blue-${round}`, port),
      ask(g1.netns, internet6, `green-${round}`, port),
    ]);
    assert.equal(blue, `internet blue-${round} ${v6h1}`, `round ${round}: blue got ${blue}`);
    assert.equal(green, `internet green-${round} ${v6h1}`, `round ${round}: green got ${green}`);
  }
  assert.equal(await ask(r1.netns, internet6, 'red'), undefined, 'red has no egress: nothing out over IPv6 either');
  // The host's own IPv6 addresses are closed to containers, as its IPv4 ones.
  await listen(h1.netns, 'host', v6h1);
  assert.equal(await ask(h1.netns, v6h1, 'self'), `host self ${v6h1}`);
  assert.equal(await ask(b1.netns, v6h1, 'b1'), undefined, "b1 reached its host's IPv6 address");
  assert.equal(await ask(b1.netns, v6h2, 'b1'), undefined, "b1 reached another host's IPv6 address");
  // A spoofed IPv6 source never gets out.
  await run('ip', ['netns', 'exec', b1.netns, 'ip', '-6', 'addr', 'add', 'fd10:40:1::77/128', 'dev', 'eth0', 'nodad']);
  assert.equal(await ask(b1.netns, internet6, 'spoof', ['bind=[fd10:40:1::77]']), undefined, 'a spoofed IPv6 source got out');

  // An IPv6 floating IP over MP-BGP: learned by the upstream router from h2, the client's address kept.
  const fip = (name: string, pool: string, endpoint: string): TenetObject =>
    ({
      apiVersion: API_VERSION,
      kind: 'FloatingIP',
      metadata: { name, tenant: 'blue' },
      spec: { pool, target: { endpoint } },
    }) as TenetObject;
  await client.apply([fip('web6', 'public6', a2.endpoint!)]);
  const address = ((await client.get('FloatingIP', 'web6', 'blue')) as { status?: { address?: string } }).status?.address;
  assert.equal(address, '2001:db8:100::1');
  const nextHop = async (): Promise<string | undefined> => /via ([0-9a-f:]+)/.exec(await outsideRoutes(outside, `${address}/128`))?.[1];
  await waitUntil('the upstream router learns the IPv6 floating IP from h2', async () => (await nextHop()) === v6h2, 30000);
  await waitUntil(
    'the outside reaches a2 over IPv6',
    async () => (await ask(outside.netns, address!, 'in', [`bind=[${internet6}]`])) !== undefined,
    20000,
  );
  assert.equal(await ask(outside.netns, address!, 'in', [`bind=[${internet6}]`]), `a2 in ${internet6}`, "a2 sees the client's own address");
  const advertised = async (name: string): Promise<string> =>
    JSON.stringify(((await client.get('FloatingIP', name, 'blue')) as { status?: { advertised?: unknown } }).status?.advertised);
  await waitUntil(
    'h2 reports announcing it',
    async () => (await advertised('web6')) === JSON.stringify([{ host: 'h2', via: 'bgp' }]),
    15000,
  );
  // Moved to b1 on h1: the route moves (h2 withdraws), traffic follows.
  await client.apply([fip('web6', 'public6', b1.endpoint!)]);
  await waitUntil('the route moves to h1', async () => (await nextHop()) === v6h1, 30000);
  await waitUntil(
    'traffic follows to b1',
    async () => (await ask(outside.netns, address!, 'in', [`bind=[${internet6}]`])) === `b1 in ${internet6}`,
    20000,
  );
  assert.doesNotMatch(await outsideRoutes(outside, `${address}/128`), new RegExp(v6h2), 'h2 withdrew');
  // Another tenant on the same host reaches it as a client outside would: seen as h1's IPv6 address.
  await waitUntil(
    'green reaches the IPv6 floating IP on its own host',
    async () => (await ask(g1.netns, address!, 'g')) !== undefined,
    15000,
  );
  assert.equal(await ask(g1.netns, address!, 'g'), `b1 g ${v6h1}`);
  assert.equal(await ask(r1.netns, address!, 'r'), undefined, 'red (no egress) does not reach it');
  assert.equal(await ask(g1.netns, 'fd10:40:1::12', 'g'), undefined, "green never reaches blue's private IPv6 address");

  // Layer 2: an IPv6 floating IP of the underlay's own /64, answered by NDP on h2, moved by unsolicited NA.
  await client.apply([fip('lan6', 'lan6', a2.endpoint!)]);
  const lan = ((await client.get('FloatingIP', 'lan6', 'blue')) as { status?: { address?: string } }).status!.address!;
  assert.equal(lan, 'fd00:250::201');
  const macOf = async (netns: string): Promise<string> =>
    (JSON.parse((await run('ip', ['netns', 'exec', netns, 'ip', '-json', 'link', 'show', 'eth0'])).stdout) as { address: string }[])[0]
      .address;
  const neighbourMac = async (): Promise<string | undefined> =>
    (
      JSON.parse((await run('ip', ['netns', 'exec', outside.netns, 'ip', '-6', '-json', 'neigh', 'show', lan])).stdout) as {
        lladdr?: string;
      }[]
    )[0]?.lladdr;
  await waitUntil(
    'the outside reaches a2 by NDP',
    async () => (await ask(outside.netns, lan, 'l2', [`bind=[${internet6}]`])) === `a2 l2 ${internet6}`,
    20000,
  );
  assert.equal(await neighbourMac(), await macOf(h2.netns), "the outside's neighbour entry names h2");
  assert.match(
    await outsideRoutes(outside, `${lan}/128`),
    /not found|^\s*$|Network not found/i,
    'layer-2 floating IPs are not announced over BGP',
  );
  await waitUntil(
    'h2 reports answering NDP',
    async () => (await advertised('lan6')) === JSON.stringify([{ host: 'h2', via: 'l2' }]),
    15000,
  );
  const fetched = (await run('ip', ['netns', 'exec', outside.netns, 'ip', '-6', 'neigh', 'show', lan])).stdout;
  assert.match(fetched, /REACHABLE|STALE|DELAY|PROBE/, fetched);
  await client.apply([fip('lan6', 'lan6', b1.endpoint!)]);
  await waitUntil('an unsolicited NA moves the outside to h1', async () => (await neighbourMac()) === (await macOf(h1.netns)), 15000);
  await waitUntil(
    'traffic follows to b1',
    async () => (await ask(outside.netns, lan, 'l2', [`bind=[${internet6}]`])) === `b1 l2 ${internet6}`,
    10000,
  );
  assert.doesNotMatch(
    (await run('ip', ['netns', 'exec', h2.netns, 'ip', '-6', 'neigh', 'show', 'proxy'])).stdout,
    /fd00:250::201/,
    'h2 stopped answering',
  );
});
