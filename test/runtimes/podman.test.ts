/**
 * podman (CNI backend, runc, local busybox image; RECIPES.md) with a Tenet conflist: containers get
 * Tenet addresses, talk to each other, and `podman rm` frees the addresses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import { createNetwork, startAgentHost, type AgentHost } from '../cni/agent-host';
import { nativeShim } from '../cni/shim-helpers';
import { RuntimeUnavailable, setupPodman, teardownPodman, which, type Podman } from './runtime-helpers';

let host: AgentHost | undefined;
let podman: Podman | undefined;
let skip: string | undefined;

before(async () => {
  if (!(await which('podman')) || !(await which('runc'))) {
    skip = 'podman or runc is not installed';
    return;
  }
  host = await startAgentHost();
  await createNetwork(host.controller, 'acme', 'web', '10.40.0.0/24');
  const pluginDir = path.join(host.dir, 'cni-bin');
  fs.mkdirSync(pluginDir);
  fs.copyFileSync(nativeShim(), path.join(pluginDir, 'tenet'));
  fs.chmodSync(path.join(pluginDir, 'tenet'), 0o755);
  const confDir = path.join(host.dir, 'cni-conf');
  fs.mkdirSync(confDir);
  // podman 4.3 rejects 1.1.0 results: the conflist says 1.0.0 (RECIPES.md).
  fs.writeFileSync(
    path.join(confDir, 'tenet-web.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'tenet-web',
      plugins: [{ type: 'tenet', tenant: 'acme', network: 'web', agentSocket: host.socket, labels: { app: 'shop' }, capabilities: { ips: true, mac: true } }],
    }),
  );
  try {
    podman = await setupPodman(path.join(host.dir, 'podman'), [pluginDir, '/usr/lib/cni'], confDir);
  } catch (error) {
    if (!(error instanceof RuntimeUnavailable)) throw error;
    skip = error.message;
  }
});

after(async () => {
  if (podman) await teardownPodman(podman);
  await host?.stop();
});

async function endpoints(): Promise<Endpoint[]> {
  return (await host!.controller.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items;
}

test('podman containers get Tenet addresses, talk, and podman rm frees them', async (t) => {
  if (skip) return t.skip(skip);
  const p = podman!;
  await p.run(['run', '-d', '--name', 'c1', '--network', 'tenet-web', 'localhost/bb', 'sleep', '600'], 120_000);
  await p.run(['run', '-d', '--name', 'c2', '--network', 'tenet-web', '--ip', '10.40.0.77', '--mac-address', '02:40:00:00:00:77', 'localhost/bb', 'sleep', '600'], 120_000);
  const ip1 = (await p.run(['inspect', '-f', '{{(index .NetworkSettings.Networks "tenet-web").IPAddress}}', 'c1'])).trim();
  const ip2 = (await p.run(['inspect', '-f', '{{(index .NetworkSettings.Networks "tenet-web").IPAddress}}', 'c2'])).trim();
  assert.match(ip1, /^10\.40\.0\.\d+$/);
  assert.equal(ip2, '10.40.0.77', 'podman --ip arrives as CNI_ARGS IP=');
  const inside = await p.run(['exec', 'c2', 'ip', 'addr', 'show', 'eth0']);
  assert.match(inside, /02:40:00:00:00:77/, 'podman --mac-address arrives as CNI_ARGS MAC=');
  assert.match(inside, /10\.40\.0\.77\/24/);
  const eps = await endpoints();
  assert.equal(eps.length, 2);
  assert.deepEqual(eps.map((e) => e.metadata.labels?.app), ['shop', 'shop'], 'labels from the conflist');
  const ping = await p.run(['exec', 'c1', 'ping', '-c', '2', '-W', '2', ip2]);
  assert.match(ping, /2 packets received/);
  const tcp = await p.run(['exec', '-d', 'c2', 'nc', '-l', '-p', '7000', '-e', 'echo', 'hello-from-c2']);
  assert.equal(typeof tcp, 'string');
  let reply = '';
  for (let i = 0; i < 20 && !reply.includes('hello-from-c2'); i++) {
    reply = await p.run(['exec', 'c1', 'sh', '-c', `nc -w 2 ${ip2} 7000 </dev/null || true`]);
    if (!reply.includes('hello-from-c2')) await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(reply, /hello-from-c2/, 'TCP works between the containers');
  await p.run(['rm', '-f', '-t', '0', 'c1', 'c2'], 120_000);
  assert.deepEqual(await endpoints(), [], 'podman rm released both endpoints');
});
