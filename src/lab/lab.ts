/**
 * `tenet lab`: a real multi-host lab on one machine. Each host is a network namespace with an underlay
 * veth to a shared fabric bridge and its own agent process (`ip netns exec`); containers are further
 * namespaces attached through their host's agent socket. The lab's controller listens on a unix socket
 * (host namespaces cannot reach the root namespace's 127.0.0.1) and on 127.0.0.1 for the operator.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AttachClient } from '../attach/client';
import type { AttachResult } from '../attach/protocol';
import { TenetClient } from '../client/api-client';
import { ApiError } from '../client/errors';
import { NAME_REGEX, LABEL_KEY_REGEX, LABEL_VALUE_REGEX } from '../core/model/names';
import { parseIp } from '../core/net/ip';
import { addNetns, assertNetns, delNetns, netnsExists } from '../kernel/ip';
import { resolvConf } from '../core/dns/records';
import { DEFAULT_DNS_DIR, stopLeftover } from '../agent/dns/resolver';
import { createOutside, OUTSIDE_NAME, stopOutside, type LabOutside } from './outside';
import {
  createFabric,
  createHostNamespace,
  deleteNamespaces,
  hostUnderlayIP,
  hostUnderlayIPv6,
  namespacesWithPrefix,
  UNDERLAY_CIDR,
} from './fabric';
import {
  CLI_MAIN,
  findProcesses,
  hasArg,
  isAlive,
  killProcesses,
  netnsInode,
  startDetached,
  stopPid,
  tail,
  unixGet,
  unixGetJson,
  waitFor,
} from './processes';
import {
  CONTAINER_NAME_REGEX,
  LabError,
  labDir,
  labNetnsPrefix,
  loadLab,
  saveLab,
  type LabContainer,
  type LabHost,
  type LabState,
} from './state';

export interface UpOptions {
  name: string;
  hosts: number;
  /** An existing controller (unix:/path only: agents in host namespaces reach it through the file system). */
  server?: string;
  /** Admin token for --server (default: env TENET_TOKEN). */
  token?: string;
  /** The agents' full resync period in seconds (tests use a short one to see repairs). */
  agentResync?: number;
  log?: (line: string) => void;
}

export function labClient(state: LabState): TenetClient {
  return new TenetClient({ servers: state.controller.servers, token: state.controller.token, timeoutMs: 30000 });
}

function agentMarker(host: LabHost): string {
  return host.socket;
}

/**
 * Every process the lab starts carries this in its environment (inherited by whatever it forks), so
 * `down` finds them all by what they are, not only by the pids it recorded.
 */
export const LAB_ENV_MARKER = 'TENET_LAB_DIR';

/** The agents of `host`: the one we recorded, and any started by hand on its socket. */
function agentProcesses(host: LabHost): number[] {
  return findProcesses((p) => p.argv.includes('agent') && hasArg(p.argv, '--socket', host.socket));
}

/**
 * Every process that belongs to the lab: marked with its directory, an agent on one of its sockets,
 * its own controller, or anything running inside one of its namespaces (a probe listener and its
 * forked children, a command left by `lab exec`).
 */
export function labProcesses(name: string, state?: LabState): number[] {
  const dir = labDir(name);
  const marker = `${LAB_ENV_MARKER}=${dir}`;
  const sockets = new Set((state?.hosts ?? []).map((h) => h.socket));
  const controllerSocket = state && !state.controller.external ? state.controller.socket : undefined;
  const inodes = new Set(
    namespacesWithPrefix(labNetnsPrefix(name))
      .map(netnsInode)
      .filter((i): i is number => i !== undefined),
  );
  return findProcesses((p) => {
    if (p.argv.includes('agent') && [...sockets].some((socket) => hasArg(p.argv, '--socket', socket))) return true;
    if (controllerSocket && p.argv.includes('controller') && hasArg(p.argv, '--listen', `unix:${controllerSocket}`)) return true;
    const ns = inodes.size > 0 ? p.netns() : undefined;
    if (ns !== undefined && inodes.has(ns)) return true;
    return p.env().includes(marker);
  });
}

