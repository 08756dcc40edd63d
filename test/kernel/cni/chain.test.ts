/**
 * Tenet first in a conflist, followed by the reference portmap, bandwidth and tuning plugins
 * (/usr/lib/cni), executed the way libcni does (SPEC.md section 3): prevResult handed along on ADD,
 * the final ADD result as prevResult on CHECK and DEL, DEL in reverse order. The chain runs in the
 * agent host's namespace, as a runtime on that host would run it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createNetwork, linksIn, startAgentHost, type AgentHost } from '../../cni/agent-host';
import { nativeShim, runPlugin, type PluginRun } from '../../cni/shim-helpers';
import { run } from '../../runtimes/runtime-helpers';

let host: AgentHost;
let shim: string;
const REFERENCE = '/usr/lib/cni';

before(async () => {
  shim = nativeShim();
  host = await startAgentHost();
  await createNetwork(host.controller, 'acme', 'web', '10.43.0.0/24');
});

after(async () => {
  await host?.stop();
});

type PluginConf = Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> };

/** Runs one plugin of the chain in the host namespace (nsenter), as a runtime there would. */
function execPlugin(plugin: PluginConf, command: string, env: Record<string, string>, stdin: string): Promise<PluginRun> {
  const executable = plugin.type === 'tenet' ? shim : `${REFERENCE}/${plugin.type}`;
  return runPluginIn(`/run/netns/${host.hostNetns}`, executable, { ...env, CNI_COMMAND: command }, stdin);
}

async function runPluginIn(netns: string, executable: string, env: Record<string, string>, stdin: string): Promise<PluginRun> {
  const wrapper = `${host.dir}/in-netns.sh`;
  if (!fs.existsSync(wrapper))
    fs.writeFileSync(wrapper, '#!/bin/sh\nexec nsenter --net="$TENET_TEST_NETNS" "$TENET_TEST_PLUGIN"\n', { mode: 0o755 });
  return runPlugin(wrapper, { ...env, TENET_TEST_NETNS: netns, TENET_TEST_PLUGIN: executable }, stdin);
}

function request(
  list: { name: string; cniVersion: string; plugins: PluginConf[] },
  plugin: PluginConf,
  runtime: Record<string, unknown>,
  prevResult?: unknown,
): string {
  const { capabilities, ...rest } = plugin;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [key, on] of Object.entries(capabilities ?? {})) if (on && runtime[key] !== undefined) runtimeConfig[key] = runtime[key];
  return JSON.stringify({
    ...rest,
    name: list.name,
    cniVersion: list.cniVersion,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prevResult ? { prevResult } : {}),
  });
}

async function chain(
  command: 'ADD' | 'CHECK' | 'DEL',
  list: { name: string; cniVersion: string; plugins: PluginConf[] },
  env: Record<string, string>,
  runtime: Record<string, unknown>,
  added?: unknown,
) {
  const plugins = command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
  let prev: unknown = added;
  for (const plugin of plugins) {
    const out = await execPlugin(plugin, command, env, request(list, plugin, runtime, prev));
    if (out.exitCode !== 0) return { failed: plugin.type, out };
    if (command === 'ADD') prev = out.json;
  }
  return { result: prev as Record<string, any> };
}

test('the reference bandwidth plugin with limits needs the host veth in the runtime namespace: a clear error, nothing left behind', async () => {
  const netns = await host.containerNetns('chain2');
  const list: { name: string; cniVersion: string; plugins: PluginConf[] } = {
    name: 'tenet-bw',
    cniVersion: '1.0.0',
    plugins: [
      { type: 'tenet', tenant: 'acme', network: 'web', agentSocket: host.socket },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };
  const env = { CNI_CONTAINERID: 'chain2', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: REFERENCE };
  const runtime = { bandwidth: { ingressRate: 1000000, ingressBurst: 100000, egressRate: 1000000, egressBurst: 100000 } };
  const added = await chain('ADD', list, env, runtime);
  assert.equal(added.failed, 'bandwidth');
  assert.match(added.out!.json?.msg, /not in host ns|no veth peer/);
  // The runtime then DELs the whole chain (SPEC.md: a delete follows even a failed add).
  const deleted = await chain('DEL', list, env, runtime);
  assert.equal(deleted.failed, undefined, JSON.stringify(deleted.out));
  assert.deepEqual(await linksIn(netns), ['lo']);
});

test('tenet first, then portmap, bandwidth and tuning: ADD, CHECK, DEL', async () => {
  const netns = await host.containerNetns('chain1');
  const list: { name: string; cniVersion: string; plugins: PluginConf[] } = {
    name: 'tenet-chain',
    cniVersion: '1.0.0',
    plugins: [
      { type: 'tenet', tenant: 'acme', network: 'web', agentSocket: host.socket, capabilities: { ips: true, mac: true } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: false },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'tuning', capabilities: { mac: true }, sysctl: { 'net.ipv4.conf.eth0.rp_filter': '2' } },
    ],
  };
  const env = { CNI_CONTAINERID: 'chain1', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: REFERENCE };
  const runtime = { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }], mac: '02:43:00:00:00:09' };
  const added = await chain('ADD', list, env, runtime);
  assert.equal(added.failed, undefined, JSON.stringify(added.out));
  const result = added.result!;
  const container = result.interfaces.find((i: { name: string; sandbox?: string }) => i.name === 'eth0' && i.sandbox === netns);
  assert.ok(container, 'the final result still lists our container interface with its sandbox');
  assert.match(container.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.equal(result.ips[0].address.split('/')[0].startsWith('10.43.0.'), true);
  const { stdout: rp } = await run('nsenter', [`--net=${netns}`, 'cat', '/proc/sys/net/ipv4/conf/eth0/rp_filter']);
  assert.equal(rp.trim(), '2', 'tuning configured our interface');
  const { stdout: nat } = await run('nsenter', [`--net=/run/netns/${host.hostNetns}`, 'iptables', '-t', 'nat', '-S']);
  assert.match(nat, /--dport 18080/, 'portmap programmed the mapping from our result');

  // CHECK the chain without portmap and bandwidth: portmap 1.1.1 looks for IPv6 rules it never made
  // for an IPv4-only result (containernetworking/plugins#819, whatever plugin comes first), and
  // bandwidth's CHECK wants the host end of the veth in its own namespace, while Tenet's lives in the
  // tenant router namespace (docs/cni.md, "Chaining").
  const checked = await chain(
    'CHECK',
    { ...list, plugins: list.plugins.filter((p) => p.type !== 'portmap' && p.type !== 'bandwidth') },
    env,
    runtime,
    result,
  );
  assert.equal(checked.failed, undefined, JSON.stringify(checked.out));

  const deleted = await chain('DEL', list, env, runtime, result);
  assert.equal(deleted.failed, undefined, JSON.stringify(deleted.out));
  assert.deepEqual(await linksIn(netns), ['lo']);
  const { stdout: natAfter } = await run('nsenter', [`--net=/run/netns/${host.hostNetns}`, 'iptables', '-t', 'nat', '-S']);
  assert.doesNotMatch(natAfter, /--dport 18080/, 'portmap removed its mapping');
});
