/**
 * Fail closed on tampering, with real packets in a `tenet lab`: a policy admits only role=trusted to
 * the db (udp/5353); an untrusted container sends to it in a loop, every 5 ms, while the router
 * namespace's nft table is flushed by hand, five times. A flushed table keeps its base chains and
 * their policy, drop, so nothing gets through while the rules are gone; the agent, which watches its
 * tables, writes them back long before its periodic read-back (30 s) would. Not one datagram of the
 * denied loop arrives, and the trusted loop's datagrams arrive again after every repair. A table
 * deleted by hand takes its hooks with it; the guard table (src/core/policy/guard.ts) then drops what is
 * forwarded until the agent makes the table again, five times: again not one denied datagram arrives.
 * The guard table deleted by hand is made again too.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import type { TenetObject } from '../../../src/core/model/object';

const TENANT = 'tamper';
const PYTHON = '/usr/bin/python3';
const PORT = 5353;

/** Prints the payload of every datagram it receives on udp/PORT. */
const LISTENER = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(4096)
    print(data.decode(errors='replace'), flush=True)
`;

/** Sends `<tag>-<n>` to host:port every 5 ms until killed. */
const LOOP = String.raw`
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
while True:
    n += 1
    try:
        s.sendto(('%s-%d' % (sys.argv[3], n)).encode(), (sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
    time.sleep(0.005)
`;

test('a table flushed by hand drops the denied flow until the agent repairs it at once; a deleted one is made again', async (t) => {
  // No periodic full pass during the test: a repair can only come from watching the table.
  const lab = await startTestLab(t, 1, { agentResync: 600 });
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  const admin = lab.controller.client;
  await admin.apply(tenantObjects(TENANT, [{ name: 'pods', cidrs: ['10.83.0.0/24'] }]) as TenetObject[]);
  const [h1] = lab.state.hosts;
  const db = await lab.run('db', { host: h1.name, tenant: TENANT, network: 'pods', labels: { app: 'db' } });
  const trusted = await lab.run('trusted', { host: h1.name, tenant: TENANT, network: 'pods', labels: { role: 'trusted' } });
  const attacker = await lab.run('attacker', { host: h1.name, tenant: TENANT, network: 'pods', labels: { role: 'untrusted' } });
  const router = tenantNamespaceName(h1.netnsPrefix, TENANT);
  const dbIp = db.addresses[0].replace(/\/.*/, '');

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

  let received = '';
  const listener = spawn('ip', ['netns', 'exec', db.netns, PYTHON, '-u', '-c', LISTENER, String(PORT)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(listener);
  listener.stdout!.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  await waitUntil('the listener', () => received.includes('ready'), 10000);
  const loop = (from: string, tag: string): void =>
    void children.push(spawn('ip', ['netns', 'exec', from, PYTHON, '-c', LOOP, dbIp, String(PORT), tag], { stdio: 'ignore' }));
  loop(trusted.netns, 'allowed');
  await waitUntil('the trusted loop to arrive', () => received.includes('allowed-'), 15000);
  // The policy is in force before the denied loop starts: nothing of it may arrive from here on.
  const table = async (): Promise<string> =>
    (await run('ip', ['netns', 'exec', router, 'nft', 'list', 'table', 'inet', 'tenet'], { allowFailure: true })).stdout;
  await waitUntil('the policy', async () => (await table()).includes('db-guard'), 15000);
  loop(attacker.netns, 'denied');
  await new Promise((r) => setTimeout(r, 300));

  const allowedCount = (): number => (received.match(/allowed-/g) ?? []).length;
  const repairTimes: number[] = [];
  for (let round = 0; round < 5; round++) {
    await run('ip', ['netns', 'exec', router, 'nft', 'flush', 'table', 'inet', 'tenet']);
    const flushedAt = Date.now();
    const before = allowedCount();
    await waitUntil('the agent to write the rules back', async () => (await table()).includes('db-guard'), 10000);
    repairTimes.push(Date.now() - flushedAt);
    // Honest traffic flows again after the repair.
    await waitUntil('the trusted loop to arrive again', () => allowedCount() > before + 5, 5000);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.doesNotMatch(received, /denied-/, 'a datagram of the denied loop arrived');
  // Far sooner than the periodic read-back (30 s): the watcher, not a pass, repaired it.
  assert.ok(Math.max(...repairTimes) < 10000, `repairs took ${repairTimes.join(', ')} ms`);
  t.diagnostic(`repair after a flush: ${repairTimes.join(', ')} ms`);

  // Deleted by hand, five times under the same loops: the hooks go with the table, but the guard table
  // (policy drop at the forward hook, passing only what the table's base chains marked) drops
  // everything forwarded until the agent makes the table again. Not one denied datagram arrives.
  const guard = async (): Promise<string> =>
    (await run('ip', ['netns', 'exec', router, 'nft', 'list', 'table', 'inet', 'tenet_guard'], { allowFailure: true })).stdout;
  assert.match(await guard(), /policy drop/, 'the guard table is in place');
  const deleteTimes: number[] = [];
  for (let round = 0; round < 5; round++) {
    await run('ip', ['netns', 'exec', router, 'nft', 'delete', 'table', 'inet', 'tenet']);
    const deletedAt = Date.now();
    const before = allowedCount();
    await waitUntil('the agent to make the table again', async () => (await table()).includes('db-guard'), 10000);
    deleteTimes.push(Date.now() - deletedAt);
    await waitUntil('the trusted loop to arrive again after a delete', () => allowedCount() > before + 5, 5000);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.doesNotMatch(received, /denied-/, 'a datagram of the denied loop arrived while the table was deleted');
  t.diagnostic(`repair after a delete: ${deleteTimes.join(', ')} ms`);

  // The guard table deleted by hand is made again too, and honest traffic still flows with it.
  await run('ip', ['netns', 'exec', router, 'nft', 'delete', 'table', 'inet', 'tenet_guard']);
  const guardDeletedAt = Date.now();
  await waitUntil('the agent to make the guard again', async () => /policy drop/.test(await guard()), 10000);
  t.diagnostic(`guard repaired after ${Date.now() - guardDeletedAt} ms`);
  const beforeGuard = allowedCount();
  await waitUntil('the trusted loop to arrive with the guard back', () => allowedCount() > beforeGuard + 5, 5000);
  const settled = received.length;
  await new Promise((r) => setTimeout(r, 500));
  assert.doesNotMatch(received.slice(settled), /denied-/, 'the policy holds again after the tables were made again');
});