async function startController(state: LabState): Promise<void> {
  const dataDir = path.join(state.dir, 'controller');
  const socket = path.join(state.dir, 'controller.sock');
  const log = path.join(state.dir, 'controller.log');
  const pid = startDetached(
    process.execPath,
    [CLI_MAIN, 'controller', '--data-dir', dataDir, '--listen', `unix:${socket}`, '--listen', '127.0.0.1:0'],
    log,
    {
      TENET_LOG_LEVEL: process.env.TENET_LOG_LEVEL ?? 'warn',
      [LAB_ENV_MARKER]: state.dir,
    },
  );
  state.controller = { external: false, servers: [`unix:${socket}`], pid, socket, dataDir, log };
  saveLab(state);
  let url: string | undefined;
  await waitFor(
    'the lab controller to listen',
    () => {
      if (!isAlive(pid)) throw new LabError(`the controller exited:\n${tail(log)}`);
      const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      const urls = [...lines.matchAll(/tenet controller listening on (\S+)/g)].map((m) => m[1]);
      url = urls.find((u) => u.startsWith('http'));
      return urls.length >= 2;
    },
    30000,
    () => tail(log),
  );
  state.controller.url = url;
  state.controller.token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  saveLab(state);
}

/** One agent-role token per host, written to a 0600 file the agent reads (never on a command line). */
async function issueAgentToken(state: LabState, host: LabHost): Promise<void> {
  if (!state.controller.token) return;
  const answer = (await labClient(state).request('POST', '/api/v1/tokens', {
    role: 'agent',
    host: host.name,
    description: `tenet lab ${state.name}`,
  })) as { token: string; id?: string };
  host.tokenId = answer.id;
  host.tokenFile = path.join(path.dirname(host.socket), 'agent.token');
  fs.writeFileSync(host.tokenFile, `${answer.token}\n`, { mode: 0o600 });
}

async function startAgent(state: LabState, host: LabHost): Promise<void> {
  const controller = state.controller.servers.filter((s) => s.startsWith('unix:')).join(',');
  host.agentPid = startDetached(
    // nsenter --net, not `ip netns exec`: the latter also enters a private mount namespace, and the tenant
    // namespaces the agent creates (bind mounts under /run/netns) would then exist only in there and
    // vanish with the agent process.
    'nsenter',
    [
      `--net=/run/netns/${host.netns}`,
      process.execPath,
      CLI_MAIN,
      'agent',
      '--controller',
      controller,
      '--host',
      host.name,
      '--underlay-ip',
      host.underlayIP,
      '--socket',
      host.socket,
      '--netns-prefix',
      host.netnsPrefix,
      ...(host.tokenFile ? ['--token-file', host.tokenFile] : []),
      ...(state.agentResync ? ['--resync', String(state.agentResync)] : []),
      // The lab's upstream router (src/lab/outside.ts): floating IPs are announced to it.
      ...(state.outside
        ? [
            '--bgp-peer',
            state.outside.underlayIP,
            '--bgp-asn',
            String(state.outside.hostAsn),
            '--bgp-peer-asn',
            String(state.outside.asn),
            '--bgp-dir',
            path.join(path.dirname(host.socket), 'bird'),
          ]
        : []),
      '--log-level',
      process.env.TENET_LOG_LEVEL ?? 'info',
    ],
    host.log,
    { [LAB_ENV_MARKER]: state.dir },
  );
  saveLab(state);
}

export async function waitAgent(host: LabHost, timeoutMs = 30000): Promise<void> {
  await waitFor(
    `agent ${host.name}`,
    async () => {
      if (host.agentPid && !isAlive(host.agentPid)) throw new LabError(`agent ${host.name} exited:\n${tail(host.log)}`);
      return unixGet(host.socket, '/v1/healthz');
    },
    timeoutMs,
    () => tail(host.log),
  );
}

/** What an agent's healthz says about reconciling (src/agent/agent.ts, reconcileProgress). */
export interface AgentHealth {
  ok: boolean;
  controllerReachable: boolean;
  synced?: boolean;
  passes?: number;
  fullPasses?: number;
  lastPassFailures?: number;
  overlayMtu?: number;
}

export async function agentHealth(host: LabHost): Promise<AgentHealth | undefined> {
  return (await unixGetJson(host.socket, '/v1/healthz')) as AgentHealth | undefined;
}

