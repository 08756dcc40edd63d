/**
 * Hostile CNI_NETNS values (issue 10): the real tenet-cni executable against a real agent running in a lab
 * host namespace, so "the agent's own namespace" is a test namespace. An ADD into the agent's namespace
 * (by /proc alias and by a bind mount), into a tenant router namespace (by its /run/netns path and by the
 * /proc alias of a process sitting in it), into the machine's root namespace or PID 1's, or into a namespace
 * that has a default route already, is refused with its CNI code and changes nothing in any of them.
 *
 * The machine's own namespace is only ever named with CNI_IFNAME=lo: the veth peer cannot be made under a
 * name that exists, so even a broken guard could not change the machine (it would answer 101, not 4).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import { AttachClient } from '../../../src/attach/client';
import { type AttachApiError } from '../../../src/attach/api';
import { createNetwork, startAgentHost, type AgentHost } from '../../cni/agent-host';
import { nativeShim, runPlugin } from '../../cni/shim-helpers';
import { run } from '../../runtimes/runtime-helpers';

let host: AgentHost;
let shim: string;
let routerNs: string;
const sleepers: ChildProcess[] = [];

before(async () => {
  shim = nativeShim();
  host = await startAgentHost();
  await createNetwork(host.controller, 'acme', 'web', '10.31.0.0/24');
  await createNetwork(host.controller, 'beta', 'web', '10.31.0.0/24');
  // A container on acme makes the agent create acme's router namespace.
  const first = await runPlugin(shim, env('ADD', 'first', await host.containerNetns('first')), conf());
  assert.equal(first.exitCode, 0, first.stdout);
  routerNs = `${host.prefix}t-acme`;
  assert.ok(fs.existsSync(`/run/netns/${routerNs}`), 'the router namespace exists');
});

after(async () => {
  for (const sleeper of sleepers) if (sleeper.exitCode === null && sleeper.signalCode === null) sleeper.kill('SIGKILL');
  await host?.stop();
});

function conf(tenant = 'acme'): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'tenet-web', type: 'tenet', tenant, network: 'web', agentSocket: host.socket });
}

function env(command: string, containerId: string, netns: string, ifName = 'eth0') {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: ifName, CNI_PATH: '/opt/cni/bin' };
}

/** Fields that change by themselves (address and route lifetimes), left out of a comparison. */
const VOLATILE = new Set(['valid_life_time', 'preferred_life_time', 'expires', 'used', 'age']);

const WHOLE = [
  ['link', 'show'],
  ['addr', 'show'],
  ['-4', 'route', 'show', 'table', 'all'],
  ['-6', 'route', 'show', 'table', 'all'],
];
/**
 * In the machine's own namespace other work on this machine (dockerd's veths and bridge) comes and goes, so
 * only what an attach named there could touch is compared: lo (the only CNI_IFNAME used there), its
 * addresses and routes, and the default routes.
 */
const MACHINE = [
  ['link', 'show', 'dev', 'lo'],
  ['addr', 'show', 'dev', 'lo'],
  ['-4', 'route', 'show', 'dev', 'lo', 'table', 'all'],
  ['-6', 'route', 'show', 'dev', 'lo', 'table', 'all'],
  ['-4', 'route', 'show', 'default', 'table', 'all'],
  ['-6', 'route', 'show', 'default', 'table', 'all'],
];
const MACHINE_NS = `/proc/${process.pid}/ns/net`;

/** Links, addresses and routes (every table, both families) of a namespace, as comparable text. */
async function state(netnsPath: string): Promise<string> {
  const parts: unknown[] = [];
  for (const args of netnsPath === MACHINE_NS ? MACHINE : WHOLE) {
    const { stdout } = await run('nsenter', [`--net=${netnsPath}`, 'ip', '-json', ...args]);
    parts.push(JSON.parse(stdout || '[]'));
  }
  return JSON.stringify(parts, (key, value: unknown) => (VOLATILE.has(key) ? undefined : value));
}

/**
 * Waits until no IPv6 address of the namespace is still tentative: a link that came up a moment ago gets
 * its link-local address's local route only when DAD ends, which would look like a change.
 */
async function dadDone(netnsPath: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { stdout } = await run('nsenter', [`--net=${netnsPath}`, 'ip', '-6', 'addr', 'show', 'tentative']);
    if (stdout.trim() === '') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`DAD did not finish in ${netnsPath}`);
}

