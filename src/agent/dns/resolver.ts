/**
 * One dnsmasq per tenant router namespace (docs/services.md, "DNS"): it listens on the tenant's gateway
 * addresses inside that namespace only, answers the tenant's own names from a hosts file the agent
 * writes, NXDOMAIN for any other name in the cluster domain, and forwards nothing (no upstream at all).
 *
 * Address records change by rewriting the hosts file and SIGHUP (dnsmasq re-reads it between two
 * queries: none is dropped). SRV records and the listening addresses are command-line options dnsmasq
 * reads only at start: when they change, the process is restarted.
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
/** dnsmasq drops to this user after binding port 53. */
const DNS_USER = { name: 'nobody', group: 'nogroup', uid: 65534, gid: 65534 };
const DNSMASQ = '/usr/sbin/dnsmasq';
/** Marker every resolver's command line holds (with its directory): what a pid must show before it is signalled. */
export const DNSMASQ_MARKER = 'dnsmasq';

/** The resolver of one namespace, as RouterNamespace holds it (renew() stops it). */
export interface NamespaceResolver {
  stop(): void;
  readonly exited: boolean;
}

interface Running extends NamespaceResolver {
  child: ChildProcess;
  /** Options only a restart changes: listening addresses and SRV records. */
  startSignature: string;
  hosts: string;
  exited: boolean;
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

/** Ends a resolver left by an earlier agent of this namespace (its pid file), only if the pid still is that dnsmasq. */
export async function stopLeftover(dir: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1) return false;
  const cmd = commandLine(pid);
  if (!cmd.includes(DNSMASQ_MARKER) || !cmd.includes(`${dir}/hosts`)) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + 2000;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  return true;
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
    for (const skipped of records.skipped) this.options.log('debug', 'name left out of DNS', { tenant: tenant.name, ...skipped });
    const gateways = tenantGateways(tenant);
    if (gateways.length === 0) return undefined;
    const hosts = hostsFile(records);
    const srv = srvOptions(records);
    const startSignature = JSON.stringify({ gateways, srv });
    const current = this.running.get(netns);
    const dir = this.namespaceDir(netns);
    if (current && !current.exited && current.startSignature === startSignature) {
      if (current.hosts !== hosts) {
        writeAtomically(path.join(dir, 'hosts'), hosts);
        current.hosts = hosts;
        current.child.kill('SIGHUP');
      }
      return undefined;
    }
    if (current) await this.stopNamespace(netns);
    else await stopLeftover(dir);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chownSync(dir, DNS_USER.uid, DNS_USER.gid);
    writeAtomically(path.join(dir, 'hosts'), hosts);
    return this.start(netns, dir, gateways, srv, hosts, startSignature);
  }

  private start(netns: string, dir: string, gateways: string[], srv: string[], hosts: string, startSignature: string): Running {
    const domain = this.options.domain;
    const args = [
      `--net=/run/netns/${netns}`,
      DNSMASQ,
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-hosts',
      // No upstream: nothing ever leaves the tenant (a later issue adds forwarding).
      '--no-resolv',
      '--no-poll',
      '--pid-file=',
      '--bind-dynamic',
      ...gateways.map((g) => `--listen-address=${g}`),
      // Names under the cluster domain come from local data only: anything else there is NXDOMAIN.
      `--local=/${domain}/`,
      '--domain-needed',
      '--bogus-priv',
      '--local-ttl=1',
      `--addn-hosts=${dir}/hosts`,
      ...srv.map((s) => `--srv-host=${s}`),
      `--user=${DNS_USER.name}`,
      `--group=${DNS_USER.group}`,
      '--log-facility=-',
    ];
    // Not detached: the resolver is in the agent's process group, so whoever ends the group ends it too.
    const child = spawn('nsenter', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const running: Running = {
      child,
      startSignature,
      hosts,
      exited: false,
      stop: () => this.kill(netns, running),
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      for (const line of text.split('\n').filter(Boolean)) this.options.log('debug', 'dnsmasq', { netns, line });
    });
    child.on('error', (error) => this.options.log('error', 'could not start dnsmasq', { netns, error: error.message }));
    child.on('exit', (code, signal) => {
      const expected = running.exited;
      running.exited = true;
      if (this.running.get(netns) === running) this.running.delete(netns);
      if (!expected && !this.stopped) {
        this.options.log('warn', 'tenant resolver exited; starting it again', { netns, code, signal });
        this.options.onExit?.();
      }
    });
    if (child.pid) fs.writeFileSync(path.join(dir, 'pid'), `${child.pid}\n`);
    this.running.set(netns, running);
    this.options.log('info', 'tenant resolver started', { netns, pid: child.pid, listen: gateways, srv: srv.length });
    return running;
  }

  private kill(netns: string, running: Running): void {
    if (this.running.get(netns) === running) this.running.delete(netns);
    if (running.exited) return;
    running.exited = true;
    running.child.kill('SIGTERM');
  }

  /** Stops the namespace's resolver and waits for it to exit (its port is free then). */
  async stopNamespace(netns: string): Promise<void> {
    const running = this.running.get(netns);
    if (!running) return;
    const exit = new Promise<void>((resolve) => (running.child.exitCode !== null || running.child.signalCode !== null ? resolve() : running.child.once('exit', () => resolve())));
    this.kill(netns, running);
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 2000))]);
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
  }

  /** Resolvers of namespaces no longer in the view (a tenant gone from this host). */
  async prune(view: HostView): Promise<void> {
    const wanted = new Set(view.tenants.map((t) => t.routerNamespace));
    for (const netns of [...this.running.keys()]) if (!wanted.has(netns) || !netnsExists(netns)) await this.stopNamespace(netns);
  }

  /** The agent stops: no resolver outlives it. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running.keys()].map((netns) => this.stopNamespace(netns)));
  }

  pids(): Map<string, number | undefined> {
    return new Map([...this.running].map(([netns, r]) => [netns, r.child.pid]));
  }
}
