/**
 * native/tenet-ipd against iproute2 itself: the same attach plan applied with `ip -batch` in one pair
 * of namespaces and through the worker in another leaves exactly the same links, addresses, routes and
 * neighbours (as `ip -json` reads them back); packets flow; failures name the line and the kernel's
 * reason, change nothing after the failing line, and the worker keeps serving.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { IpStepError, IpWorker, IP_WORKER_PATH } from '../../src/kernel/ip-worker';
import { addNetns, delNetns, ipBatchAt, listNetns } from '../../src/kernel/ip';
import { run } from '../../src/kernel/exec';
import { attachPlan } from '../../src/core/dataplane/attach-plan';
import { buildHostView } from '../../src/core/dataplane/host-view';
import type { TenetObject } from '../../src/core/model/object';
import fs from 'node:fs';
import { registerTestStem } from '../helpers/netns';

const prefix = registerTestStem(`tqiw${crypto.randomBytes(3).toString('hex')}`);
const worker = new IpWorker({ fallback: false });

before(() => {
  assert.ok(fs.existsSync(IP_WORKER_PATH), `${IP_WORKER_PATH} is built by scripts/setup.sh (make -C native)`);
});

after(async () => {
  await worker.close();
  for (const name of listNetns().filter((n) => n.startsWith(prefix))) await delNetns(name).catch(() => undefined);
});

const V = 'tenet.dev/v1';

function plan(containerNetns: string) {
  const objects = [
    { apiVersion: V, kind: 'Tenant', metadata: { name: 'acme' }, spec: {}, status: { vni: 70 } },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h1' }, spec: { underlayIP: '192.0.2.1' } },
    {
      apiVersion: V,
      kind: 'Network',
      metadata: { name: 'net', tenant: 'acme' },
      spec: { subnets: [{ cidr: '10.71.0.0/24' }, { cidr: 'fd00:71::/64' }] },
    },
    {
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name: 'web-1', tenant: 'acme' },
      spec: { network: 'net', host: 'h1', containerId: 'c1', ifName: 'eth0' },
      status: { ipv4: '10.71.0.5', ipv6: 'fd00:71::5', mac: '02:71:00:00:00:05' },
    },
  ] as unknown as TenetObject[];
  const view = buildHostView(objects, { hostName: 'h1', netnsPrefix: prefix });
  const tenant = view.tenants[0];
  return attachPlan(tenant.endpoints[0], tenant.networks[0], containerNetns, 'eth0');
}

/**
 * What iproute2 reads back, without what differs between two namespaces by nature (indexes, ids,
 * counters) or by a few microseconds (operstate settles asynchronously after a link comes up).
 */
async function state(netns: string): Promise<unknown> {
  const read = async (args: string[]) =>
    JSON.parse((await run('nsenter', [`--net=/run/netns/${netns}`, 'ip', '-json', ...args])).stdout || '[]') as Record<string, unknown>[];
  const scrub = (items: Record<string, unknown>[]) =>
    items.map((item) => {
      const { ifindex, link_index, link_netnsid, stats, stats64, operstate, addr_info, ...rest } = item as Record<string, unknown> & {
        addr_info?: Record<string, unknown>[];
      };
      void [ifindex, link_index, link_netnsid, stats, stats64, operstate];
      return addr_info
        ? {
            ...rest,
            addr_info: addr_info
              .filter((a) => a.scope !== 'link')
              .map(({ valid_life_time, preferred_life_time, ...a }) => (void valid_life_time, void preferred_life_time, a)),
          }
        : rest;
    });
  return {
    links: scrub(await read(['link'])),
    addresses: scrub(await read(['addr'])),
    routes4: await read(['-4', 'route']),
    routes6: (await read(['-6', 'route'])).filter((r) => !String(r.dst).startsWith('fe80')),
    neighbours: await read(['neigh', 'show', 'nud', 'permanent']),
    proxies: await read(['-6', 'neigh', 'show', 'proxy']),
    proxyDelays: await Promise.all(
      (await read(['link']))
        .filter((l) => l.ifname !== 'lo')
        .flatMap((l) =>
          ['ipv4', 'ipv6'].map(async (family) =>
            (
              await run('nsenter', [`--net=/run/netns/${netns}`, 'cat', `/proc/sys/net/${family}/neigh/${String(l.ifname)}/proxy_delay`])
            ).stdout.trim(),
          ),
        ),
    ),
  };
}