/**
 * Waits until the agent completed a full pass (listed, read every namespace back and repaired it):
 * answering healthz only says it started, and a restarted agent has not looked at the kernel yet.
 */
export async function waitReconciled(host: LabHost, timeoutMs = 30000): Promise<AgentHealth> {
  let health: AgentHealth | undefined;
  await waitFor(
    `agent ${host.name}'s first full reconcile pass`,
    async () => {
      if (host.agentPid && !isAlive(host.agentPid)) throw new LabError(`agent ${host.name} exited:\n${tail(host.log)}`);
      health = await agentHealth(host);
      return (health?.fullPasses ?? 0) > 0;
    },
    timeoutMs,
    () => tail(host.log),
  );
  return health!;
}

export async function labUp(options: UpOptions): Promise<LabState> {
  const log = options.log ?? (() => undefined);
  const dir = labDir(options.name);
  if (loadLab(options.name))
    throw new LabError(`lab "${options.name}" exists; remove it first with \`tenet lab down --name ${options.name}\``);
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > 50) throw new LabError('--hosts must be between 1 and 50');
  if (options.agentResync !== undefined && !(Number.isFinite(options.agentResync) && options.agentResync >= 1))
    throw new LabError("the agents' resync period must be at least 1 second");
  if (options.server && !/^unix:\/\S+$/.test(options.server)) {
    throw new LabError('--server must be unix:/abs/path.sock: agents run in host namespaces and cannot reach 127.0.0.1 of this one');
  }
  const prefix = labNetnsPrefix(options.name);
  const leftovers = namespacesWithPrefix(prefix);
  if (leftovers.length) await deleteNamespaces(leftovers);
  const state: LabState = {
    name: options.name,
    dir,
    fabricNetns: `${prefix}fab`,
    underlayCidr: UNDERLAY_CIDR,
    controller: {
      external: true,
      servers: options.server ? [options.server] : [],
      token: options.server ? (options.token ?? process.env.TENET_TOKEN) : undefined,
    },
    hosts: [],
    containers: [],
    createdAt: new Date().toISOString(),
    ...(options.agentResync !== undefined ? { agentResync: options.agentResync } : {}),
  };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  saveLab(state);
  try {
    await createFabric(state.fabricNetns);
    for (let i = 1; i <= options.hosts; i++) {
      const name = `h${i}`;
      const host: LabHost = {
        name,
        netns: `${prefix}${name}`,
        underlayIP: hostUnderlayIP(i),
        fabricPort: `p${i}`,
        socket: path.join(dir, name, 'agent.sock'),
        netnsPrefix: `${prefix}${name}-`,
        log: path.join(dir, name, 'agent.log'),
      };
      fs.mkdirSync(path.dirname(host.socket), { recursive: true });
      await createHostNamespace(state.fabricNetns, host.netns, host.fabricPort, host.underlayIP, hostUnderlayIPv6(i));
      state.hosts.push(host);
      saveLab(state);
    }
    state.outside = await createOutside(state, { [LAB_ENV_MARKER]: state.dir });
    saveLab(state);
    if (!options.server) await startController(state);
    else await notePreexistingHosts(state);
    for (const host of state.hosts) await issueAgentToken(state, host);
    for (const host of state.hosts) await startAgent(state, host);
    await Promise.all(state.hosts.map((host) => waitAgent(host)));
    log(
      `lab ${state.name}: fabric ${state.fabricNetns} (${UNDERLAY_CIDR}), controller ${state.controller.url ?? state.controller.servers.join(',')}`,
    );
    for (const host of state.hosts)
      log(`  host ${host.name}: netns ${host.netns}, underlay ${host.underlayIP}, agent pid ${host.agentPid}, socket ${host.socket}`);
    const out = state.outside;
    log(
      `  outside: netns ${out.netns}, router ${out.underlayIP} (BIRD, AS ${out.asn}, socket ${out.birdSocket}), internet ${out.internetIP}, corporate ${out.corporateIP}`,
    );
    return state;
  } catch (error) {
    await labDown(options.name).catch(() => undefined);
    throw error;
  }
}

/** On someone else's controller `down` must remove only what `up` made: remember the hosts already there. */
async function notePreexistingHosts(state: LabState): Promise<void> {
  const client = labClient(state);
  for (const host of state.hosts) host.hostPreexisted = (await client.find('Host', host.name)) !== undefined;
  saveLab(state);
}

