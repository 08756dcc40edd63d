/**
 * podman (CNI backend, runc, local busybox image; RECIPES.md) on two lab hosts, with conflists from
 * `tenet lab cni-conf`: the containers get Tenet addresses, talk across hosts (VXLAN), podman's
 * --ip/--mac-address arrive, and `podman rm` frees the addresses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import { labDown, labUp } from '../../src/lab/lab';
import { labNetnsPrefix } from '../../src/lab/state';
import { startController, type RunningController } from '../helpers/controller';
import { createNetwork } from '../cni/agent-host';
import { nativeShim, ROOT } from '../cni/shim-helpers';
import { run, RuntimeUnavailable, setupPodman, teardownPodman, which, type Podman } from './runtime-helpers';

const labName = `p${crypto.randomBytes(3).toString('hex')}`;
let dir = '';
let controller: RunningController | undefined;
let labStarted = false;
let podman: Podman | undefined;
let skip: string | undefined;

before(async () => {
  if (!(await which('podman')) || !(await which('runc'))) {
    skip = 'podman or runc is not installed';
    return;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-podman-'));
  const socket = path.join(dir, 'controller.sock');
  controller = await startController({ extraArgs: ['--listen', `unix:${socket}`] });
  labStarted = true;
  await labUp({ name: labName, hosts: 2, server: `unix:${socket}` });
  await createNetwork(controller, 'acme', 'web', '10.40.0.0/24');
  const pluginDir = path.join(dir, 'cni-bin');
  fs.mkdirSync(pluginDir);
  fs.copyFileSync(nativeShim(), path.join(pluginDir, 'tenet'));
  fs.chmodSync(path.join(pluginDir, 'tenet'), 0o755);
  const confDir = path.join(dir, 'cni-conf');
  fs.mkdirSync(confDir);
  for (const host of ['h1', 'h2']) {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'lab', 'cni-conf', '--name', labName, '--host', host, '--tenant', 'acme', '--network', 'web', '--name-as', `tenet-${host}`]);
    const conf = JSON.parse(stdout) as { plugins: Record<string, unknown>[] };
    conf.plugins[0].labels = { app: 'shop' };
    fs.writeFileSync(path.join(confDir, `tenet-${host}.conflist`), JSON.stringify(conf));
  }
  try {
    podman = await setupPodman(path.join(dir, 'podman'), [pluginDir, '/usr/lib/cni'], confDir);
  } catch (error) {
    if (!(error instanceof RuntimeUnavailable)) throw error;
    skip = error.message;
  }
});

after(async () => {
  if (podman) await teardownPodman(podman);
  if (labStarted) await labDown(labName).catch(() => undefined);
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const name of stdout.split('\n').map((l) => l.split(' ')[0])) {
    if (name.startsWith(labNetnsPrefix(labName))) await run('ip', ['netns', 'delete', name]).catch(() => undefined);
  }
  await controller?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function endpoints(): Promise<Endpoint[]> {
  return (await controller!.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items;
}

test('podman on two lab hosts: Tenet addresses, cross-host traffic, podman rm frees them', async (t) => {
  if (skip) return t.skip(skip);
  const p = podman!;
  await p.run(['run', '-d', '--name', 'c1', '--network', 'tenet-h1', 'localhost/bb', 'sleep', '600'], 120_000);
  await p.run(['run', '-d', '--name', 'c2', '--network', 'tenet-h2', '--ip', '10.40.0.77', '--mac-address', '02:40:00:00:00:77', 'localhost/bb', 'sleep', '600'], 120_000);
  const ipOf = async (name: string, net: string) => (await p.run(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name])).trim();
  const ip1 = await ipOf('c1', 'tenet-h1');
  const ip2 = await ipOf('c2', 'tenet-h2');
  assert.match(ip1, /^10\.40\.0\.\d+$/);
  assert.equal(ip2, '10.40.0.77', 'podman --ip arrives as CNI_ARGS IP=');
  const inside = await p.run(['exec', 'c2', 'ip', 'addr', 'show', 'eth0']);
  assert.match(inside, /02:40:00:00:00:77/, 'podman --mac-address arrives as CNI_ARGS MAC=');
  const eps = await endpoints();
  assert.deepEqual(eps.map((e) => e.spec.host).sort(), ['h1', 'h2'], 'one endpoint on each lab host');
  assert.deepEqual(eps.map((e) => e.metadata.labels?.app), ['shop', 'shop'], 'labels from the conflist');
  let ping = '';
  for (let i = 0; i < 20 && !/[12] packets received/.test(ping); i++) {
    ping = await p.run(['exec', 'c1', 'sh', '-c', `ping -c 2 -W 1 ${ip2} || true`]);
  }
  assert.match(ping, /[12] packets received/, 'ICMP across hosts');
  await p.run(['exec', '-d', 'c2', 'nc', '-l', '-p', '7000', '-e', 'echo', 'hello-from-c2']);
  let reply = '';
  for (let i = 0; i < 20 && !reply.includes('hello-from-c2'); i++) {
    reply = await p.run(['exec', 'c1', 'sh', '-c', `nc -w 2 ${ip2} 7000 </dev/null || true`]);
    if (!reply.includes('hello-from-c2')) await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(reply, /hello-from-c2/, 'TCP across hosts');
  await p.run(['rm', '-f', '-t', '0', 'c1', 'c2'], 120_000);
  assert.deepEqual(await endpoints(), [], 'podman rm released both endpoints');
});
