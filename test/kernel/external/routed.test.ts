/**
 * Routed networks with real packets and BGP on both sides (docs/external.md, "Routed networks"): each
 * host announces its own endpoints of a routed network as /32s; the upstream router (routes read from
 * its BIRD) sends each address to the host of its endpoint; the outside reaches the endpoint by its
 * own address and sees it as the source of its connections, no NAT either way; CIDR policy governs
 * both directions. Hostile outside: routes pointed at a tenant that is not routed, at a network not
 * routed or at another tenant's twin address get nothing; the outside posing as one of the tenant's
 * own addresses gets nothing through. Deleting an endpoint and opting out withdraw the routes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { outsideRoutes } from '../../../src/lab/outside';
import type { TenetObject } from '../../../src/core/model/object';

const PORT = 8080;
const UDP_PORT = 9000;

function blueObjects(routed: boolean): TenetObject[] {
  const objects = tenantObjects('blue', [
    { name: 'front', cidrs: ['10.50.1.0/24'] },
    { name: 'back', cidrs: ['10.50.2.0/24'] },
  ]) as TenetObject[];
  if (routed) (objects[0].spec as Record<string, unknown>).routed = { networks: ['front'] };
  return objects;
}

test('routed network: per-endpoint routes from the endpoint hosts, no NAT either way, policy both ways, no routing tricks, withdrawn', async (t) => {
  const lab = await startTestLab(t, 2);
  const outside = lab.state.outside!;
  const [h1, h2] = lab.state.hosts;
  const client = lab.controller.client;
  await client.apply([
    ...blueObjects(true),
    // green holds blue's subnet without being routed (allowed: only routed subnets are unique); red is not routed at all.
    ...(tenantObjects('green', [{ name: 'front', cidrs: ['10.50.1.0/24'] }]) as TenetObject[]),
    ...(tenantObjects('red', [{ name: 'front', cidrs: ['10.60.1.0/24'] }]) as TenetObject[]),
    {
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'no-corp', tenant: 'blue' },
      spec: {
        appliesTo: { selector: { matchLabels: { role: 'restricted' } } },
        ingress: [{ action: 'deny', from: [{ cidr: '198.51.100.0/24' }] }, { action: 'allow' }],
        egress: [{ action: 'deny', to: [{ cidr: '198.51.100.0/24' }] }, { action: 'allow' }],
      },
    } as TenetObject,
  ]);
  const a1 = await lab.run('a1', { host: 'h1', tenant: 'blue', network: 'front', ips: ['10.50.1.11'], labels: { role: 'restricted' } });
  const a2 = await lab.run('a2', { host: 'h2', tenant: 'blue', network: 'front', ips: ['10.50.1.12'] });
  const ab = await lab.run('ab', { host: 'h1', tenant: 'blue', network: 'back', ips: ['10.50.2.11'] });
  const g2 = await lab.run('g2', { host: 'h2', tenant: 'green', network: 'front', ips: ['10.50.1.13'] });
  const r1 = await lab.run('r1', { host: 'h1', tenant: 'red', network: 'front', ips: ['10.60.1.11'] });

  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  const listen = async (netns: string, args: string[], check: string): Promise<void> => {
    children.push(spawnGroup('ip', ['netns', 'exec', netns, 'socat', ...args], { stdio: 'ignore' }));
    await waitUntil(`listener in ${netns}`, async () => (await run('ip', ['netns', 'exec', netns, 'ss', '-Hln'])).stdout.includes(check));
  };
  for (const c of [a1, a2, ab, g2, r1])
    await listen(c.netns, [`TCP-LISTEN:${PORT},fork,reuseaddr`, `SYSTEM:echo ${c.name} $SOCAT_PEERADDR`], `:${PORT}`);
  for (const address of [outside.internetIP, outside.corporateIP])
    await listen(
      outside.netns,
      [`TCP-LISTEN:${PORT},bind=${address},fork,reuseaddr`, 'SYSTEM:echo server $SOCAT_PEERADDR'],
      `${address}:${PORT}`,
    );
  // a2 writes down every UDP datagram it gets: what the outside sends with a forged source is seen (or not) here.
  const udpLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-routed-')), 'udp.log');
  t.after(() => fs.rmSync(path.dirname(udpLog), { recursive: true, force: true }));
  await listen(a2.netns, ['-u', `UDP-RECV:${UDP_PORT}`, `OPEN:${udpLog},creat,append`], `:${UDP_PORT}`);

  /** What answers a TCP connection from the outside (source `from`) to `address` (undefined: nothing within 2 s). */
  const ask = async (netns: string, address: string, from?: string): Promise<string | undefined> => {
    const r = await run(
      'ip',
      ['netns', 'exec', netns, 'socat', '-T2', '-', `TCP:${address}:${PORT},connect-timeout=2${from ? `,bind=${from}` : ''}`],
      { input: '', allowFailure: true, timeoutMs: 5000 },
    );
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  };
  const nextHop = async (address: string): Promise<string | undefined> =>
    /via ([0-9.]+)/.exec(await outsideRoutes(outside, `${address}/32`))?.[1];

  // Each endpoint's address is learned from its own host (read from the upstream's BIRD).
  await waitUntil('the upstream learns 10.50.1.11 from h1', async () => (await nextHop('10.50.1.11')) === h1.underlayIP, 30000);
  await waitUntil('the upstream learns 10.50.1.12 from h2', async () => (await nextHop('10.50.1.12')) === h2.underlayIP, 30000);
  for (const address of ['10.50.2.11', '10.50.1.13', '10.60.1.11'])
    assert.equal(await nextHop(address), undefined, `${address} is not routed, nobody announces it`);

  // Outside → container by its own address; the container sees the client's own address (no NAT).
  await waitUntil('the outside reaches a2', async () => (await ask(outside.netns, '10.50.1.12', outside.internetIP)) !== undefined, 20000);
  assert.equal(await ask(outside.netns, '10.50.1.12', outside.internetIP), `a2 ${outside.internetIP}`);
  assert.equal(await ask(outside.netns, '10.50.1.11', outside.internetIP), `a1 ${outside.internetIP}`);
  // Container → outside: the server sees the container's own address (no NAT).
  assert.equal(await ask(a2.netns, outside.internetIP), `server 10.50.1.12`);
  assert.equal(await ask(a1.netns, outside.internetIP), `server 10.50.1.11`);
  assert.equal(await ask(ab.netns, outside.internetIP), undefined, 'blue/back is not routed and has no egress');
  assert.equal(await ask(r1.netns, outside.internetIP), undefined, 'red has no way out');

  // Policy with CIDR peers governs both directions: a1 neither hears from nor talks to the corporate range.
  assert.equal(await ask(outside.netns, '10.50.1.11', outside.corporateIP), undefined, 'the corporate range reached a1');
  assert.equal(await ask(outside.netns, '10.50.1.12', outside.corporateIP), `a2 ${outside.corporateIP}`, 'a2 has no such policy');
  assert.equal(await ask(a1.netns, outside.corporateIP), undefined, 'a1 reached the corporate range');

  // Routing tricks: the outside points routes at the hosts for addresses nobody announced.
  await run('ip', ['netns', 'exec', outside.netns, 'ip', 'route', 'add', '10.50.2.11/32', 'via', h1.underlayIP]);
  await run('ip', ['netns', 'exec', outside.netns, 'ip', 'route', 'add', '10.50.1.13/32', 'via', h2.underlayIP]);
  await run('ip', ['netns', 'exec', outside.netns, 'ip', 'route', 'add', '10.60.1.11/32', 'via', h1.underlayIP]);
  assert.equal(await ask(outside.netns, '10.50.2.11', outside.internetIP), undefined, 'reached blue/back, not routed');
  assert.equal(await ask(outside.netns, '10.50.1.13', outside.internetIP), undefined, "reached green's endpoint in blue's subnet");
  assert.equal(await ask(outside.netns, '10.60.1.11', outside.internetIP), undefined, 'reached red, not routed');

  // Spoofing: the outside sends as a1 (a blue address) to a2; a datagram from its own address is the control.
  const sendUdp = (from: string, line: string) =>
    run('ip', ['netns', 'exec', outside.netns, 'socat', '-u', '-', `UDP-SENDTO:10.50.1.12:${UDP_PORT},bind=${from}`], {
      input: `${line}\n`,
    });
  await run('ip', ['netns', 'exec', outside.netns, 'ip', 'addr', 'add', '10.50.1.11/32', 'dev', 'lo']);
  await sendUdp('10.50.1.11', 'forged');
  await sendUdp(outside.internetIP, 'honest');
  await waitUntil('a2 gets the honest datagram', () => fs.existsSync(udpLog) && fs.readFileSync(udpLog, 'utf8').includes('honest'));
  await sendUdp('10.50.1.11', 'forged-again');
  await new Promise((r) => setTimeout(r, 500));
  assert.doesNotMatch(fs.readFileSync(udpLog, 'utf8'), /forged/, 'a datagram from outside posing as a blue address reached a2');
  await run('ip', ['netns', 'exec', outside.netns, 'ip', 'addr', 'del', '10.50.1.11/32', 'dev', 'lo']);

  // An endpoint deleted: its address is withdrawn by its host; the other stays.
  await client.delete('Endpoint', a1.endpoint!, 'blue');
  await waitUntil('10.50.1.11 withdrawn', async () => (await nextHop('10.50.1.11')) === undefined, 10000);
  assert.equal(await nextHop('10.50.1.12'), h2.underlayIP);

  // Opt-out: withdrawn, and the outside no longer gets in.
  const optOut = Date.now();
  await client.apply(blueObjects(false));
  await waitUntil('10.50.1.12 withdrawn', async () => (await nextHop('10.50.1.12')) === undefined, 10000);
  t.diagnostic(`withdrawn ${Date.now() - optOut} ms after the opt-out`);
  assert.equal(await ask(outside.netns, '10.50.1.12', outside.internetIP), undefined, 'still reachable after the opt-out');
  assert.equal(await ask(a2.netns, outside.internetIP), undefined, 'a2 still gets out after the opt-out');
});
