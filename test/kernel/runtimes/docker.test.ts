/**
 * dockerd (own data-root/exec-root/socket, --bridge=none, --iptables=false; RECIPES.md) in the agent
 * host's network namespace with the Tenet network and IPAM driver: network create, an agent restart,
 * run, connectivity, labels, rm, network rm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import type { TenetObject } from '../../../src/core/model/object';
import { stagingNamespaceName } from '../../../src/cnm/server';
import { createNetwork, DOCKER_PLUGIN_SOCKET, startAgentHost, type AgentHost } from '../../cni/agent-host';
import { rootfsTar, run, RuntimeUnavailable, startDaemon, which, type Daemon } from '../../runtimes/runtime-helpers';

let host: AgentHost | undefined;
let dockerd: Daemon | undefined;
let skip: string | undefined;
let dockerEnv: NodeJS.ProcessEnv = {};
const hadRunDocker = fs.existsSync('/run/docker');
const hadKeyJson = fs.existsSync('/etc/docker/key.json');
const hadEtcDocker = fs.existsSync('/etc/docker');
// dockerd's managed containerd creates its default opt directory there.
const hadOptContainerd = fs.existsSync('/opt/containerd');

async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  return (await run('docker', args, { env: dockerEnv, timeout: timeoutMs, maxBuffer: 16 << 20 })).stdout;
}

before(async () => {
  if (!(await which('dockerd')) || !(await which('docker'))) {
    skip = 'dockerd or the docker CLI is not installed';
    return;
  }
  if (fs.existsSync(DOCKER_PLUGIN_SOCKET)) {
    skip = `${DOCKER_PLUGIN_SOCKET} is in use by something else`;
    return;
  }
  host = await startAgentHost({ dockerPlugin: true });
  await createNetwork(host.controller, 'acme', 'web', '10.42.0.0/24');
  const d = path.join(host.dir, 'docker');
  fs.mkdirSync(d);
  const socket = path.join(d, 'docker.sock');
  dockerEnv = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  try {
    // nsenter --net, not ip netns exec: the latter remounts /sys and dockerd then finds no cgroups.
    dockerd = await startDaemon(
      'dockerd',
      [
        '--data-root',
        path.join(d, 'data'),
        '--exec-root',
        path.join(d, 'exec'),
        '--pidfile',
        path.join(d, 'dockerd.pid'),
        '-H',
        `unix://${socket}`,
        '--storage-driver=vfs',
        '--iptables=false',
        '--ip-forward=false',
        '--ip-masq=false',
        '--bridge=none',
      ],
      path.join(d, 'dockerd.log'),
      socket,
      `/run/netns/${host.hostNetns}`,
    );
    await docker(['version'], 30_000);
  } catch (error) {
    if (dockerd) await dockerd.stop();
    dockerd = undefined;
    skip = error instanceof RuntimeUnavailable ? error.message : `dockerd cannot start here: ${(error as Error).message.slice(0, 300)}`;
    return;
  }
  const tar = await rootfsTar(d);
  await docker(['import', '--change', 'CMD ["/bin/sh"]', tar, 'localhost/bb']);
});

after(async () => {
  if (dockerd) {
    await docker(['rm', '-f', 'ta', 'tb', 'da', 'db', 'd6a', 'd6b']).catch(() => undefined);
    for (const net of ['tnet', 'tdual', 'tdual6']) await docker(['network', 'rm', net]).catch(() => undefined);
    await dockerd.stop();
  }
  await host?.stop();
  if (host)
    await run('ip', ['netns', 'delete', stagingNamespaceName(host.hostName, DOCKER_PLUGIN_SOCKET, host.prefix)]).catch(() => undefined);
  if (!hadRunDocker) fs.rmSync('/run/docker', { recursive: true, force: true });
  if (!hadKeyJson) fs.rmSync('/etc/docker/key.json', { force: true });
  if (!hadEtcDocker) fs.rmSync('/etc/docker', { recursive: true, force: true });
  if (!hadOptContainerd) fs.rmSync('/opt/containerd', { recursive: true, force: true });
});

async function endpoints(): Promise<Endpoint[]> {
  return (await host!.controller.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items;
}

async function hostAnnotations(): Promise<Record<string, string>> {
  return (await host!.controller.client.get<TenetObject>('Host', host!.hostName)).metadata.annotations ?? {};
}

test('docker network create, agent restart, run, connectivity, rm, network rm', async (t) => {
  if (skip) return t.skip(skip);
  const networkId = (
    await docker([
      'network',
      'create',
      '-d',
      'tenet',
      '--ipam-driver',
      'tenet',
      '-o',
      'tenant=acme',
      '-o',
      'network=web',
      '-o',
      'label.tier=web',
      'tnet',
    ])
  ).trim();
  assert.match(networkId, /^[0-9a-f]{64}$/);
  assert.ok(`docker.tenet.dev/network.${networkId}` in (await hostAnnotations()), 'the binding is kept in the controller');

  await host!.restartAgent();

  await docker(['run', '-d', '--name', 'ta', '--network', 'tnet', 'localhost/bb', 'sleep', '600']);
  await docker(['run', '-d', '--name', 'tb', '--network', 'tnet', 'localhost/bb', 'sleep', '600']);
  const ipOf = async (name: string) =>
    (await docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "tnet").IPAddress}}', name])).trim();
  const a = await ipOf('ta');
  const b = await ipOf('tb');
  assert.match(a, /^10\.42\.0\.\d+$/);
  assert.match(b, /^10\.42\.0\.\d+$/);
  assert.notEqual(a, b);
  const eps = await endpoints();
  assert.deepEqual(eps.map((e) => e.status?.ipv4).sort(), [a, b].sort(), 'Docker shows the Tenet addresses');
  assert.deepEqual(
    eps.map((e) => e.metadata.labels?.tier),
    ['web', 'web'],
    'labels from -o label.tier=web',
  );
  const route = await docker(['exec', 'ta', 'ip', 'route']);
  assert.match(route, /default via 10\.42\.0\.1 dev eth0/, 'Join returned the gateway');
  const ping = await docker(['exec', 'ta', 'ping', '-c', '2', '-W', '2', b]);
  assert.match(ping, /2 packets received/);
  await docker(['exec', '-d', 'tb', 'nc', '-l', '-p', '7000', '-e', 'echo', 'hello-from-tb']);
  let reply = '';
  for (let i = 0; i < 20 && !reply.includes('hello-from-tb'); i++) {
    reply = await docker(['exec', 'ta', 'sh', '-c', `nc -w 2 ${b} 7000 </dev/null || true`]);
    if (!reply.includes('hello-from-tb')) await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(reply, /hello-from-tb/, 'TCP works');
  // An agent restart under running containers changes nothing they see, and rm still works after it.
  await host!.restartAgent();
  await new Promise((r) => setTimeout(r, 1000));
  assert.match(await docker(['exec', 'ta', 'ping', '-c', '1', '-W', '2', b]), /1 packets received/, 'traffic survives an agent restart');
  const gwbridge = await run('ip', ['-n', host!.hostNetns, '-br', 'link']);
  assert.doesNotMatch(gwbridge.stdout, /docker_gwbridge/, 'no docker_gwbridge was created');

  await docker(['rm', '-f', 'ta', 'tb']);
  assert.deepEqual(await endpoints(), [], 'docker rm released the endpoints');
  await docker(['network', 'rm', 'tnet']);
  assert.ok(!(`docker.tenet.dev/network.${networkId}` in (await hostAnnotations())), 'network rm dropped the binding');
});

/** nc from one container to another's port 7000 (listener started by the caller); true when the greeting came back. */
async function tcpReaches(from: string, to: string, greeting: string): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    const reply = await docker(['exec', from, 'sh', '-c', `nc -w 2 ${to} 7000 </dev/null || true`]);
    if (reply.includes(greeting)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

test('dual-stack Tenet network: the documented network create, then two docker run without --ip get distinct addresses and talk', async (t) => {
  if (skip) return t.skip(skip);
  const c = host!.controller.client;
  await c.create({
    apiVersion: 'tenet.dev/v1',
    kind: 'Network',
    metadata: { name: 'dual', tenant: 'acme' },
    spec: { subnets: [{ cidr: '10.43.0.0/24' }, { cidr: 'fd43::/64' }] },
  } as never);
  const dualEndpoints = async () => (await endpoints()).filter((e) => e.spec.network === 'dual' && e.spec.host === host!.hostName);
  // Endpoints of this tenant on another host, made before this host has any: the agent may not list
  // them (agents see the endpoints of tenants they host), yet their addresses are taken.
  for (const name of ['far-1', 'far-2']) {
    await c.create({
      apiVersion: 'tenet.dev/v1',
      kind: 'Endpoint',
      metadata: { name, tenant: 'acme' },
      spec: { network: 'dual', host: 'far-away' },
    } as never);
  }
  const farAddresses = (await endpoints()).filter((e) => e.spec.host === 'far-away').flatMap((e) => [e.status?.ipv4, e.status?.ipv6]);
  assert.equal(farAddresses.length, 4);

  // As docs/docker.md shows it: no --ipv6, no --ipam-opt.
  await docker(['network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '-o', 'tenant=acme', '-o', 'network=dual', 'tdual']);
  await docker(['run', '-d', '--name', 'da', '--network', 'tdual', 'localhost/bb', 'sleep', '600']);
  await docker(['run', '-d', '--name', 'db', '--network', 'tdual', 'localhost/bb', 'sleep', '600']);
  const ipOf = async (name: string, net: string, field = 'IPAddress') =>
    (await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").${field}}}`, name])).trim();
  const a = await ipOf('da', 'tdual');
  const b = await ipOf('db', 'tdual');
  assert.match(a, /^10\.43\.0\.\d+$/);
  assert.match(b, /^10\.43\.0\.\d+$/);
  assert.notEqual(a, b);
  assert.ok(!farAddresses.includes(a) && !farAddresses.includes(b), 'no address of the other host was proposed');
  assert.deepEqual((await dualEndpoints()).map((e) => e.status?.ipv4).sort(), [a, b].sort(), 'Docker shows the Tenet addresses');
  await docker(['exec', '-d', 'db', 'nc', '-l', '-p', '7000', '-e', 'echo', 'hello-from-db']);
  assert.ok(await tcpReaches('da', b, 'hello-from-db'), 'TCP over IPv4');
  await docker(['rm', '-f', 'da', 'db']);
  assert.deepEqual(await dualEndpoints(), [], 'docker rm released the endpoints');
  await docker(['network', 'rm', 'tdual']);

  // With --ipv6: both families inside the containers, still without --ip or --ipam-opt.
  await docker([
    'network',
    'create',
    '--ipv6',
    '-d',
    'tenet',
    '--ipam-driver',
    'tenet',
    '-o',
    'tenant=acme',
    '-o',
    'network=dual',
    'tdual6',
  ]);
  await docker(['run', '-d', '--name', 'd6a', '--network', 'tdual6', 'localhost/bb', 'sleep', '600']);
  await docker(['run', '-d', '--name', 'd6b', '--network', 'tdual6', 'localhost/bb', 'sleep', '600']);
  const a6 = await ipOf('d6a', 'tdual6', 'GlobalIPv6Address');
  const b6 = await ipOf('d6b', 'tdual6', 'GlobalIPv6Address');
  assert.match(a6, /^fd43::[0-9a-f]+$/);
  assert.match(b6, /^fd43::[0-9a-f]+$/);
  assert.notEqual(a6, b6);
  const eps = await dualEndpoints();
  assert.deepEqual(eps.map((e) => e.status?.ipv6).sort(), [a6, b6].sort(), 'Docker shows the Tenet IPv6 addresses');
  assert.deepEqual(eps.map((e) => e.status?.ipv4).sort(), [await ipOf('d6a', 'tdual6'), await ipOf('d6b', 'tdual6')].sort());
  assert.match(await docker(['exec', 'd6a', 'ip', '-6', 'route']), /default via fd43::1 dev eth0/, 'Join returned the IPv6 gateway');
  await docker(['exec', '-d', 'd6b', 'nc', '-l', '-p', '7000', '-e', 'echo', 'hello-from-d6b']);
  const ok6 = await tcpReaches('d6a', b6, 'hello-from-d6b');
  if (!ok6) {
    for (const cmd of [
      ['exec', 'd6a', 'ip', '-6', 'addr'],
      ['exec', 'd6a', 'ip', '-6', 'route'],
      ['exec', 'd6a', 'ip', '-6', 'neigh'],
      ['exec', 'd6a', 'sh', '-c', `ping -c 2 -W 1 ${b6} 2>&1 || true`],
      ['exec', 'd6a', 'sh', '-c', 'ping -c 2 -W 1 fd43::1 2>&1 || true'],
      ['exec', 'd6b', 'ip', '-6', 'addr'],
      ['exec', 'd6b', 'sh', '-c', 'netstat -ltn 2>&1 || true'],
      ['exec', 'd6a', 'sysctl', 'net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.eth0.disable_ipv6'],
    ]) {
      console.log('$', cmd.join(' '), '\n', await docker(cmd).catch((e: Error) => e.message));
    }
  }
  assert.ok(ok6, 'TCP over IPv6');
  await docker(['rm', '-f', 'd6a', 'd6b']);
  assert.deepEqual(await dualEndpoints(), []);
  await docker(['network', 'rm', 'tdual6']);
  for (const name of ['far-1', 'far-2']) await c.delete('Endpoint', name, 'acme');
});

test('DNS: with --dns <gateway> --dns-search, a docker container resolves its tenant’s service names (through Docker’s embedded resolver); without, Docker’s own resolv.conf', async (t) => {
  if (skip) return t.skip(skip);
  const c = host!.controller.client;
  await c.create({
    apiVersion: 'tenet.dev/v1',
    kind: 'Service',
    metadata: { name: 'db', tenant: 'acme' },
    spec: { selector: { matchLabels: { app: 'db' } }, ports: [{ protocol: 'TCP', port: 5432 }], virtualIPs: ['10.96.5.5'] },
  } as never);
  await docker(['network', 'create', '-d', 'tenet', '--ipam-driver', 'tenet', '-o', 'tenant=acme', '-o', 'network=web', 'tdns']);
  try {
    await docker([
      'run',
      '-d',
      '--name',
      'dn',
      '--network',
      'tdns',
      '--dns',
      '10.42.0.1',
      '--dns-search',
      'acme.svc.cluster.local',
      'localhost/bb',
      'sleep',
      '600',
    ]);
    await docker(['run', '-d', '--name', 'dplain', '--network', 'tdns', 'localhost/bb', 'sleep', '600']);
    // Docker's embedded resolver (127.0.0.11) answers in the container and forwards names it does not know to --dns.
    const resolv = await docker(['exec', 'dn', 'cat', '/etc/resolv.conf']);
    assert.match(resolv, /search acme\.svc\.cluster\.local/);
    let answer = '';
    for (let i = 0; i < 50 && !answer.includes('10.96.5.5'); i++) {
      answer = await docker(['exec', 'dn', 'sh', '-c', 'nslookup db.acme.svc.cluster.local 2>&1 || true']);
      if (!answer.includes('10.96.5.5')) await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(answer, /10\.96\.5\.5/, answer);
    // Another tenant's name does not exist there.
    assert.doesNotMatch(await docker(['exec', 'dn', 'sh', '-c', 'nslookup db.other.svc.cluster.local 2>&1 || true']), /10\.96\./);
    // Without --dns the driver cannot point the container at the tenant resolver (no DNS in the Join answer).
    const plain = await docker(['exec', 'dplain', 'cat', '/etc/resolv.conf']);
    assert.doesNotMatch(plain, /acme\.svc/);
  } finally {
    await docker(['rm', '-f', 'dn', 'dplain']).catch(() => undefined);
    await docker(['network', 'rm', 'tdns']).catch(() => undefined);
    await c.delete('Service', 'db', 'acme').catch(() => undefined);
  }
});