/** Removes the Host objects and agent tokens this lab made on an external controller; returns what failed. */
async function removeFromExternalController(state: LabState): Promise<string[]> {
  if (!state.controller.token) return [];
  const client = labClient(state);
  const failures: string[] = [];
  for (const host of state.hosts) {
    if (host.tokenId) {
      await client.request('DELETE', `/api/v1/tokens/${encodeURIComponent(host.tokenId)}`).catch((error: Error) => {
        if (!(error instanceof ApiError && error.status === 404)) failures.push(`token of ${host.name}: ${error.message}`);
      });
    }
    if (host.hostPreexisted === false) {
      await client.delete('Host', host.name).catch((error: Error) => {
        if (!(error instanceof ApiError && error.status === 404)) failures.push(`Host ${host.name}: ${error.message}`);
      });
    }
  }
  return failures;
}

/** Stops every process the lab started (by pid) and deletes every namespace and file it made. Idempotent. */
export async function labDown(name: string, log: (line: string) => void = () => undefined): Promise<boolean> {
  const dir = labDir(name);
  const state = loadLab(name);
  const prefix = labNetnsPrefix(name);
  if (state?.controller.external) {
    // Someone else's controller outlives the lab: remove this lab's endpoints from it.
    await Promise.all(state.containers.map((c) => detachContainer(state, c).catch(() => undefined)));
  }
  if (state) {
    await stopOutside(state.outside);
    await Promise.all(state.hosts.map((host) => stopAgent(host)));
    if (!state.controller.external) await stopPid(state.controller.pid, state.controller.socket ?? 'controller');
    else {
      // After the agents stopped: a running agent registers its Host again when it finds it gone.
      for (const failure of await removeFromExternalController(state)) log(`could not remove from the controller: ${failure}`);
    }
  }
  // What the recorded pids do not cover: agents restarted by hand, forked children, processes left
  // in the lab's namespaces. Found by what they are (labProcesses), killed whole.
  const strays = labProcesses(name, state);
  if (strays.length > 0) {
    log(`stopping ${strays.length} more process(es) of lab ${name}: ${strays.join(' ')}`);
    await killProcesses(strays);
  }
  const namespaces = namespacesWithPrefix(prefix);
  // Resolvers an agent killed with -9 left behind (by their pid files): they would keep namespaces alive.
  // Also of namespaces already gone: the process would be keeping the deleted namespace alive.
  const resolverDirs = fs.existsSync(DEFAULT_DNS_DIR) ? fs.readdirSync(DEFAULT_DNS_DIR).filter((n) => n.startsWith(prefix)) : [];
  for (const name of new Set([...namespaces, ...resolverDirs])) {
    await stopLeftover(path.join(DEFAULT_DNS_DIR, name)).catch(() => false);
    fs.rmSync(path.join(DEFAULT_DNS_DIR, name), { recursive: true, force: true });
  }
  const etc = fs.existsSync(NETNS_ETC) ? fs.readdirSync(NETNS_ETC).filter((n) => n.startsWith(prefix)) : [];
  for (const name of new Set([...namespaces, ...etc])) removeNetnsEtc(name);
  const existed = !!state || namespaces.length > 0 || fs.existsSync(dir);
  let failures: string[];
  try {
    failures = await deleteNamespaces(namespaces);
  } finally {
    // Only this lab's own folder (labDir checked the name). Its processes are stopped, and a repeated
    // `down --name` finds the namespaces by prefix, so nothing in it is needed any more: a namespace that
    // would not go must not leave the folder (logs, controller data, tokens) behind as well.
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length) throw new LabError(`could not delete: ${failures.join('; ')}; run \`tenet lab down --name ${name}\` again`);
  log(existed ? `lab ${name} removed (${namespaces.length} namespaces)` : `lab ${name} does not exist; nothing to do`);
  return existed;
}

export interface RunOptions {
  host: string;
  tenant: string;
  network: string;
  labels?: Record<string, string>;
  ips?: string[];
  /** Label scope (a Kubernetes namespace) of the endpoint. */
  scope?: string;
  /** Named container ports (policy may select `ports: [{name}]`). */
  ports?: ContainerPortSpec[];
}

