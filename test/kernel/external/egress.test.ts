/**
 * Egress NAT with real packets (docs/external.md): two tenants with the same addresses on one host
 * fetch from the lab's outside server at the same moment, even from the same source port; the server
 * sees the host's underlay address and each reply returns to its own container. Policy is enforced
 * before NAT; what has no egress right gets nothing out; the host's own addresses stay closed; a
 * spoofed source goes nowhere; the outside cannot start a connection in; a tenant cannot grant
 * itself egress.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil, type TestLab } from '../../helpers/lab';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { TenetClient } from '../../../src/client/api-client';
import { ApiError } from '../../../src/client/errors';
import { transitAddress } from '../../../src/core/egress/egress';

const PORT = 8080;

/** A listener in `netns` on address:port answering each connection with the line it got and the peer's address. */
async function echoPeer(t: { after(fn: () => void): void }, netns: string, address: string, port: number): Promise<void> {
  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  children.push(
    spawnGroup(
      'ip',
      [
        'netns',
        'exec',
        netns,
        'socat',
        `TCP-LISTEN:${port},bind=${address},fork,reuseaddr`,
        'SYSTEM:read line; echo "$line $SOCAT_PEERADDR"',
      ],
      { stdio: 'ignore' },
    ),
  );
  await waitUntil(`listener ${address}:${port} in ${netns}`, async () => {
    const ss = await run('ip', ['netns', 'exec', netns, 'ss', '-Htln', `src ${address}:${port}`], { allowFailure: true });
    return ss.stdout.includes(`:${port}`);
  });
}

/** What the server answered to `line` sent from `netns` (undefined: no answer within 2 s). */
async function fetch(netns: string, address: string, line: string, socket: string[] = []): Promise<string | undefined> {
  const opts = [`TCP:${address}:${PORT}`, 'connect-timeout=2', ...socket].join(',');
  const result = await run('ip', ['netns', 'exec', netns, 'socat', '-T2', '-', opts], {
    input: `${line}\n`,
    allowFailure: true,
    timeoutMs: 5000,
  });
  const answer = result.stdout.trim();
  return result.code === 0 && answer ? answer : undefined;
}

function policy(tenant: string, name: string, spec: unknown): unknown {
  return { apiVersion: API_VERSION, kind: 'Policy', metadata: { name, tenant }, spec };
}

async function setUp(lab: TestLab): Promise<void> {
  const client = lab.controller.client;
  const withEgress = (tenant: string, networks?: string[]): unknown[] => {
    const objects = tenantObjects(tenant, [
      { name: 'front', cidrs: ['10.30.1.0/24'] },
      { name: 'back', cidrs: ['10.30.2.0/24'] },
    ]) as { kind: string; spec: Record<string, unknown> }[];
    objects[0].spec.egress = { mode: 'nat', ...(networks ? { networks } : {}) };
    return objects;
  };
  await client.apply([
    ...withEgress('blue', ['front']),
    ...withEgress('green'),
    ...tenantObjects('red', [{ name: 'front', cidrs: ['10.30.1.0/24'] }]),
    // Restricted blue containers may reach the corporate range and nothing else outside: enforced before NAT.
    policy('blue', 'corp-only', {
      appliesTo: { selector: { matchLabels: { role: 'restricted' } } },
      // A policy isolates the direction it names (docs/policy.md): the second rule lets the rest through.
      egress: [{ action: 'deny', to: [{ cidr: '0.0.0.0/0', except: ['198.51.100.0/24'] }] }, { action: 'allow' }],
    }),
  ]);
}

