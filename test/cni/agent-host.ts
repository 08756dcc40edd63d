/**
 * A controller plus one agent in its own network namespace, for tests that drive tenet-cni against the
 * real attach path. Everything is uniquely prefixed and removed by stop(), processes by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startController, type RunningController } from '../helpers/controller';
import { run } from '../runtimes/runtime-helpers';
import { ROOT } from './shim-helpers';
import { registerTestStem } from '../helpers/netns';

export interface AgentHost {
  controller: RunningController;
  /** Unique prefix of every namespace this host and its containers use. */
  prefix: string;
  hostNetns: string;
  hostName: string;
  socket: string;
  /** Where the Docker plugin listens when started with dockerPlugin. */
  dockerSocket: string;
  dir: string;
  agentPid(): number;
  restartAgent(): Promise<void>;
  /** SIGTERM the agent and wait for its exit (startAgent brings it back). */
  stopAgent(): Promise<void>;
  startAgent(): Promise<void>;
  /** A fresh container namespace (removed by stop()); returns its path. */
  containerNetns(name: string): Promise<string>;
  stop(): Promise<void>;
}

function startAgentProcess(host: {
  hostNetns: string;
  controllerSocket: string;
  hostName: string;
  socket: string;
  prefix: string;
  dir: string;
  extra: string[];
  tokenFile: string;
  dockerPlugin: boolean;
}): Promise<ChildProcess> {
  // nsenter --net, not ip netns exec: the latter gives the agent its own mount namespace, and the
  // tenant namespaces it creates would vanish with it on a restart (the lab does the same).
  const args = [
    `--net=/run/netns/${host.hostNetns}`,
    process.execPath,
    path.join(ROOT, 'dist', 'src', 'cli', 'main.js'),
    'agent',
    '--controller',
    `unix:${host.controllerSocket}`,
    '--host',
    host.hostName,
    '--underlay-ip',
    '10.254.0.1',
    '--socket',
    host.socket,
    '--netns-prefix',
    host.prefix,
    '--token-file',
    host.tokenFile,
    '--log-level',
    'warn',
    ...(host.dockerPlugin ? ['--docker-plugin'] : []),
    ...host.extra,
  ];
  const log = fs.openSync(path.join(host.dir, 'agent.log'), 'a');
  const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent did not start: ${fs.readFileSync(path.join(host.dir, 'agent.log'), 'utf8').slice(-2000)}`));
    }, 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (${code}): ${fs.readFileSync(path.join(host.dir, 'agent.log'), 'utf8').slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export const DOCKER_PLUGIN_SOCKET = '/run/docker/plugins/tenet.sock';

/** dockerPlugin: true serves Docker's fixed socket; 'private' a socket in the host's temp dir (AgentHost.dockerSocket). */
export async function startAgentHost(options: { agentArgs?: string[]; dockerPlugin?: boolean | 'private' } = {}): Promise<AgentHost> {
  const tag = registerTestStem(crypto.randomBytes(3).toString('hex'));
  const prefix = `tc${tag}-`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-cni-host-'));
  const controllerSocket = path.join(dir, 'controller.sock');
  const hostNetns = `${prefix}host`;
  const created: string[] = [];
  let controller: RunningController | undefined;
  let agent: ChildProcess | undefined;
  let handle: AgentHost | undefined;
  const stop = async () => {
    if (agent) await stopChild(agent);
    // A test may have replaced the controller (kill + restart): stop the current one.
    const current = handle?.controller ?? controller;
    if (current) await current.stop();
    const { stdout } = await run('ip', ['netns', 'list']);
    for (const line of stdout.split('\n')) {
      const name = line.split(' ')[0];
      if (name && name.startsWith(prefix)) await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    controller = await startController({ extraArgs: ['--listen', `unix:${controllerSocket}`] });
    await run('ip', ['netns', 'add', hostNetns]);
    created.push(hostNetns);
    await run('ip', ['-n', hostNetns, 'link', 'set', 'lo', 'up']);
    // The underlay address on a 1500-byte link, as on a real host (the agent sizes the overlay MTU from
    // it; on lo it would be 65,486). This kernel has no dummy device: a veth pair stands in.
    await run('ip', ['-n', hostNetns, 'link', 'add', 'underlay0', 'type', 'veth', 'peer', 'name', 'underlay1']);
    await run('ip', ['-n', hostNetns, 'link', 'set', 'underlay1', 'up']);
    await run('ip', ['-n', hostNetns, 'link', 'set', 'underlay0', 'up']);
    await run('ip', ['-n', hostNetns, 'addr', 'add', '10.254.0.1/32', 'dev', 'underlay0']);
    // An agent-role token for this host, in a 0600 file the agent reads (never on a command line).
    const hostName = `h-${tag}`;
    const tokenFile = path.join(dir, 'agent.token');
    const issued = (await controller.client.request('POST', '/api/v1/tokens', {
      role: 'agent',
      host: hostName,
      description: 'tenet-cni tests',
    })) as { token: string };
    fs.writeFileSync(tokenFile, `${issued.token}\n`, { mode: 0o600 });
    const spec = {
      hostNetns,
      controllerSocket,
      hostName,
      socket: path.join(dir, 'agent.sock'),
      prefix,
      dir,
      tokenFile,
      extra: options.agentArgs ?? [],
      dockerPlugin: options.dockerPlugin === true,
    };
    const dockerSocket = options.dockerPlugin === 'private' ? path.join(dir, 'docker-plugin.sock') : DOCKER_PLUGIN_SOCKET;
    if (options.dockerPlugin === 'private') spec.extra = ['--docker-plugin', dockerSocket, ...spec.extra];
    agent = await startAgentProcess(spec);
    handle = {
      controller,
      prefix,
      hostNetns,
      hostName: spec.hostName,
      socket: spec.socket,
      dockerSocket,
      dir,
      agentPid: () => agent!.pid!,
      restartAgent: async () => {
        await stopChild(agent!);
        agent = await startAgentProcess(spec);
      },
      stopAgent: () => stopChild(agent!),
      startAgent: async () => {
        agent = await startAgentProcess(spec);
      },
      containerNetns: async (name: string) => {
        const netns = `${prefix}${name}`;
        await run('ip', ['netns', 'add', netns]);
        return `/run/netns/${netns}`;
      },
      stop,
    };
    return handle;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Tenants and networks as YAML-free objects for the controller. */
export async function createNetwork(controller: RunningController, tenant: string, network: string, cidr: string): Promise<void> {
  const client = controller.client;
  if (!(await client.find('Tenant', tenant))) {
    await client.create({ apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: tenant }, spec: {} } as never);
  }
  await client.create({
    apiVersion: 'tenet.dev/v1',
    kind: 'Network',
    metadata: { name: network, tenant },
    spec: { subnets: [{ cidr }] },
  } as never);
}

/** Link names inside a namespace (by path). */
export async function linksIn(netnsPath: string): Promise<string[]> {
  const { stdout } = await run('nsenter', [`--net=${netnsPath}`, 'ip', '-json', 'link', 'show']);
  return (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname);
}

export async function addressesIn(netnsPath: string, ifName: string): Promise<string[]> {
  const { stdout } = await run('nsenter', [`--net=${netnsPath}`, 'ip', '-json', 'addr', 'show', 'dev', ifName]);
  const links = JSON.parse(stdout) as { addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }[];
  return links.flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`));
}