async function endpointsOf(containerId: string): Promise<Endpoint[]> {
  const all = [
    ...(await host.controller.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items,
    ...(await host.controller.client.list<Endpoint>('Endpoint', { tenant: 'beta' })).items,
  ];
  return all.filter((e) => e.spec.containerId === containerId);
}

/** ADD into `netns` is refused with `code` and a message matching `pattern`; `watched` namespaces do not change. */
async function refused(
  id: string,
  netns: string,
  options: { code: number; pattern: RegExp; watched: string[]; ifName?: string; tenant?: string },
): Promise<void> {
  for (const path of options.watched) await dadDone(path);
  const before = await Promise.all(options.watched.map(state));
  const out = await runPlugin(shim, env('ADD', id, netns, options.ifName), conf(options.tenant));
  assert.equal(out.exitCode, 1, `ADD into ${netns} succeeded: ${out.stdout}`);
  assert.equal(out.json?.code, options.code, out.stdout);
  assert.match(`${out.json?.msg} ${out.json?.details ?? ''}`, options.pattern);
  const afterwards = await Promise.all(options.watched.map(state));
  for (const [index, path] of options.watched.entries()) assert.equal(afterwards[index], before[index], `${path} changed`);
  assert.deepEqual(await endpointsOf(id), [], 'no endpoint was left in the controller');
}

function sitIn(netnsPath: string): ChildProcess {
  const child = spawn('nsenter', [`--net=${netnsPath}`, 'sleep', '600'], { stdio: 'ignore' });
  sleepers.push(child);
  return child;
}

test("the agent's own namespace: by a /proc alias and by a bind mount", async () => {
  const own = `/run/netns/${host.hostNetns}`;
  await refused('own-proc', `/proc/${host.agentPid()}/ns/net`, {
    code: 4,
    pattern: /CNI_NETNS refused.*agent's own network namespace/,
    watched: [own],
  });
  await refused('own-path', own, { code: 4, pattern: /agent's own network namespace/, watched: [own] });
  const alias = `${host.prefix}alias`;
  await run('ip', ['netns', 'attach', alias, String(host.agentPid())]);
  await refused('own-bind', `/run/netns/${alias}`, { code: 4, pattern: /agent's own network namespace/, watched: [own] });
});

test('a tenant router namespace: its own tenant and another, by path and by the /proc alias of a process inside', async () => {
  const router = `/run/netns/${routerNs}`;
  const own = `/run/netns/${host.hostNetns}`;
  await refused('rt-path', router, {
    code: 4,
    pattern: new RegExp(`router namespace of tenant acme \\(${routerNs}\\)`),
    watched: [router, own],
  });
  await refused('rt-beta', router, { code: 4, pattern: /router namespace of tenant acme/, watched: [router, own], tenant: 'beta' });
  const sleeper = sitIn(router);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const alias = `/proc/${sleeper.pid}/ns/net`;
  assert.equal(fs.statSync(alias).ino, fs.statSync(router).ino, 'the process sits in the router namespace');
  await refused('rt-proc', alias, { code: 4, pattern: /router namespace of tenant acme/, watched: [router, own] });
  sleeper.kill('SIGKILL');
});

test("the machine's root namespace (by an alias) and PID 1's are refused before anything is touched", async () => {
  // This test process runs in the machine's root namespace: /proc/<pid>/ns/net is an alias of it.
  const root = MACHINE_NS;
  await refused('root-alias', root, {
    code: 4,
    pattern: /CNI_NETNS refused.*(initial network namespace|PID 1's)/,
    watched: [root],
    ifName: 'lo',
  });
  // Where PID 1's namespace file can be read (full capabilities), the agent refuses it like any other;
  // where it cannot (this process lacks some of PID 1's capabilities), the plugin cannot even see it.
  let readable = true;
  try {
    fs.statSync('/proc/1/ns/net');
  } catch {
    readable = false;
  }
  await refused(
    'pid1',
    '/proc/1/ns/net',
    readable
      ? { code: 4, pattern: /CNI_NETNS refused/, watched: [root], ifName: 'lo' }
      : { code: 3, pattern: /does not exist/, watched: [root], ifName: 'lo' },
  );
});

test('a namespace with a default route keeps it: the ADD fails whatever the route metric', async () => {
  for (const metric of ['0', '100']) {
    const netns = await host.containerNetns(`dflt${metric}`);
    await run('ip', ['-n', netns.split('/').pop()!, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
    await run('ip', ['-n', netns.split('/').pop()!, 'link', 'set', 'up0', 'up']);
    await run('ip', ['-n', netns.split('/').pop()!, 'addr', 'add', '192.0.2.2/24', 'dev', 'up0']);
    await run('ip', ['-n', netns.split('/').pop()!, 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'up0', 'metric', metric]);
    await refused(`dflt${metric}`, netns, {
      code: 101,
      pattern: /already has a default route \(IPv4\); Tenet never replaces one/,
      watched: [netns, `/run/netns/${routerNs}`],
    });
  }
});

test('the attach API answers 403 for a refused namespace', async () => {
  const client = new AttachClient(host.socket);
  try {
    await assert.rejects(
      client.attach({ containerId: 'api-own', netns: `/proc/${host.agentPid()}/ns/net`, ifName: 'eth0', tenant: 'acme', network: 'web' }),
      (error: AttachApiError) => {
        assert.equal(error.status, 403);
        assert.equal(error.reason, 'Forbidden');
        assert.match(error.message, /agent's own network namespace/);
        return true;
      },
    );
    await assert.rejects(
      client.attach({ containerId: 'api-file', netns: '/etc/hostname', ifName: 'eth0', tenant: 'acme', network: 'web' }),
      (error: AttachApiError) => error.status === 400 && /is not a network namespace/.test(error.message),
    );
  } finally {
    client.close();
  }
});

test('an ordinary container namespace still attaches after the refusals', async () => {
  const netns = await host.containerNetns('ok');
  const add = await runPlugin(shim, env('ADD', 'ok', netns), conf());
  assert.equal(add.exitCode, 0, add.stdout);
  const { stdout } = await run('nsenter', [`--net=${netns}`, 'ip', '-json', 'route', 'show', 'default']);
  assert.equal((JSON.parse(stdout) as unknown[]).length, 1, 'the container got its default route');
  const del = await runPlugin(shim, env('DEL', 'ok', netns), conf());
  assert.equal(del.exitCode, 0, del.stdout);
});
