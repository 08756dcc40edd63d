/**
 * podman (CNI backend, runc, local busybox image; RECIPES.md) on two lab hosts, with conflists from
 * `tenet lab cni-conf`: the containers get Tenet addresses, talk across hosts (VXLAN), podman's
 * --ip/--mac-address arrive, `podman run --label` reaches the endpoint's labels and policy, and
 * `podman rm` frees the addresses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import { labDown, labUp } from '../../../src/lab/lab';
import { labNetnsPrefix } from '../../../src/lab/state';
import { startController, type RunningController } from '../../helpers/controller';
import { createNetwork } from '../../cni/agent-host';
import { nativeShim, ROOT } from '../../cni/shim-helpers';
import { run, RuntimeUnavailable, setupPodman, teardownPodman, which, type Podman } from '../../runtimes/runtime-helpers';
import { removeIfCreatedLater } from '../../runtimes/runtime-helpers';
import { registerTestStem } from '../../helpers/netns';

const labName = registerTestStem(`p${crypto.randomBytes(3).toString('hex')}`);
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
let dir = '';
let controller: RunningController | undefined;
let labStarted = false;
let podman: Podman | undefined;
let skip: string | undefined;

const removeCaches = removeIfCreatedLater();

before(async () => {
  if (!(await which('podman')) || !(await which('runc'))) {
    skip = 'podman or runc is not installed';
    return;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-podman-'));
  const socket = path.join(dir, 'controller.sock');
  controller = await startController({ extraArgs: ['--listen', `unix:${socket}`] });
  labStarted = true;
  await labUp({ name: labName, hosts: 2, server: `unix:${socket}`, token: controller.adminToken });
  await createNetwork(controller, 'acme', 'web', '10.40.0.0/24');
  const pluginDir = path.join(dir, 'cni-bin');
  fs.mkdirSync(pluginDir);
  fs.copyFileSync(nativeShim(), path.join(pluginDir, 'tenet'));
  fs.chmodSync(path.join(pluginDir, 'tenet'), 0o755);
  const confDir = path.join(dir, 'cni-conf');
  fs.mkdirSync(confDir);
  const conflists: [string, string, Record<string, string>][] = [
    ['tenet-h1', 'h1', { app: 'shop' }],
    ['tenet-h2', 'h2', { app: 'shop' }],
    ['role-web', 'h1', { role: 'web' }],
    ['role-other', 'h1', { role: 'other' }],
    ['role-db', 'h2', { role: 'db' }],
    ['plain-h1', 'h1', {}],
  ];
  for (const [name, host, labels] of conflists) {
    const { stdout } = await run(process.execPath, [
      CLI,
      'lab',
      'cni-conf',
      '--name',
      labName,
      '--host',
      host,
      '--tenant',
      'acme',
      '--network',
      'web',
      '--name-as',
      name,
    ]);
    const conf = JSON.parse(stdout) as { plugins: Record<string, unknown>[] };
    conf.plugins[0].labels = labels;
    fs.writeFileSync(path.join(confDir, `${name}.conflist`), JSON.stringify(conf));
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
  removeCaches();
});

async function endpoints(): Promise<Endpoint[]> {
  return (await controller!.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items;
}

test('podman on two lab hosts: Tenet addresses, cross-host traffic, podman rm frees them', async (t) => {
  if (skip) return t.skip(skip);
  const p = podman!;
  await p.run(['run', '-d', '--name', 'c1', '--network', 'tenet-h1', 'localhost/bb', 'sleep', '600'], 120_000);
  await p.run(
    [
      'run',
      '-d',
      '--name',
      'c2',
      '--network',
      'tenet-h2',
      '--ip',
      '10.40.0.77',
      '--mac-address',
      '02:40:00:00:00:77',
      'localhost/bb',
      'sleep',
      '600',
    ],
    120_000,
  );
  const ipOf = async (name: string, net: string) =>
    (await p.run(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name])).trim();
  const ip1 = await ipOf('c1', 'tenet-h1');
  const ip2 = await ipOf('c2', 'tenet-h2');
  assert.match(ip1, /^10\.40\.0\.\d+$/);
  assert.equal(ip2, '10.40.0.77', 'podman --ip arrives as CNI_ARGS IP=');
  const inside = await p.run(['exec', 'c2', 'ip', 'addr', 'show', 'eth0']);
  assert.match(inside, /02:40:00:00:00:77/, 'podman --mac-address arrives as CNI_ARGS MAC=');
  const eps = await endpoints();
  assert.deepEqual(eps.map((e) => e.spec.host).sort(), ['h1', 'h2'], 'one endpoint on each lab host');
  assert.deepEqual(
    eps.map((e) => e.metadata.labels?.app),
    ['shop', 'shop'],
    'labels from the conflist',
  );
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

test('podman writes resolv.conf from the CNI result: the tenant resolver finds the other container by name', async (t) => {
  if (skip) return t.skip(skip);
  const p = podman!;
  await p.run(['run', '-d', '--name', 'd1', '--network', 'tenet-h1', 'localhost/bb', 'sleep', '600'], 120_000);
  await p.run(['run', '-d', '--name', 'd2', '--network', 'tenet-h2', 'localhost/bb', 'sleep', '600'], 120_000);
  try {
    const conf = await p.run(['exec', 'd1', 'cat', '/etc/resolv.conf']);
    assert.match(conf, /^nameserver 10\.40\.0\.1$/m, conf);
    assert.match(conf, /acme\.svc\.cluster\.local/, conf);
    const ip2 = (await p.run(['inspect', '-f', '{{(index .NetworkSettings.Networks "tenet-h2").IPAddress}}', 'd2'])).trim();
    const d2 = (await endpoints()).find((e) => e.status?.ipv4 === ip2);
    assert.ok(d2, `an endpoint holds ${ip2}`);
    const fqdn = `${d2.metadata.name}.web.acme.cluster.local`;
    let answer = '';
    for (let i = 0; i < 50 && !answer.includes(ip2); i++) {
      answer = await p.run(['exec', 'd1', 'sh', '-c', `nslookup ${fqdn} || true`]);
      if (!answer.includes(ip2)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(answer.includes(`Address: ${ip2}`), answer);
    // The short name through the search list podman wrote.
    const short = await p.run(['exec', 'd1', 'sh', '-c', `nslookup ${d2.metadata.name} || true`]);
    assert.ok(short.includes(`Address: ${ip2}`), short);
    const other = await p.run(['exec', 'd1', 'sh', '-c', `nslookup nope.web.acme.cluster.local || true`]);
    assert.match(other, /NXDOMAIN/, other);
  } finally {
    await p.run(['rm', '-f', '-t', '0', 'd1', 'd2'], 120_000);
  }
});

/** nc from one container to another's port 7000; true when the listener's greeting came back. */
async function reaches(p: Podman, from: string, ip: string): Promise<boolean> {
  const reply = await p.run(['exec', from, 'sh', '-c', `nc -w 2 ${ip} 7000 </dev/null || true`]);
  return reply.includes('hello-from-db');
}

