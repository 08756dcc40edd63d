/**
 * The tenant resolver in each tenant router namespace (docs/services.md, "DNS"): dnsmasq, in three
 * processes. The front listens on the tenant's gateway addresses inside that namespace only, holds no
 * data and forwards names under the cluster domain to two identical back ends on 127.0.0.1 of the same
 * namespace (unreachable from the endpoints: the kernel drops packets to 127/8 that come from outside),
 * asking both at once and answering with the first reply; it answers REFUSED for any other name (no
 * upstream at all: nothing ever leaves the tenant). The back ends hold the tenant's own names only (a
 * hosts file the agent writes, and SRV options), NXDOMAIN for any other name in the cluster domain.
 *
 * Address records change by rewriting the hosts file and SIGHUP (re-read between two queries). SRV
 * records are command-line options dnsmasq reads only at start: the back ends are restarted one after
 * the other, each waited for, so one of them always answers and no query is lost (a query lost by a
 * single restarting process would cost its client a 5 s resolver timeout). The front restarts only when
 * the tenant's gateway addresses change.
 *
 * Processes are tracked by pid (also in a pid file, so an agent killed with -9 ends its predecessor's
 * on the next start, and `tenet lab down` ends what is left), ended when their namespace is deleted or
 * made again and when the agent stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { HostView, TenantView } from '../../core/dataplane/host-view';
import { hostsFile, srvOptions, tenantGateways, tenantRecords } from '../../core/dns/records';
import type { Log } from '../../core/log';
import { assertNetns, netnsExists } from '../../kernel/ip';

/** Where the per-namespace directories live: traversable, not listable; each directory is dnsmasq's user's. */
export const DEFAULT_DNS_DIR = '/run/tenet-dns';
/** dnsmasq drops to this user after binding its ports. */
const DNS_USER = { name: 'nobody', group: 'nogroup', uid: 65534, gid: 65534 };
const DNSMASQ = '/usr/sbin/dnsmasq';
/** Marker every resolver's command line holds (with its directory): what a pid must show before it is signalled. */
export const DNSMASQ_MARKER = 'dnsmasq';
/** The back ends' ports on 127.0.0.1 inside the router namespace. */
const BACKEND_PORTS = [5301, 5302] as const;
/**
 * The front's one source port towards the back ends. With random ports (dnsmasq's default) every
 * query made two new conntrack entries on the router namespace's loopback, each an event for the flow
 * reader and the agent to handle while the next queries waited: a fixed port keeps one entry per back
 * end. Random ports guard against spoofed replies from off-path senders; the back ends' replies come
 * over the namespace's loopback, where no endpoint can send (packets from 127/8 are martians).
 */
const FRONT_QUERY_PORT = 5300;
/** How long a started back end may take to read its hosts file (it answers from then on). */
const BACKEND_READY_MS = 2000;

/** The resolver of one namespace, as RouterNamespace holds it (renew() stops it). */
export interface NamespaceResolver {
  stop(): void;
  readonly exited: boolean;
}

interface Proc {
  child: ChildProcess;
  exited: boolean;
  /** Resolves once the process read its hosts file (back ends) or started (front). */
  ready: Promise<boolean>;
}

interface Running extends NamespaceResolver {
  exited: boolean;
  front: Proc;
  backends: Proc[];
  /** The front's options: the listening addresses. */
  frontSignature: string;
  /** The back ends' options: SRV records. */
  backendSignature: string;
  hosts: string;
  /** The pid file's content as last written. */
  pidText?: string;
}

export interface ResolverOptions {
  domain: string;
  dir?: string;
  log: Log;
  /** A resolver exited without being asked: the agent schedules a pass, which starts it again. */
  onExit?: () => void;
}