test('an attach plan through tenet-ipd leaves what ip -batch leaves, and packets flow', async () => {
  const names = ['r1', 'c1', 'r2', 'c2'].map((n) => `${prefix}${n}`);
  for (const name of names) await addNetns(name);
  const [r1, c1, r2, c2] = names;
  const byIp = plan(`/run/netns/${c1}`);
  await ipBatchAt(`/run/netns/${r1}`, byIp.hostLines);
  await ipBatchAt(`/run/netns/${c1}`, byIp.containerLines);
  const byWorker = plan(`/run/netns/${c2}`);
  await worker.run(`/run/netns/${r2}`, byWorker.hostLines);
  await worker.run(`/run/netns/${c2}`, byWorker.containerLines);

  const normalize = (value: unknown, from: string, to: string) => JSON.parse(JSON.stringify(value).split(from).join(to));
  assert.deepEqual(normalize(await state(r2), c2, c1), await state(r1), 'router side');
  assert.deepEqual(normalize(await state(c2), r2, r1), await state(c1), 'container side');

  for (const [router, container] of [
    [r1, c1],
    [r2, c2],
  ]) {
    await run('nsenter', [`--net=/run/netns/${router}`, 'ip', 'link', 'set', 'lo', 'up']);
    const ping = await run('nsenter', [`--net=/run/netns/${container}`, 'ping', '-c1', '-W2', '10.71.0.1'], { allowFailure: true });
    assert.equal(ping.code, 0, `${container} reaches its gateway: ${ping.stdout}`);
  }
});

test('failures name the line and the reason, stop there, and the worker keeps serving', async () => {
  const router = `${prefix}r3`;
  const container = `${prefix}c3`;
  await addNetns(router);
  await addNetns(container);
  const lines = plan(`/run/netns/${container}`).hostLines;
  await worker.run(`/run/netns/${router}`, lines);
  await assert.rejects(worker.run(`/run/netns/${router}`, [lines[0], 'addr replace 10.99.0.1/32 dev lo']), /File exists/);
  const { stdout } = await run('nsenter', [`--net=/run/netns/${router}`, 'ip', '-4', 'addr', 'show', 'dev', 'lo']);
  assert.doesNotMatch(stdout, /10\.99\.0\.1/, 'nothing after the failing line ran');
  await assert.rejects(worker.run(`/run/netns/${router}`, ['link set nosuchdev up']), /Cannot find device "nosuchdev"/);
  await assert.rejects(worker.run(`/run/netns/${prefix}missing`, ['link set lo up']), /cannot enter .*No such file or directory/);
  await assert.rejects(
    worker.run(`/run/netns/${router}`, ['link set lo up', 'xfrm state flush']),
    /"xfrm state flush": unsupported by tenet-ipd: xfrm state flush/,
  );
  await assert.rejects(worker.run(`/run/netns/${router}`, ['route replace 10.1.0.0/16 via fd00::1 dev lo']), /unsupported/);
  await worker.run(`/run/netns/${router}`, ['addr replace 10.99.0.2/32 dev lo']);
  // link del: gone from both ends; a second delete names the missing device.
  await worker.run(`/run/netns/${router}`, [`link del ${lines[0].split(' ')[2]}`]);
  assert.deepEqual((await run('nsenter', [`--net=/run/netns/${container}`, 'ip', '-o', 'link'])).stdout.match(/^\d+: (\S+?)[:@]/gm), [
    '1: lo:',
  ]);
  await assert.rejects(worker.run(`/run/netns/${router}`, [`link del ${lines[0].split(' ')[2]}`]), /Cannot find device/);
  const { stdout: after } = await run('nsenter', [`--net=/run/netns/${router}`, 'ip', '-4', 'addr', 'show', 'dev', 'lo']);
  assert.match(after, /10\.99\.0\.2/, 'the worker still serves');
});

