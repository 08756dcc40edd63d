import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCni, type CniDeps } from '../../../src/cni/handler';
import type { CniEnv } from '../../../src/cni/env';
import { AgentUnreachableError, AttachApiError } from '../../../src/attach/api';
import { FakeAttach } from '../../cni/fake-attach';

const NETNS = '/run/netns/test-c1';

function deps(fake = new FakeAttach()): CniDeps & { fake: FakeAttach } {
  return { attach: fake, netnsExists: (path) => path === NETNS, fake };
}

function conf(extra: Record<string, unknown> = {}, version = '1.0.0'): string {
  return JSON.stringify({ cniVersion: version, name: 'tenet-web', type: 'tenet', tenant: 'acme', network: 'web', ...extra });
}

function env(command: string, extra: CniEnv = {}): CniEnv {
  return { CNI_COMMAND: command, CNI_CONTAINERID: 'c0ffee01', CNI_NETNS: NETNS, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...extra };
}

async function call(d: CniDeps, e: CniEnv, stdin: string) {
  const outcome = await runCni({ env: e, stdin }, d);
  return { ...outcome, json: outcome.stdout ? (JSON.parse(outcome.stdout) as Record<string, any>) : undefined };
}

test('VERSION lists the supported versions and echoes the requested one', async () => {
  for (const version of ['0.4.0', '1.0.0', '1.1.0']) {
    const out = await call(deps(), { CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: version }));
    assert.equal(out.exitCode, 0);
    assert.deepEqual(out.json, { cniVersion: version, supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  }
  const bare = await call(deps(), { CNI_COMMAND: 'VERSION' }, '');
  assert.equal(bare.json?.cniVersion, '1.1.0');
});

test('ADD answers in the version of the request', async () => {
  for (const version of ['0.4.0', '1.0.0', '1.1.0']) {
    const d = deps();
    const out = await call(d, env('ADD'), conf({}, version));
    assert.equal(out.exitCode, 0, out.stdout);
    const r = out.json!;
    assert.equal(r.cniVersion, version);
    const container = r.interfaces[r.ips[0].interface];
    assert.equal(container.name, 'eth0');
    assert.equal(container.sandbox, NETNS);
    assert.match(container.mac, /^[0-9a-f:]{17}$/);
    assert.equal(r.ips[0].address, '10.9.0.2/24');
    assert.equal(r.ips[0].gateway, '10.9.0.1');
    assert.equal(r.ips[0].version, version === '0.4.0' ? '4' : undefined);
    assert.equal(container.mtu, version === '1.1.0' ? 1450 : undefined);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.9.0.1' }]);
    assert.equal(r.interfaces[0].sandbox, undefined, 'the host-side interface has no sandbox');
  }
});

test('bad environment, input and versions give the spec error codes', async () => {
  const d = deps();
  const cases: [CniEnv, string, number, RegExp][] = [
    [{}, conf(), 4, /CNI_COMMAND/],
    [{ CNI_COMMAND: 'FROB' }, conf(), 4, /CNI_COMMAND/],
    [env('ADD'), '{not json', 6, /decode/],
    [env('ADD'), '[1,2]', 6, /decode/],
    [env('ADD'), conf({ cniVersion: '0.3.1' }), 1, /incompatible/],
    [env('ADD'), JSON.stringify({ name: 'n', type: 'tenet', tenant: 'acme', network: 'web' }), 7, /invalid network configuration/],
    [env('ADD'), conf({ tenant: undefined }), 7, /invalid network configuration/],
    [env('ADD'), conf({ network: 'Bad_Name' }), 7, /invalid network configuration/],
    [env('ADD'), conf({ labels: { 'bad key!': 'x' } }), 7, /invalid network configuration/],
    [env('ADD', { CNI_CONTAINERID: '' }), conf(), 4, /CNI_CONTAINERID/],
    [env('ADD', { CNI_IFNAME: 'way-too-long-interface' }), conf(), 4, /CNI_IFNAME/],
    [env('ADD', { CNI_NETNS: '' }), conf(), 4, /CNI_NETNS/],
    [env('ADD', { CNI_NETNS: 'relative/path' }), conf(), 4, /CNI_NETNS/],
    [env('ADD', { CNI_ARGS: 'IP' }), conf(), 4, /CNI_ARGS/],
    [env('ADD', { CNI_ARGS: 'IP=10.9.0.300' }), conf(), 7, /address/],
    [env('ADD', { CNI_ARGS: 'MAC=zz:00:00:00:00:00' }), conf(), 7, /MAC/],
    [env('ADD', { CNI_NETNS: '/run/netns/missing' }), conf(), 3, /network namespace does not exist/],
    [env('STATUS'), conf({}, '1.0.0'), 1, /1\.1\.0/],
    [env('GC'), conf({}, '0.4.0'), 1, /1\.1\.0/],
    [env('GC'), conf({}, '1.1.0'), 7, /valid-attachments/],
  ];
  for (const [e, stdin, code, msg] of cases) {
    const out = await call(d, e, stdin);
    assert.equal(out.exitCode, 1, `${JSON.stringify(e)} ${stdin}`);
    assert.equal(out.json?.code, code, `${JSON.stringify(e)} ${stdin}: ${out.stdout}`);
    assert.match(`${out.json?.msg} ${out.json?.details ?? ''}`, msg);
    assert.equal(typeof out.json?.cniVersion, 'string');
  }
  assert.equal(d.fake.attached.size, 0, 'no failed call left an attachment');
  assert.equal(d.fake.requests.length, 0, 'no invalid call reached the agent');
});

test('a failed ADD leaves nothing behind and maps the agent error', async () => {
  const d = deps();
  const unknown = await call(d, env('ADD'), conf({ network: 'nope' }));
  assert.equal(unknown.json?.code, 7);
  assert.match(unknown.json?.msg, /unknown tenant or network/);
  d.fake.failAfterAttach = new AttachApiError(500, 'Internal', 'ip batch failed');
  const broken = await call(d, env('ADD', { CNI_ARGS: 'IP=10.9.0.7' }), conf());
  assert.equal(broken.json?.code, 100);
  assert.equal(d.fake.attached.size, 0, 'the partial attachment was detached');
  d.fake.failAfterAttach = new AttachApiError(503, 'Unavailable', 'controller away');
  assert.equal((await call(d, env('ADD'), conf())).json?.code, 11);
  assert.equal(d.fake.attached.size, 0);
});

test('a conflict from the agent never undoes an existing attachment', async () => {
  const d = deps();
  assert.equal((await call(d, env('ADD'), conf())).exitCode, 0);
  // The agent's view may trail: the list says nothing is attached, the attach itself says 409.
  d.attach.attachments = async () => [];
  d.fake.failAfterAttach = new AttachApiError(409, 'Conflict', 'interface eth0 already exists');
  const again = await call(d, env('ADD'), conf());
  assert.equal(again.json?.code, 101);
  assert.equal(d.fake.attached.size, 1, 'the first attachment stays');
});

test('ADD twice for the same container and interface is an error; the first attachment stays', async () => {
  const d = deps();
  assert.equal((await call(d, env('ADD'), conf())).exitCode, 0);
  const again = await call(d, env('ADD'), conf());
  assert.equal(again.exitCode, 1);
  assert.equal(again.json?.code, 101);
  assert.match(again.json?.msg, /already exists/);
  assert.equal(d.fake.attached.size, 1);
  assert.equal((await call(d, env('ADD', { CNI_IFNAME: 'net1' }), conf())).exitCode, 0, 'another interface is fine');
  assert.equal(d.fake.attached.size, 2);
});

test('DEL is idempotent and works with an empty CNI_NETNS', async () => {
  const d = deps();
  await call(d, env('ADD'), conf());
  const del = await call(d, env('DEL', { CNI_NETNS: '' }), conf());
  assert.deepEqual([del.exitCode, del.stdout], [0, '']);
  assert.equal(d.fake.attached.size, 0);
  const again = await call(d, env('DEL', { CNI_NETNS: '/run/netns/gone' }), conf());
  assert.deepEqual([again.exitCode, again.stdout], [0, '']);
  const noAgent = deps();
  noAgent.attach.detach = async () => {
    throw new AgentUnreachableError('connect ENOENT');
  };
  assert.equal((await call(noAgent, env('DEL'), conf())).json?.code, 11, 'DEL without an agent must be retried');
});

test('CHECK compares the attachment with prevResult', async () => {
  const d = deps();
  const added = await call(d, env('ADD'), conf());
  const ok = await call(d, env('CHECK'), conf({ prevResult: added.json }));
  assert.deepEqual([ok.exitCode, ok.stdout], [0, '']);
  const wrong = structuredClone(added.json!);
  wrong.ips[0].address = '10.9.0.99/24';
  const bad = await call(d, env('CHECK'), conf({ prevResult: wrong }));
  assert.equal(bad.exitCode, 1);
  assert.match(bad.json?.details, /10\.9\.0\.99/);
  assert.equal((await call(d, env('CHECK'), conf())).json?.code, 7, 'prevResult is required');
  await call(d, env('DEL'), conf());
  const missing = await call(d, env('CHECK'), conf({ prevResult: added.json }));
  assert.deepEqual([missing.json?.code, missing.json?.msg], [100, 'attachment is missing'], 'a detached container fails CHECK');
});

test('STATUS reports agent and controller health with codes 50', async () => {
  const d = deps();
  assert.deepEqual(await runCni({ env: { CNI_COMMAND: 'STATUS' }, stdin: conf({}, '1.1.0') }, d), { exitCode: 0, stdout: '' });
  d.fake.controllerReachable = false;
  assert.equal((await call(d, { CNI_COMMAND: 'STATUS' }, conf({}, '1.1.0'))).json?.code, 50);
  d.attach.healthz = async () => {
    throw new AgentUnreachableError('gone');
  };
  assert.equal((await call(d, { CNI_COMMAND: 'STATUS' }, conf({}, '1.1.0'))).json?.code, 50);
});

test('GC removes only what this network configuration attached and the valid list lacks', async () => {
  const d = deps();
  d.fake.networks.add('acme/db');
  for (const id of ['aaa1', 'bbb2', 'ccc3']) await call(d, env('ADD', { CNI_CONTAINERID: id }), conf());
  assert.equal(d.fake.requests[0].attachedBy, `cni/${JSON.parse(conf()).name}`, 'ADD records which configuration attached');
  // On the same tenant and network: Docker's driver, the lab, another configuration, and an endpoint
  // made before attachments recorded their client.
  await d.fake.attach({
    containerId: 'e'.repeat(64),
    ifName: `tnd${'e'.repeat(12)}`,
    netns: NETNS,
    tenant: 'acme',
    network: 'web',
    attachedBy: 'docker',
  });
  await d.fake.attach({ containerId: 'lab1', ifName: 'eth0', netns: NETNS, tenant: 'acme', network: 'web', attachedBy: 'lab' });
  await call(d, env('ADD', { CNI_CONTAINERID: 'other1' }), conf({ name: 'other-conf' }));
  await d.fake.attach({ containerId: 'old1', ifName: 'eth0', netns: NETNS, tenant: 'acme', network: 'web' });
  await call(d, env('ADD', { CNI_CONTAINERID: 'ddd4' }), conf({ network: 'db' }));
  const out = await call(
    d,
    { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' },
    conf({ 'cni.dev/valid-attachments': [{ containerID: 'bbb2', ifname: 'eth0' }] }, '1.1.0'),
  );
  assert.deepEqual([out.exitCode, out.stdout], [0, '']);
  const left = (await d.fake.attachments()).map((a) => a.containerId).sort();
  assert.deepEqual(
    left,
    ['bbb2', 'ddd4', 'e'.repeat(64), 'lab1', 'old1', 'other1'],
    "only aaa1 and ccc3 were this configuration's and stale",
  );
});

test('labels, scope, addresses and MAC come from config, CNI_ARGS, args and runtimeConfig', async () => {
  const d = deps();
  await call(
    d,
    env('ADD', { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;IP=10.9.0.50;MAC=02:AA:BB:CC:DD:EE' }),
    conf({
      labels: { tier: 'frontend', app: 'web' },
      args: {
        cni: {
          labels: [
            { key: 'app', value: 'evil' },
            { key: 'team', value: 'blue' },
            { key: 'bad', value: 'has space' },
          ],
        },
      },
    }),
  );
  const r = d.fake.requests[0];
  assert.equal(r.scope, 'shop');
  assert.deepEqual(r.labels, {
    'io.kubernetes.pod.namespace': 'shop',
    'io.kubernetes.pod.name': 'web-1',
    team: 'blue',
    tier: 'frontend',
    app: 'web',
  });
  assert.deepEqual(r.ips, ['10.9.0.50']);
  assert.equal(r.mac, '02:aa:bb:cc:dd:ee');
  await call(
    d,
    env('ADD', { CNI_CONTAINERID: 'x2', CNI_ARGS: 'IP=10.9.0.51' }),
    conf({ runtimeConfig: { ips: ['10.9.0.60/24'], mac: '02:00:00:00:00:01' } }),
  );
  assert.deepEqual(d.fake.requests[1].ips, ['10.9.0.60'], 'the ips capability wins over CNI_ARGS');
  assert.equal(d.fake.requests[1].mac, '02:00:00:00:00:01');
  const two = await call(d, env('ADD', { CNI_CONTAINERID: 'x3' }), conf({ runtimeConfig: { ips: ['10.9.0.61', '10.9.0.62'] } }));
  assert.equal(two.json?.code, 7);
});

test('a prevResult given to ADD is passed on with our interface appended', async () => {
  const d = deps();
  const prev = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'lo0', sandbox: NETNS }],
    ips: [{ address: '192.168.5.5/24', interface: 0 }],
    routes: [],
    dns: { nameservers: ['10.0.0.53'] },
  };
  const out = await call(d, env('ADD'), conf({ prevResult: prev }));
  const r = out.json!;
  assert.equal(r.interfaces.length, 3);
  assert.equal(r.interfaces[0].name, 'lo0');
  assert.equal(r.ips[0].address, '192.168.5.5/24');
  assert.equal(r.ips[1].interface, 2);
  assert.deepEqual(r.dns, { nameservers: ['10.0.0.53'] });
});

test('an unreachable agent is "try again later"', async () => {
  const d = deps();
  d.attach.attachments = async () => {
    throw new AgentUnreachableError('connect ENOENT');
  };
  const out = await call(d, env('ADD'), conf());
  assert.equal(out.json?.code, 11);
});