/** The command line of a pid ('' when gone). */
function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/ Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Ends the resolvers an earlier agent left in this namespace (its pid file), only pids that still are those dnsmasqs. */
export async function stopLeftover(dir: string): Promise<boolean> {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'pid'), 'utf8');
  } catch {
    return false;
  }
  const pids = text
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 1)
    .filter((pid) => {
      const cmd = commandLine(pid);
      return cmd.includes(DNSMASQ_MARKER) && cmd.includes(`${dir}/`);
    });
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + 2000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
  return pids.length > 0;
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export class TenantResolvers {
  readonly dir: string;
  private readonly running = new Map<string, Running>();
  private stopped = false;
  private readonly skippedLogged = new Set<string>();

  /** Before the first sync only (the agent learns the cluster domain from the controller at start). */
  useDomain(domain: string): void {
    this.options.domain = domain;
  }

  constructor(private readonly options: ResolverOptions) {
    this.dir = options.dir ?? DEFAULT_DNS_DIR;
  }

  private namespaceDir(netns: string): string {
    return path.join(this.dir, assertNetns(netns));
  }

  /**
   * Every tenant namespace of the view gets its resolver with the tenant's current records; `attach`
   * hands each namespace's handle to its RouterNamespace (whose renew() stops it).
   */
  async sync(view: HostView, attach: (netns: string, resolver: NamespaceResolver) => void): Promise<void> {
    if (this.stopped) return;
    for (const tenant of view.tenants) {
      if (!netnsExists(tenant.routerNamespace)) continue;
      try {
        const resolver = await this.syncTenant(tenant);
        if (resolver) attach(tenant.routerNamespace, resolver);
      } catch (error) {
        this.options.log('error', 'tenant resolver failed', { netns: tenant.routerNamespace, error: (error as Error).message });
      }
    }
  }

  private async syncTenant(tenant: TenantView): Promise<NamespaceResolver | undefined> {
    const netns = tenant.routerNamespace;
    const records = tenantRecords(tenant, this.options.domain);
    for (const skipped of records.skipped) {
      // Once per object and reason: a pass runs on every change.
      const key = `${tenant.name}/${skipped.kind}/${skipped.name}/${skipped.reason}`;
      if (this.skippedLogged.has(key)) continue;
      if (this.skippedLogged.size > 10000) this.skippedLogged.clear();
      this.skippedLogged.add(key);
      this.options.log('warn', 'name left out of DNS', { tenant: tenant.name, ...skipped });
    }
    const gateways = tenantGateways(tenant);
    if (gateways.length === 0) return undefined;
    const hosts = hostsFile(records);
    const srv = srvOptions(records);
    const frontSignature = JSON.stringify(gateways);
    const backendSignature = JSON.stringify(srv);
    const dir = this.namespaceDir(netns);
    const current = this.running.get(netns);
    if (current && !current.exited && !current.front.exited && current.frontSignature === frontSignature) {
      if (current.hosts !== hosts) {
        writeAtomically(path.join(dir, 'hosts'), hosts);
        current.hosts = hosts;
        for (const backend of current.backends) if (!backend.exited) backend.child.kill('SIGHUP');
      }
      const restart = current.backendSignature !== backendSignature;
      current.backendSignature = backendSignature;
      // One after the other: the other back end answers meanwhile.
      for (let i = 0; i < current.backends.length; i++) {
        if (!restart && !current.backends[i].exited) continue;
        await this.end(current.backends[i]);
        current.backends[i] = this.startBackend(netns, dir, i, srv, current);
        if (!(await current.backends[i].ready))
          this.options.log('warn', 'tenant resolver back end did not start in time', { netns, port: BACKEND_PORTS[i] });
      }
      this.writePids(dir, current);
      return undefined;
    }
    if (current) await this.stopNamespace(netns);
    else await stopLeftover(dir);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chownSync(dir, DNS_USER.uid, DNS_USER.gid);
    writeAtomically(path.join(dir, 'hosts'), hosts);
    const running = { exited: false, frontSignature, backendSignature, hosts, backends: [] as Proc[] } as unknown as Running;
    running.stop = () => this.kill(netns, running);
    running.backends = BACKEND_PORTS.map((_, i) => this.startBackend(netns, dir, i, srv, running));
    running.front = this.startFront(netns, dir, gateways, running);
    this.running.set(netns, running);
    this.writePids(dir, running);
    await Promise.all([running.front.ready, ...running.backends.map((b) => b.ready)]);
    this.options.log('info', 'tenant resolver started', { netns, pids: this.pidsOf(running), listen: gateways, srv: srv.length });
    return running;
  }

  private pidsOf(running: Running): number[] {
    return [running.front, ...running.backends].map((p) => p.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  private writePids(dir: string, running: Running): void {
    const text = `${this.pidsOf(running).join('\n')}\n`;
    if (running.pidText === text) return;
    // Atomically: \`tenet lab down\` and a next agent read it at any time.
    writeAtomically(path.join(dir, 'pid'), text);
    running.pidText = text;
  }

  private common(dir: string, role: string): string[] {
    return [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-hosts',
      // No upstream: nothing ever leaves the tenant (a later issue adds forwarding).
      '--no-resolv',
      '--no-poll',
      // Also marks the command line as this namespace's (stopLeftover checks it).
      `--pid-file=${dir}/${role}.pid`,
      `--user=${DNS_USER.name}`,
      `--group=${DNS_USER.group}`,
      '--log-facility=-',
    ];
  }

  private startBackend(netns: string, dir: string, index: number, srv: string[], running: Running): Proc {
    const domain = this.options.domain;
    return this.spawnIn(
      netns,
      'backend',
      [
        ...this.common(dir, `backend${index}`),
        `--addn-hosts=${dir}/hosts`,
        `--port=${BACKEND_PORTS[index]}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        // Names under the cluster domain come from local data only: anything else there is NXDOMAIN.
        `--local=/${domain}/`,
        '--local-ttl=1',
        ...srv.map((s) => `--srv-host=${s}`),
      ],
      running,
      (line) => line.includes(`read ${dir}/hosts`),
    );
  }

  private startFront(netns: string, dir: string, gateways: string[], running: Running): Proc {
    const domain = this.options.domain;
    return this.spawnIn(
      netns,
      'front',
      [
        ...this.common(dir, 'front'),
        '--bind-dynamic',
        ...gateways.map((g) => `--listen-address=${g}`),
        // Both back ends at once, the first reply wins: one restarting loses no query.
        ...BACKEND_PORTS.map((port) => `--server=/${domain}/127.0.0.1#${port}`),
        '--all-servers',
        `--query-port=${FRONT_QUERY_PORT}`,
        // Nothing cached: a name the back ends learn is answered at once, a removed one is gone at once.
        '--cache-size=0',
        '--no-negcache',
        '--domain-needed',
        '--bogus-priv',
      ],
      running,
      (line) => line.includes('started, version'),
    );
  }

  private spawnIn(netns: string, role: string, args: string[], running: Running, isReady: (line: string) => boolean): Proc {
    // Not detached: the resolver is in the agent's process group, so whoever ends the group ends it too.
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, DNSMASQ, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let markReady: (ok: boolean) => void = () => undefined;
    const proc: Proc = { child, exited: false, ready: new Promise<boolean>((resolve) => (markReady = resolve)) };
    const timer = setTimeout(() => markReady(false), BACKEND_READY_MS);
    let buffer = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      buffer += text;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        if (isReady(line)) {
          clearTimeout(timer);
          markReady(true);
        }
        this.options.log('debug', 'dnsmasq', { netns, role, line });
      }
    });
    child.on('error', (error) => this.options.log('error', 'could not start dnsmasq', { netns, role, error: error.message }));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      markReady(false);
      const expected = proc.exited;
      proc.exited = true;
      if (!expected && !running.exited && !this.stopped) {
        this.options.log('warn', 'tenant resolver exited; starting it again', { netns, role, code, signal });
        this.options.onExit?.();
      }
    });
    return proc;
  }

  /** Ends one process and waits for it (its port is free then). */
  private async end(proc: Proc): Promise<void> {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      proc.exited = true;
      return;
    }
    const exit = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
    proc.exited = true;
    proc.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exit, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  }

  private kill(netns: string, running: Running): void {
    if (this.running.get(netns) === running) this.running.delete(netns);
    if (running.exited) return;
    running.exited = true;
    fs.rmSync(this.namespaceDir(netns), { recursive: true, force: true });
    for (const proc of [running.front, ...running.backends]) {
      if (proc.exited) continue;
      proc.exited = true;
      proc.child.kill('SIGTERM');
    }
  }

  /** Stops the namespace's resolver and waits for its processes to exit. */
  async stopNamespace(netns: string): Promise<void> {
    const running = this.running.get(netns);
    if (!running) return;
    this.kill(netns, running);
    await Promise.all([running.front, ...running.backends].map((proc) => this.endKilled(proc)));
  }

  private async endKilled(proc: Proc): Promise<void> {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    const exit = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exit, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  }

  /**
   * Resolvers of namespaces that are gone. A namespace whose tenant left this host's view lingers a while
   * (NAMESPACE_LINGER_MS) and keeps its resolver meanwhile: a container replaced at once (a runtime's DEL
   * then ADD) would otherwise cost three dnsmasq processes stopped and started again. The reconciler's
   * deletion of the namespace stops it (RouterNamespace.renew()).
   */
  async prune(): Promise<void> {
    for (const netns of [...this.running.keys()]) if (!netnsExists(netns)) await this.stopNamespace(netns);
  }

  /**
   * At the agent's start: an agent killed with -9 left its resolvers running, also in namespaces this one
   * will never sync (a tenant deleted meanwhile, its namespace swept): end them all (pid files) first.
   */
  async endLeftovers(netnsPrefix: string): Promise<number> {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.dir);
    } catch {
      return 0;
    }
    let ended = 0;
    for (const name of entries.filter((e) => e.startsWith(netnsPrefix))) {
      const dir = path.join(this.dir, name);
      if (await stopLeftover(dir)) ended++;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (ended > 0) this.options.log('info', 'ended the resolvers an earlier agent left', { namespaces: ended });
    return ended;
  }

  /** The agent stops: no resolver outlives it. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running.keys()].map((netns) => this.stopNamespace(netns)));
  }

  pids(): Map<string, number[]> {
    return new Map([...this.running].map(([netns, r]) => [netns, this.pidsOf(r)]));
  }
}
