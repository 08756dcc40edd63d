/**
 * The CNI spec's rules driven on the real tenet-cni executable (env + stdin) against a real agent and
 * controller: every command in every version, error codes, idempotent DEL, GC, failed ADDs leaving
 * nothing behind, and 100 parallel ADDs/DELs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import { addressesIn, createNetwork, linksIn, startAgentHost, type AgentHost } from '../../cni/agent-host';
import { nativeShim, runPlugin } from '../../cni/shim-helpers';
import { AttachClient } from '../../../src/attach/client';

let host: AgentHost;
let shim: string;

before(async () => {
  shim = nativeShim();
  host = await startAgentHost();
  await createNetwork(host.controller, 'acme', 'web', '10.30.0.0/24');
  await createNetwork(host.controller, 'beta', 'web', '10.30.0.0/24');
});

after(async () => {
  await host?.stop();
});

function conf(version: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: version,
    name: 'tenet-web',
    type: 'tenet',
    tenant: 'acme',
    network: 'web',
    agentSocket: host.socket,
    ...extra,
  });
}

function env(command: string, containerId: string, netns: string, ifName = 'eth0', extra: Record<string, string> = {}) {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_NETNS: netns,
    CNI_IFNAME: ifName,
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    ...extra,
  };
}

async function endpointsOf(tenant: string, containerId?: string): Promise<Endpoint[]> {
  const list = await host.controller.client.list<Endpoint>('Endpoint', { tenant });
  return list.items.filter((e) => containerId === undefined || e.spec.containerId === containerId);
}

test('every command in every version', async () => {
  for (const version of ['0.4.0', '1.0.0', '1.1.0']) {
    const id = `cmd-${version.replace(/\./g, '')}`;
    const netns = await host.containerNetns(id);
    const v = await runPlugin(shim, { CNI_COMMAND: 'VERSION' }, conf(version));
    assert.deepEqual(v.json, { cniVersion: version, supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });

    const add = await runPlugin(shim, env('ADD', id, netns), conf(version));
    assert.equal(add.exitCode, 0, add.stdout);
    const result = add.json!;
    assert.equal(result.cniVersion, version);
    const ip = result.ips[0];
    assert.equal(ip.version, version === '0.4.0' ? '4' : undefined);
    const container = result.interfaces[ip.interface];
    assert.deepEqual([container.name, container.sandbox], ['eth0', netns]);
    assert.match(container.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.deepEqual(await addressesIn(netns, 'eth0'), [ip.address], 'the result is what the kernel has');
    assert.equal((await endpointsOf('acme', id)).length, 1);

    const check = await runPlugin(shim, env('CHECK', id, netns), conf(version, { prevResult: result }));
    assert.deepEqual([check.exitCode, check.stdout], [0, ''], check.stdout);

    const status = await runPlugin(shim, { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, conf(version));
    if (version === '1.1.0') assert.deepEqual([status.exitCode, status.stdout], [0, ''], status.stdout);
    else assert.equal(status.json?.code, 1, 'STATUS needs 1.1.0');

    const gc = await runPlugin(
      shim,
      { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' },
      conf(version, { 'cni.dev/valid-attachments': [{ containerID: id, ifname: 'eth0' }] }),
    );
    if (version === '1.1.0') assert.deepEqual([gc.exitCode, gc.stdout], [0, ''], gc.stdout);
    else assert.equal(gc.json?.code, 1, 'GC needs 1.1.0');
    assert.equal((await endpointsOf('acme', id)).length, 1, 'GC keeps a valid attachment');

    const del = await runPlugin(shim, env('DEL', id, netns), conf(version, { prevResult: result }));
    assert.deepEqual([del.exitCode, del.stdout], [0, '']);
    assert.ok(!(await linksIn(netns)).includes('eth0'), 'DEL removed the interface');
    assert.equal((await endpointsOf('acme', id)).length, 0, 'DEL released the endpoint');
    const again = await runPlugin(shim, env('DEL', id, netns), conf(version));
    assert.deepEqual([again.exitCode, again.stdout], [0, ''], 'a second DEL succeeds');
  }
});

test('DEL with an empty CNI_NETNS cleans up by container id; ADD twice is an error', async () => {
  const netns = await host.containerNetns('delid');
  const add = await runPlugin(shim, env('ADD', 'delid', netns), conf('1.0.0'));
  assert.equal(add.exitCode, 0, add.stdout);
  const twice = await runPlugin(shim, env('ADD', 'delid', netns), conf('1.0.0'));
  assert.deepEqual([twice.exitCode, twice.json?.code], [1, 101]);
  assert.deepEqual(await addressesIn(netns, 'eth0'), [add.json!.ips[0].address], 'the first attachment is untouched');
  const del = await runPlugin(shim, env('DEL', 'delid', ''), conf('1.0.0'));
  assert.deepEqual([del.exitCode, del.stdout], [0, ''], del.stdout);
  assert.equal((await endpointsOf('acme', 'delid')).length, 0);
  assert.ok(!(await linksIn(netns)).includes('eth0'));
});

test('bad input gets the right code and leaves nothing behind', async () => {
  const netns = await host.containerNetns('bad');
  const cases: [Record<string, string>, string, number, RegExp][] = [
    [env('ADD', 'bad', netns), '{"cniVersion": "1.0.0", "agentSocket": "' + host.socket + '", ', 6, /decode/],
    [env('ADD', 'bad', netns, 'eth0', { CNI_CONTAINERID: '' }), conf('1.0.0'), 4, /CNI_CONTAINERID/],
    [{ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'bad', CNI_NETNS: netns }, conf('1.0.0'), 4, /CNI_IFNAME/],
    [{ CNI_CONTAINERID: 'bad', CNI_NETNS: netns, CNI_IFNAME: 'eth0' }, conf('1.0.0'), 4, /CNI_COMMAND/],
    [env('ADD', 'bad', netns), conf('1.0.0', { tenant: 'nobody' }), 7, /unknown tenant or network/],
    [env('ADD', 'bad', netns), conf('1.0.0', { network: 'nowhere' }), 7, /unknown tenant or network/],
    [env('ADD', 'bad', `/run/netns/${host.prefix}missing`), conf('1.0.0'), 3, /does not exist/],
    [env('ADD', 'bad', netns), conf('0.3.1'), 1, /incompatible/],
  ];
  for (const [e, stdin, code, pattern] of cases) {
    const out = await runPlugin(shim, e, stdin);
    assert.equal(out.exitCode, 1, `${JSON.stringify(e)}: ${out.stdout}`);
    assert.equal(out.json?.code, code, out.stdout);
    assert.match(`${out.json?.msg} ${out.json?.details ?? ''}`, pattern);
  }
  assert.deepEqual(await linksIn(netns), ['lo'], 'no interface was left in the container');
  assert.equal(
    (await endpointsOf('acme', 'bad')).length + (await endpointsOf('beta', 'bad')).length,
    0,
    'no endpoint was left in the controller',
  );
});

test('a requested address that is taken fails the ADD cleanly', async () => {
  const first = await host.containerNetns('ipa');
  const second = await host.containerNetns('ipb');
  const a = await runPlugin(shim, env('ADD', 'ipa', first, 'eth0', { CNI_ARGS: 'IgnoreUnknown=1;IP=10.30.0.200' }), conf('1.0.0'));
  assert.equal(a.json?.ips[0].address, '10.30.0.200/24', a.stdout);
  const b = await runPlugin(shim, env('ADD', 'ipb', second, 'eth0', { CNI_ARGS: 'IP=10.30.0.200' }), conf('1.0.0'));
  assert.deepEqual([b.exitCode, b.json?.code], [1, 101], b.stdout);
  assert.deepEqual(await linksIn(second), ['lo']);
  assert.equal((await endpointsOf('acme', 'ipb')).length, 0);
  await runPlugin(shim, env('DEL', 'ipa', first), conf('1.0.0'));
});

test('GC removes the attachments of this network that are not in the valid list', async () => {
  const ids = ['gca', 'gcb', 'gcc'];
  const netnsOf = new Map<string, string>();
  for (const id of ids) {
    netnsOf.set(id, await host.containerNetns(id));
    const out = await runPlugin(shim, env('ADD', id, netnsOf.get(id)!), conf('1.1.0'));
    assert.equal(out.exitCode, 0, out.stdout);
  }
  const other = await runPlugin(shim, env('ADD', 'gcd', await host.containerNetns('gcd')), conf('1.1.0', { tenant: 'beta' }));
  assert.equal(other.exitCode, 0, other.stdout);
  // Same tenant and network, attached by another configuration and by the lab (through the attach API).
  const sibling = await runPlugin(shim, env('ADD', 'gce', await host.containerNetns('gce')), conf('1.1.0', { name: 'tenet-other' }));
  assert.equal(sibling.exitCode, 0, sibling.stdout);
  const lab = new AttachClient(host.socket);
  await lab
    .attach({
      containerId: 'gcf',
      netns: await host.containerNetns('gcf'),
      ifName: 'eth0',
      tenant: 'acme',
      network: 'web',
      attachedBy: 'lab',
    })
    .finally(() => lab.close());
  assert.deepEqual((await endpointsOf('acme', 'gca'))[0].spec.attachedBy, 'cni/tenet-web');
  const gc = await runPlugin(
    shim,
    { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' },
    conf('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'gcb', ifname: 'eth0' }] }),
  );
  assert.deepEqual([gc.exitCode, gc.stdout], [0, ''], gc.stdout);
  const left = (await endpointsOf('acme')).map((e) => e.spec.containerId).filter((id) => id?.startsWith('gc'));
  assert.deepEqual(left.sort(), ['gcb', 'gce', 'gcf'], "GC kept the valid one, another configuration's and the lab's");
  assert.ok(!(await linksIn(netnsOf.get('gca')!)).includes('eth0'), 'GC removed the stale interface');
  assert.ok((await linksIn(netnsOf.get('gcb')!)).includes('eth0'), 'GC kept the valid one');
  assert.equal((await endpointsOf('beta', 'gcd')).length, 1, "another tenant's attachment is not this network's");
  for (const [id, tenant] of [
    ['gcb', 'acme'],
    ['gcd', 'beta'],
    ['gce', 'acme'],
    ['gcf', 'acme'],
  ])
    await runPlugin(shim, env('DEL', id, ''), conf('1.1.0', { tenant }));
});

test('100 parallel ADDs get 100 distinct addresses; 100 DELs give the pool back', async () => {
  const before = (await endpointsOf('beta')).length;
  const netnses = await Promise.all(Array.from({ length: 100 }, (_, i) => host.containerNetns(`p${i}`)));
  const adds = await Promise.all(
    netnses.map((netns, i) => runPlugin(shim, env('ADD', `par${i}`, netns), conf('1.0.0', { tenant: 'beta' }))),
  );
  const failures = adds.filter((a) => a.exitCode !== 0).map((a) => a.stdout);
  assert.deepEqual(failures, []);
  const addresses = new Set(adds.map((a) => a.json!.ips[0].address));
  assert.equal(addresses.size, 100);
  assert.equal((await endpointsOf('beta')).length, before + 100);
  const dels = await Promise.all(netnses.map((_, i) => runPlugin(shim, env('DEL', `par${i}`, ''), conf('1.0.0', { tenant: 'beta' }))));
  assert.deepEqual(
    dels.filter((d) => d.exitCode !== 0).map((d) => d.stdout),
    [],
  );
  assert.equal((await endpointsOf('beta')).length, before);
  // The pool is as before: the same addresses can be had again.
  const again = await runPlugin(
    shim,
    env('ADD', 'par-again', netnses[0], 'eth0', { CNI_ARGS: `IP=${[...addresses][0].split('/')[0]}` }),
    conf('1.0.0', { tenant: 'beta' }),
  );
  assert.equal(again.exitCode, 0, again.stdout);
  await runPlugin(shim, env('DEL', 'par-again', ''), conf('1.0.0', { tenant: 'beta' }));
});

test('STATUS is 50 and ADD "try again later" while the controller is away; both recover', async () => {
  const status = () => runPlugin(shim, { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, conf('1.1.0'));
  const until = async (want: (code: number | undefined) => boolean): Promise<number | undefined> => {
    let code: number | undefined;
    for (let i = 0; i < 100; i++) {
      const out = await status();
      code = out.exitCode === 0 ? 0 : out.json?.code;
      if (want(code)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return code;
  };
  assert.equal(await until((c) => c === 0), 0);
  const keptNetns = await host.containerNetns('kept');
  const kept = await runPlugin(shim, env('ADD', 'kept', keptNetns), conf('1.0.0'));
  assert.equal(kept.exitCode, 0, kept.stdout);
  await host.controller.kill();
  try {
    assert.equal(await until((c) => c === 50), 50, 'STATUS: not available');
    const netns = await host.containerNetns('away');
    const add = await runPlugin(shim, env('ADD', 'away', netns), conf('1.0.0'));
    assert.deepEqual([add.exitCode, add.json?.code], [1, 11], add.stdout);
    assert.deepEqual(await linksIn(netns), ['lo'], 'nothing was left behind');
    // A retried ADD of a running container meanwhile must not take its interface away: tenet-cni
    // refuses it, and the attach API it would reach fails without rolling back what it did not make.
    const retried = await runPlugin(shim, env('ADD', 'kept', keptNetns), conf('1.0.0'));
    assert.deepEqual([retried.exitCode, retried.json?.code], [1, 101], retried.stdout);
    const direct = new AttachClient(host.socket);
    try {
      await assert.rejects(
        direct.attach({ containerId: 'kept', netns: keptNetns, ifName: 'eth0', tenant: 'acme', network: 'web' }),
        /controller unreachable/,
      );
    } finally {
      direct.close();
    }
    assert.deepEqual(await addressesIn(keptNetns, 'eth0'), [kept.json!.ips[0].address], 'the running container keeps its interface');
  } finally {
    host.controller = await host.controller.restart();
  }
  assert.equal(await until((c) => c === 0), 0, 'STATUS recovers with the controller');
});