test('a killed worker is replaced by the next request', async () => {
  const netns = `${prefix}k1`;
  await addNetns(netns);
  await worker.run(`/run/netns/${netns}`, ['link set lo up']);
  const pid = worker.pid!;
  process.kill(pid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await worker.run(`/run/netns/${netns}`, ['addr replace 10.98.0.1/32 dev lo']);
  assert.notEqual(worker.pid, pid);
});

test('one request plumbs both ends; a failure names its step and line', async () => {
  const router = `${prefix}r4`;
  const container = `${prefix}c4`;
  await addNetns(router);
  await addNetns(container);
  const p = plan(`/run/netns/${container}`);
  await worker.runSteps([
    { nsPath: `/run/netns/${router}`, lines: p.hostLines },
    { nsPath: `/run/netns/${container}`, lines: p.containerLines },
  ]);
  const { stdout } = await run('nsenter', [`--net=/run/netns/${container}`, 'ip', '-4', 'addr', 'show', 'dev', 'eth0']);
  assert.match(stdout, /10\.71\.0\.5\/24/);
  await assert.rejects(
    worker.runSteps([
      { nsPath: `/run/netns/${router}`, lines: ['addr replace 10.97.0.1/32 dev lo'] },
      { nsPath: `/run/netns/${container}`, lines: ['link set lo up', 'link set nosuch up'] },
    ]),
    (error: IpStepError) => {
      assert.ok(error instanceof IpStepError);
      assert.equal(error.step, 1);
      assert.equal(error.line, 'link set nosuch up');
      assert.match(error.message, new RegExp(`ip in /run/netns/${container}: "link set nosuch up": .*Cannot find device`));
      return true;
    },
  );
  await assert.rejects(
    worker.runSteps([
      { nsPath: `/run/netns/${router}`, lines: ['link set lo up'] },
      { nsPath: `/run/netns/${prefix}gone`, lines: ['link set lo up'] },
    ]),
    (error: IpStepError) => error.step === 1 && /cannot enter/.test(error.message),
  );
});

test('route add default never takes over a namespace default route, at any metric, with or without tenet-ipd', async () => {
  const fallback = new IpWorker({ binary: `/nonexistent/${prefix}-tenet-ipd` });
  try {
    for (const [name, w] of [
      ['helper', worker],
      ['ip', fallback],
    ] as const) {
      for (const family of [4, 6] as const) {
        const netns = `${prefix}d${name}${family}`;
        await addNetns(netns);
        const at = `/run/netns/${netns}`;
        const [mine, theirs, gateway, other] =
          family === 4
            ? ['10.96.0.2/24', '10.95.0.2/24', '10.96.0.1', '10.95.0.1']
            : ['fd00:96::2/64', 'fd00:95::2/64', 'fd00:96::1', 'fd00:95::1'];
        await run('ip', ['-n', netns, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0']);
        await run('ip', ['-n', netns, 'link', 'add', 'a1', 'type', 'veth', 'peer', 'name', 'b1']);
        for (const dev of ['a0', 'b0', 'a1', 'b1']) await run('ip', ['-n', netns, 'link', 'set', dev, 'up']);
        await run('ip', ['-n', netns, 'addr', 'add', mine, 'dev', 'a0', ...(family === 6 ? ['nodad'] : [])]);
        await run('ip', ['-n', netns, 'addr', 'add', theirs, 'dev', 'a1', ...(family === 6 ? ['nodad'] : [])]);
        // A namespace without a default route gets one.
        await w.run(at, [`route add default via ${gateway} dev a0 onlink`]);
        const routes = async () => (await run('ip', ['-n', netns, `-${family}`, 'route', 'show', 'default'])).stdout;
        assert.match(await routes(), new RegExp(`default via ${gateway} dev a0`));
        // A second one, even at a metric iproute2 alone would accept beside it, is refused.
        await run('ip', ['-n', netns, `-${family}`, 'route', 'del', 'default']);
        await run('ip', ['-n', netns, `-${family}`, 'route', 'add', 'default', 'via', other, 'dev', 'a1', 'metric', '600']);
        const before = await routes();
        await assert.rejects(w.run(at, [`route add default via ${gateway} dev a0 onlink`]), (error: IpStepError) => {
          assert.ok(error instanceof IpStepError, `${name}: ${String(error)}`);
          assert.equal(error.line, `route add default via ${gateway} dev a0 onlink`);
          assert.match(error.message, new RegExp(`File exists.*IPv${family} default route already; it is never replaced`));
          return true;
        });
        assert.equal(await routes(), before, `${name}: the existing default route is untouched`);
      }
    }
  } finally {
    await fallback.close();
  }
});