test('egress NAT: identical tenants never mix, policy before NAT, no right no egress, host closed, no spoofing, nothing in', async (t) => {
  const lab = await startTestLab(t, 1);
  const outside = lab.state.outside!;
  const [host] = lab.state.hosts;
  await setUp(lab);
  const b1 = await lab.run('b1', { host: 'h1', tenant: 'blue', network: 'front', ips: ['10.30.1.10'] });
  const g1 = await lab.run('g1', { host: 'h1', tenant: 'green', network: 'front', ips: ['10.30.1.10'] });
  const bc = await lab.run('bc', { host: 'h1', tenant: 'blue', network: 'front', labels: { role: 'restricted' } });
  const bb = await lab.run('bb', { host: 'h1', tenant: 'blue', network: 'back' });
  const r1 = await lab.run('r1', { host: 'h1', tenant: 'red', network: 'front', ips: ['10.30.1.10'] });
  await echoPeer(t, outside.netns, outside.internetIP, PORT);
  await echoPeer(t, outside.netns, outside.corporateIP, PORT);

  await waitUntil('blue egress', async () => (await fetch(b1.netns, outside.internetIP, 'b1')) !== undefined, 20000);
  await waitUntil('green egress', async () => (await fetch(g1.netns, outside.internetIP, 'g1')) !== undefined, 20000);

  // Same address, same source port, same moment, both tenants: each reply comes back to its sender,
  // and the server sees the host's underlay address (masquerade), never a tenant address.
  for (let round = 0; round < 5; round++) {
    const port = [`sourceport=${41000 + round}`, 'reuseaddr'];
    const [blue, green] = await Promise.all([
      fetch(b1.netns, outside.internetIP, `blue-${round}`, port),
      fetch(g1.netns, outside.internetIP, `green-${round}`, port),
    ]);
    assert.equal(blue, `blue-${round} ${host.underlayIP}`, `round ${round}: blue got ${blue}`);
    assert.equal(green, `green-${round} ${host.underlayIP}`, `round ${round}: green got ${green}`);
  }
  const burst = await Promise.all(
    Array.from({ length: 20 }, (_, i) => fetch(i % 2 ? g1.netns : b1.netns, outside.internetIP, `${i % 2 ? 'g' : 'b'}${i}`)),
  );
  burst.forEach((answer, i) => assert.equal(answer, `${i % 2 ? 'g' : 'b'}${i} ${host.underlayIP}`));

  // Policy before NAT: the restricted container reaches the corporate range only.
  assert.equal(await fetch(bc.netns, outside.corporateIP, 'bc'), `bc ${host.underlayIP}`);
  assert.equal(await fetch(bc.netns, outside.internetIP, 'bc'), undefined, 'the policy denies the internet to bc');
  // No egress right: another network of blue (not in spec.egress.networks), and a tenant without egress.
  assert.equal(await fetch(bb.netns, outside.internetIP, 'bb'), undefined, 'blue/back has no egress');
  assert.equal(await fetch(r1.netns, outside.internetIP, 'r1'), undefined, 'red has no egress');

  // The host's own addresses (underlay, transit gateway) are closed to containers: a listener there gets nothing.
  await echoPeer(t, host.netns, host.underlayIP, PORT);
  await echoPeer(t, host.netns, '169.254.0.1', PORT);
  assert.equal(await fetch(host.netns, host.underlayIP, 'self'), `self ${host.underlayIP}`, 'the host listener answers itself');
  assert.equal(await fetch(b1.netns, host.underlayIP, 'b1'), undefined, 'b1 reached its host');
  assert.equal(await fetch(b1.netns, '169.254.0.1', 'b1'), undefined, 'b1 reached the transit gateway');

  // Spoofing: a source address b1 does not own (even one of an egress subnet) never gets out.
  await run('ip', ['netns', 'exec', b1.netns, 'ip', 'addr', 'add', '10.30.1.77/32', 'dev', 'eth0']);
  assert.equal(await fetch(b1.netns, outside.internetIP, 'spoof', ['bind=10.30.1.77']), undefined, 'a spoofed source got out');

  // Nothing from outside starts a connection in through the egress path, even routed at the transit address.
  const blueVni = ((await lab.controller.client.get('Tenant', 'blue')) as { status?: { vni?: number } }).status?.vni;
  assert.ok(blueVni);
  await run('ip', ['netns', 'exec', outside.netns, 'ip', 'route', 'add', '100.64.0.0/10', 'via', host.underlayIP]);
  await echoPeer(t, b1.netns, '0.0.0.0', PORT);
  assert.equal(await fetch(outside.netns, transitAddress(blueVni), 'in'), undefined, 'the outside reached into blue');
  assert.equal(await fetch(outside.netns, '10.30.1.10', 'in', []), undefined, 'the outside reached a tenant address');

  // A tenant cannot grant itself egress: only admins change tenants.
  const minted = (await lab.controller.client.request('POST', '/api/v1/tokens', { role: 'tenant-admin', tenant: 'red' })) as {
    token: string;
  };
  const red = new TenetClient({ servers: [lab.controller.url], token: minted.token });
  await assert.rejects(
    red.apply([{ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'red' }, spec: { egress: { mode: 'nat' } } }]),
    (error: unknown) => error instanceof ApiError && error.status === 403,
  );
  assert.equal(await fetch(r1.netns, outside.internetIP, 'r1'), undefined, 'red still has no egress');
});