export interface ContainerPortSpec {
  name?: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;

/** `--ports [NAME=]PORT[/tcp|udp|sctp],...` (protocol defaults to tcp), e.g. `http=80,dns=53/udp`. */
export function parsePorts(text: string | undefined): ContainerPortSpec[] | undefined {
  if (text === undefined) return undefined;
  const ports: ContainerPortSpec[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^(?:([^=]+)=)?([0-9]{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(part);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) throw new LabError(`--ports: "${part}" must be [NAME=]PORT[/tcp|udp|sctp] with PORT 1-65535`);
    if (match[1] !== undefined && !PORT_NAME.test(match[1]))
      throw new LabError(`--ports: port name "${match[1]}" must be 1-15 lower-case letters, digits or "-"`);
    const protocol = (match[3] ?? 'tcp').toUpperCase() as ContainerPortSpec['protocol'];
    if (ports.some((p) => p.port === port && p.protocol === protocol))
      throw new LabError(`--ports: ${port}/${protocol.toLowerCase()} given twice`);
    if (match[1] !== undefined && ports.some((p) => p.name === match[1]))
      throw new LabError(`--ports: port name "${match[1]}" given twice`);
    ports.push({ ...(match[1] !== undefined ? { name: match[1] } : {}), port, protocol });
  }
  if (ports.length === 0) throw new LabError('--ports: no port given');
  if (ports.length > 64) throw new LabError('--ports: at most 64 ports');
  return ports;
}

export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!LABEL_KEY_REGEX.test(key) || !LABEL_VALUE_REGEX.test(value))
      throw new LabError(`--labels: "${part}" is not a valid key=value label`);
    labels[key] = value;
  }
  return labels;
}

const containerNetns = (state: LabState, name: string): string => `${labNetnsPrefix(state.name)}c-${name}`;
const containerId = (state: LabState, name: string): string => `${state.name}-${name}`;

export async function labRun(state: LabState, name: string, options: RunOptions): Promise<LabContainer> {
  if (!CONTAINER_NAME_REGEX.test(name))
    throw new LabError(`container name "${name}" must be lower-case letters, digits and "-", at most 32 characters`);
  if (name === OUTSIDE_NAME) throw new LabError(`"${OUTSIDE_NAME}" names the lab's outside namespace; choose another container name`);
  if (!NAME_REGEX.test(options.tenant) || !NAME_REGEX.test(options.network))
    throw new LabError('--tenant and --network must be valid names');
  for (const ip of options.ips ?? []) if (!parseIp(ip)) throw new LabError(`--ip ${ip} is not an IP address`);
  if (options.scope !== undefined && !NAME_REGEX.test(options.scope)) throw new LabError(`--scope "${options.scope}" must be a valid name`);
  const host = state.hosts.find((h) => h.name === options.host);
  if (!host) throw new LabError(`no host "${options.host}" in lab ${state.name} (hosts: ${state.hosts.map((h) => h.name).join(', ')})`);
  if (state.containers.some((c) => c.name === name)) throw new LabError(`container "${name}" exists in lab ${state.name}`);
  const netns = containerNetns(state, name);
  if (netnsExists(netns)) await delNetns(netns);
  await addNetns(netns);
  const client = new AttachClient(host.socket);
  let result: AttachResult;
  try {
    result = await client.attach({
      containerId: containerId(state, name),
      netns: `/run/netns/${netns}`,
      ifName: 'eth0',
      tenant: options.tenant,
      network: options.network,
      labels: { ...(options.labels ?? {}), 'lab.tenet.dev/container': name },
      attachedBy: 'lab',
      ...(options.ips?.length ? { ips: options.ips } : {}),
      ...(options.scope !== undefined ? { scope: options.scope } : {}),
      ...(options.ports?.length ? { ports: options.ports } : {}),
    });
  } catch (error) {
    await delNetns(netns).catch(() => undefined);
    throw error;
  } finally {
    client.close();
  }
  writeContainerResolvConf(netns, result);
  return {
    name,
    host: host.name,
    tenant: options.tenant,
    network: options.network,
    netns,
    endpoint: result.endpoint,
    addresses: result.addresses.map((a) => a.address.split('/')[0]),
    labels: options.labels ?? {},
    ...(options.scope !== undefined ? { scope: options.scope } : {}),
    ...(options.ports?.length ? { ports: options.ports } : {}),
  };
}