async function explain(from: string, to: string): Promise<boolean> {
  const env = { ...process.env, TENET_TOKEN: controller!.adminToken };
  const { stdout } = await run(
    process.execPath,
    [CLI, '--server', controller!.url, 'explain', '--tenant', 'acme', '--from', from, '--to', to, '--port', 'tcp/7000', '-o', 'json'],
    { env },
  );
  return (JSON.parse(stdout) as { allowed: boolean }).allowed;
}

test('a policy on CNI labels blocks and allows podman containers as tenet explain says', async (t) => {
  if (skip) return t.skip(skip);
  const p = podman!;
  for (const [name, net] of [
    ['cweb', 'role-web'],
    ['cother', 'role-other'],
    ['cdb', 'role-db'],
  ]) {
    await p.run(['run', '-d', '--name', name, '--network', net, 'localhost/bb', 'sleep', '600'], 120_000);
  }
  const dbIp = (await p.run(['inspect', '-f', '{{(index .NetworkSettings.Networks "role-db").IPAddress}}', 'cdb'])).trim();
  const byRole = new Map((await endpoints()).map((e) => [e.metadata.labels?.role ?? '', e.metadata.name]));
  await p.run(['exec', '-d', 'cdb', 'sh', '-c', 'while true; do nc -l -p 7000 -e echo hello-from-db; done']);
  let open = false;
  for (let i = 0; i < 20 && !open; i++) open = await reaches(p, 'cother', dbIp);
  assert.ok(open, 'without a policy every container reaches the db');

  await controller!.client.create({
    apiVersion: 'tenet.dev/v1',
    kind: 'Policy',
    metadata: { name: 'db-in', tenant: 'acme' },
    spec: {
      appliesTo: { selector: { matchLabels: { role: 'db' } } },
      ingress: [
        {
          name: 'web to db',
          action: 'allow',
          from: [{ selector: { matchLabels: { role: 'web' } } }],
          ports: [{ protocol: 'TCP', port: 7000 }],
        },
      ],
    },
  } as never);
  assert.equal(await explain(byRole.get('web')!, byRole.get('db')!), true, 'explain: web may reach db');
  assert.equal(await explain(byRole.get('other')!, byRole.get('db')!), false, 'explain: other may not');

  let blocked = false;
  for (let i = 0; i < 30 && !blocked; i++) {
    blocked = !(await reaches(p, 'cother', dbIp));
    if (!blocked) await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(blocked, 'the data plane blocks other -> db');
  let allowed = false;
  for (let i = 0; i < 10 && !allowed; i++) allowed = await reaches(p, 'cweb', dbIp);
  assert.ok(allowed, 'the data plane allows web -> db');
  assert.equal(await reaches(p, 'cother', dbIp), false, 'and keeps blocking other -> db');
  await p.run(['rm', '-f', '-t', '0', 'cweb', 'cother', 'cdb'], 120_000);
});

test('podman run --label reaches the endpoint: a policy on it allows app=x and denies app=y, and cannot override the conflist', async (t) => {
  if (skip) return t.skip(skip);
  const p = podman!;
  await p.run(['run', '-d', '--name', 'ldb', '--network', 'role-db', 'localhost/bb', 'sleep', '600'], 120_000);
  await p.run(['run', '-d', '--name', 'lx', '--label', 'app=x', '--network', 'plain-h1', 'localhost/bb', 'sleep', '600'], 120_000);
  await p.run(['run', '-d', '--name', 'ly', '--label', 'app=y', '--network', 'plain-h1', 'localhost/bb', 'sleep', '600'], 120_000);
  // A container labelled by its runner as what the operator's conflist says it is not.
  await p.run(['run', '-d', '--name', 'lz', '--label', 'role=web', '--network', 'role-other', 'localhost/bb', 'sleep', '600'], 120_000);
  const idOf = async (name: string) => (await p.run(['inspect', '-f', '{{.Id}}', name])).trim();
  const byContainer = new Map((await endpoints()).map((e) => [e.spec.containerId ?? '', e]));
  const labelsOf = async (name: string) => byContainer.get(await idOf(name))?.metadata.labels;
  // podman also passes the container's name as K8S_POD_NAME.
  assert.deepEqual(await labelsOf('lx'), { app: 'x', 'io.kubernetes.pod.name': 'lx' }, 'podman run --label app=x is on the endpoint');
  assert.deepEqual(await labelsOf('ly'), { app: 'y', 'io.kubernetes.pod.name': 'ly' });
  assert.deepEqual(
    await labelsOf('lz'),
    { role: 'other', 'io.kubernetes.pod.name': 'lz' },
    "the conflist's labels win over the container's",
  );

  const dbIp = (await p.run(['inspect', '-f', '{{(index .NetworkSettings.Networks "role-db").IPAddress}}', 'ldb'])).trim();
  await p.run(['exec', '-d', 'ldb', 'sh', '-c', 'while true; do nc -l -p 7000 -e echo hello-from-db; done']);
  await controller!.client.create({
    apiVersion: 'tenet.dev/v1',
    kind: 'Policy',
    metadata: { name: 'db-from-app-x', tenant: 'acme' },
    spec: {
      appliesTo: { selector: { matchLabels: { role: 'db' } } },
      ingress: [
        {
          action: 'allow',
          from: [{ selector: { matchLabels: { app: 'x' } } }, { selector: { matchLabels: { role: 'web' } } }],
          ports: [{ protocol: 'TCP', port: 7000 }],
        },
      ],
    },
  } as never);
  let blocked = false;
  for (let i = 0; i < 30 && !blocked; i++) {
    blocked = !(await reaches(p, 'ly', dbIp));
    if (!blocked) await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(blocked, 'app=y -> db is denied');
  let allowed = false;
  for (let i = 0; i < 10 && !allowed; i++) allowed = await reaches(p, 'lx', dbIp);
  assert.ok(allowed, 'app=x -> db is allowed, by the label podman run gave it');
  assert.equal(await reaches(p, 'lz', dbIp), false, 'a container labelled role=web by its runner stays role=other, as its conflist says');
  assert.equal(await reaches(p, 'ly', dbIp), false, 'and app=y stays denied');
  await controller!.client.delete('Policy', 'db-from-app-x', 'acme');
  await p.run(['rm', '-f', '-t', '0', 'ldb', 'lx', 'ly', 'lz'], 120_000);
});
