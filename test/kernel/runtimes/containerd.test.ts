/**
 * containerd `ctr run --cni` with a Tenet conflist: ctr takes the first file of /etc/cni/net.d and the
 * plugins of /opt/cni/bin (neither is configurable), sends no VERSION, and DEL with an empty CNI_NETNS
 * (RECIPES.md). The test installs /opt/cni/bin/tenet only when setup has not, and removes what it added.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import { createNetwork, startAgentHost, type AgentHost } from '../../cni/agent-host';
import { nativeShim } from '../../cni/shim-helpers';
import { RuntimeUnavailable, setupPodman, startContainerd, teardownPodman, which, type Podman } from '../../runtimes/runtime-helpers';
import { removeIfCreatedLater } from '../../runtimes/runtime-helpers';

const CNI_BIN = '/opt/cni/bin/tenet';
const NET_D = '/etc/cni/net.d';

let host: AgentHost | undefined;
let podman: Podman | undefined;
let containerd: Awaited<ReturnType<typeof startContainerd>> | undefined;
let skip: string | undefined;
let imageName = '';
const cleanups: (() => void)[] = [];

const removeCaches = removeIfCreatedLater();

before(async () => {
  if (!(await which('containerd')) || !(await which('ctr')) || !(await which('podman'))) {
    skip = 'containerd, ctr or podman (to build the image) is not installed';
    return;
  }
  host = await startAgentHost();
  await createNetwork(host.controller, 'acme', 'web', '10.41.0.0/24');
  try {
    podman = await setupPodman(path.join(host.dir, 'podman'), ['/usr/lib/cni'], path.join(host.dir, 'podman-net'));
  } catch (error) {
    if (!(error instanceof RuntimeUnavailable)) throw error;
    skip = error.message;
    return;
  }
  const image = path.join(host.dir, 'bb.tar');
  await podman.run(['save', '--format', 'docker-archive', '-o', image, 'localhost/bb'], 120_000);
  try {
    containerd = await startContainerd(path.join(host.dir, 'containerd'));
  } catch (error) {
    if (!(error instanceof RuntimeUnavailable)) throw error;
    skip = error.message;
    return;
  }
  await containerd.ctr(['images', 'import', image], 120_000);
  imageName = (await containerd.ctr(['images', 'ls', '-q'])).split('\n').find((line) => line.includes('bb')) ?? 'localhost/bb:latest';
  if (!fs.existsSync(CNI_BIN)) {
    // Remove exactly the directories this test creates (/opt/cni, or only /opt/cni/bin).
    const topmost = ['/opt/cni', path.dirname(CNI_BIN)].find((dir) => !fs.existsSync(dir));
    if (topmost) {
      fs.mkdirSync(path.dirname(CNI_BIN), { recursive: true });
      cleanups.push(() => fs.rmSync(topmost, { recursive: true, force: true }));
    }
    fs.copyFileSync(nativeShim(), CNI_BIN);
    fs.chmodSync(CNI_BIN, 0o755);
    cleanups.push(() => fs.rmSync(CNI_BIN, { force: true }));
  }
  // "00-" sorts before anything a package installed, so ctr picks this file.
  fs.mkdirSync(NET_D, { recursive: true });
  const conflist = path.join(NET_D, `00-${host.prefix}tenet.conflist`);
  fs.writeFileSync(
    conflist,
    JSON.stringify({
      cniVersion: '1.0.0',
      name: `${host.prefix}tenet`,
      plugins: [{ type: 'tenet', tenant: 'acme', network: 'web', agentSocket: host.socket }],
    }),
  );
  cleanups.push(() => fs.rmSync(conflist, { force: true }));
});

after(async () => {
  for (const cleanup of cleanups.reverse()) cleanup();
  if (containerd) {
    await containerd.ctr(['tasks', 'kill', '-s', 'KILL', 'c1']).catch(() => undefined);
    await containerd.ctr(['tasks', 'delete', '-f', 'c1']).catch(() => undefined);
    await containerd.ctr(['containers', 'delete', 'c1']).catch(() => undefined);
    await containerd.daemon.stop();
  }
  if (podman) await teardownPodman(podman);
  await host?.stop();
  removeCaches();
});

test('ctr run --cni gets a Tenet address; the DEL on exit (empty CNI_NETNS) cleans up', async (t) => {
  if (skip) return t.skip(skip);
  const ctr = containerd!.ctr;
  // Not detached: ctr sets the network up, runs the command, and on exit sends DEL with CNI_NETNS="".
  const output = await ctr(['run', '--cni', '--rm', imageName, 'c1', 'sh', '-c', 'ip -o -4 addr show eth0; cat /proc/net/route'], 120_000);
  const address = /inet (10\.41\.0\.\d+)\/24/.exec(output)?.[1];
  assert.ok(address, `the container saw a Tenet address on eth0: ${output}`);
  assert.match(output, /eth0\s+00000000\s+0100290A/, 'default route via the gateway 10.41.0.1');
  assert.deepEqual(
    (await host!.controller.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items,
    [],
    'the DEL with an empty CNI_NETNS released the endpoint',
  );
});