async function detachContainer(state: LabState, container: LabContainer): Promise<void> {
  const host = state.hosts.find((h) => h.name === container.host);
  if (!host) return;
  const client = new AttachClient(host.socket);
  try {
    await client.detach({ containerId: containerId(state, container.name), ifName: 'eth0' });
  } finally {
    client.close();
  }
}

export async function labRm(state: LabState, name: string): Promise<void> {
  const container = state.containers.find((c) => c.name === name);
  if (!container) throw new LabError(`no container "${name}" in lab ${state.name}`);
  await detachContainer(state, container);
  await delNetns(container.netns);
  removeNetnsEtc(container.netns);
}

/**
 * Lab containers are namespaces: `ip netns exec` bind-mounts /etc/netns/<name>/resolv.conf over
 * /etc/resolv.conf, so that is where the container's resolver settings go.
 */
function writeContainerResolvConf(netns: string, result: AttachResult): void {
  if (!result.dns) return;
  const dir = path.join(NETNS_ETC, assertNetns(netns));
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'resolv.conf'), resolvConf(result.dns), { mode: 0o644 });
}

const NETNS_ETC = '/etc/netns';

function removeNetnsEtc(netns: string): void {
  fs.rmSync(path.join(NETNS_ETC, assertNetns(netns)), { recursive: true, force: true });
}

/** What `lab exec NAME` runs in: a container, or the outside namespace (`outside`). */
export function execTarget(state: LabState, name: string): Pick<LabContainer, 'netns'> {
  if (name === OUTSIDE_NAME) {
    if (!state.outside) throw new LabError(`lab ${state.name} has no outside namespace (made before it existed); recreate the lab`);
    return { netns: state.outside.netns };
  }
  const found = state.containers.find((c) => c.name === name);
  if (!found) throw new LabError(`no container "${name}" in lab ${state.name}`);
  return found;
}

export type { LabOutside };

/** Runs a command inside a container's namespace with the terminal attached; resolves to its exit code. */
export function labExec(container: Pick<LabContainer, 'netns'>, command: string[]): Promise<number> {
  if (command.length === 0) throw new LabError('nothing to run: tenet lab exec CONTAINER -- CMD [ARGS...]');
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', container.netns, ...command], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Serialises read-modify-write of lab.json between concurrent `tenet lab` commands. */
export async function withLabLock<T>(name: string, task: (state: LabState) => Promise<T>): Promise<T> {
  const lock = path.join(labDir(name), 'lab.lock');
  const deadline = Date.now() + 60000;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lock, 'utf8') || 0);
      if (!isAlive(holder)) fs.rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new LabError(`lab ${name} is locked by pid ${holder}`);
      else await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    const state = loadLab(name);
    if (!state) throw new LabError(`no lab named "${name}"`);
    return await task(state);
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * Stops a host's agent (SIGTERM, or SIGKILL as with kill -9) and starts it again; kernel state is left
 * alone. `whileDown` runs while no agent runs (changes it must catch up with). Returns once the new agent
 * completed its first full pass, so it had its chance to break things and to repair them.
 */
export async function restartAgent(
  state: LabState,
  hostName: string,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
  whileDown?: () => Promise<void>,
): Promise<LabHost> {
  const host = state.hosts.find((h) => h.name === hostName);
  if (!host) throw new LabError(`no host "${hostName}" in lab ${state.name}`);
  await stopAgent(host, signal);
  if (whileDown) {
    try {
      await whileDown();
    } catch (error) {
      // The agent is started again either way: a failed step must not leave the host without one.
      await startAgent(state, host);
      throw error;
    }
  }
  await startAgent(state, host);
  await waitAgent(host);
  await waitReconciled(host);
  return host;
}

/** Stops the host's agent — the recorded one and any other on its socket (one started by hand). */
export async function stopAgent(host: LabHost, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  await stopPid(host.agentPid, agentMarker(host), 5000, signal);
  const others = agentProcesses(host);
  if (others.length > 0) await killProcesses(others, signal === 'SIGKILL' ? 0 : 5000);
  host.agentPid = undefined;
}

export { startAgent };
