/**
 * The agent's part of `tenet trace` (docs/observability.md, "Trace of a real packet"). The agent takes
 * trace jobs only from its controller: it asks for them (a long poll, GET /api/v1/hosts/NAME/traces, with
 * its own token over the controller connection it already trusts) and opens no port of its own. For a
 * job it arms the kernel's tracer in its tenant's router namespace (a table of the job's own, see
 * src/core/trace/job.ts), reads `nft monitor` there, injects the probe from the source endpoint's own
 * namespace (source host only), and reports the hooks the packet went through, the route, the VXLAN hop
 * and where it was delivered. Whatever happens, the table and the monitor go before the job ends.
 *
 * Everything that reaches the kernel comes from the agent's own view, not the job: the router namespace
 * is its tenant's, the probe's namespace is the local endpoint's recorded attachment (device and inode
 * checked), and the job's source address must be that endpoint's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TenetClient } from '../client/api-client';
import type { HostView, TenantView } from '../core/dataplane/host-view';
import { NETNS_NAME_REGEX } from '../core/dataplane/names';
import type { Endpoint } from '../core/model/kinds/endpoint';
import type { NftProgram } from '../core/policy/program';
import { parseTraceLine, traceHooks, traceIdsOf, type TraceLine } from '../core/trace/events';
import { armScript, checkTraceJob, disarmScript, traceTableName, type TraceJob, type TraceMessage } from '../core/trace/job';
import type { HostTrace, ProbeResult } from '../core/trace/report';
import { canonicalIp } from '../core/net/ip';
import { run } from '../kernel/exec';
import type { Log } from '../core/log';

/** Jobs armed at once on this host (the controller limits too; this holds even against a confused one). */
export const MAX_AGENT_TRACES = 4;
/** Monitor lines kept per job at most. */
const MAX_LINES = 4000;
/** After the probe (or the stop), how long the agent still listens for the packet's last hops. */
const QUIET_MS = 400;

export const PROBE_SCRIPT = path.join(__dirname, 'trace-probe.js');

export interface TraceParts {
  host: string;
  client: TenetClient;
  log: Log;
  /** The host view, or undefined while the agent has not listed yet. */
  view: () => HostView | undefined;
  /** The compiled policy program of a router namespace (rule names). */
  program: (netns: string) => NftProgram | undefined;
  /** Trace and intent disagreed in this tenant: rewrite its table (NftTable.distrust + a pass). */
  resync: (tenant: string) => void;
}

interface Running {
  stop: () => void;
}

export class TraceAgent {
  private readonly running = new Map<string, Running>();
  private stopped = false;
  private polling?: Promise<void>;
  /** Ends the poll under way when the agent stops (it would hold the process for up to 8 s). */
  private readonly abort = new AbortController();

  constructor(private readonly parts: TraceParts) {}

  start(): void {
    this.polling ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    for (const job of this.running.values()) job.stop();
  }

  /** Jobs under way (tests: none after the trace answered). */
  active(): number {
    return this.running.size;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const answer = (await this.parts.client.request(
          'GET',
          `/api/v1/hosts/${this.parts.host}/traces`,
          undefined,
          undefined,
          this.abort.signal,
        )) as { messages?: unknown };
        for (const message of Array.isArray(answer.messages) ? (answer.messages as TraceMessage[]) : []) this.handle(message);
      } catch (error) {
        if (this.stopped) return;
        this.parts.log('debug', 'trace poll failed', { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, 2000).unref());
      }
    }
  }

  handle(message: TraceMessage): void {
    if (message?.type === 'stop') return this.running.get(String(message.id))?.stop();
    if (message?.type === 'resync') {
      if (typeof message.tenant === 'string') this.parts.resync(message.tenant);
      return;
    }
    if (message?.type !== 'arm') return;
    let job: TraceJob;
    try {
      job = checkTraceJob(message.job);
    } catch (error) {
      const id = (message.job as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && /^[0-9a-f]{16}$/.test(id)) void this.report(id, 'failed', { error: (error as Error).message });
      return;
    }
    if (this.running.has(job.id)) return;
    if (this.running.size >= MAX_AGENT_TRACES) {
      void this.report(job.id, 'failed', { error: `this host runs ${MAX_AGENT_TRACES} traces already` });
      return;
    }
    void this.runJob(job);
  }

  private async report(id: string, phase: 'armed' | 'done' | 'failed', body: Partial<HostTrace>): Promise<void> {
    try {
      await this.parts.client.request('POST', `/api/v1/hosts/${this.parts.host}/traces/${id}`, { phase, ...body });
    } catch (error) {
      this.parts.log('debug', 'trace report failed', { id, error: (error as Error).message });
    }
  }

  private async runJob(job: TraceJob): Promise<void> {
    let stopRequested: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
    this.running.set(job.id, { stop: () => stopRequested() });
    let monitor: ChildProcess | undefined;
    let netns: string | undefined;
    let armed = false;
    const lines: TraceLine[] = [];
    let lastLineAt = 0;
    let armSeen: () => void = () => undefined;
    const armVisible = new Promise<void>((resolve) => (armSeen = resolve));
    const deadline = Date.now() + job.timeoutMs + 2000;
    let outcome: { phase: 'done' | 'failed'; body: Partial<HostTrace> };
    try {
      const view = this.parts.view();
      const tenant = view?.tenants.find((t) => t.name === job.tenant);
      if (!tenant) throw new Error(`tenant ${job.tenant} has no router namespace on host ${this.parts.host}`);
      netns = tenant.routerNamespace;
      if (!NETNS_NAME_REGEX.test(netns)) throw new Error(`refusing namespace "${netns}"`);
      const source = job.probe ? this.probeNamespace(tenant, job) : undefined;
      const table = traceTableName(job.id);
      monitor = spawn('nsenter', [`--net=/run/netns/${netns}`, 'setpriv', '--pdeathsig', 'KILL', '--', 'nft', 'monitor'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      // A spawn that fails (no nsenter, no nft) must not take the agent down: the readiness wait below then fails the job.
      monitor.on('error', (error) => this.parts.log('warn', 'nft monitor failed to start', { netns, error: error.message }));
      let pending = '';
      monitor.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = (parts.pop() ?? '').slice(-8192);
        for (const line of parts) {
          if (line.startsWith(`add table inet ${table}`)) armSeen();
          if (!line.startsWith('trace id ') || lines.length >= MAX_LINES) continue;
          const parsed = parseTraceLine(line);
          if (parsed) {
            lines.push(parsed);
            lastLineAt = Date.now();
          }
        }
      });
      // The monitor subscribes a few ms after it starts; the table's own add event says it listens.
      for (let attempt = 0; ; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50 + attempt * 100));
        if (armed) await this.nft(netns, disarmScript(job.id));
        await this.nft(netns, armScript(job.id, job.match));
        armed = true;
        const seen = await Promise.race([armVisible.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
        if (seen) break;
        if (attempt >= 4 || monitor.exitCode !== null) throw new Error('nft monitor did not start in the router namespace');
      }
      await this.report(job.id, 'armed', {});
      let probe: ProbeResult | undefined;
      if (source) {
        probe = await this.inject(source, job);
        await this.quiet(() => lastLineAt, deadline);
      } else if (job.live) {
        // Until the first matching packet was traced and went quiet, the stop, or the deadline.
        await Promise.race([stopped, this.until(() => traceIdsOf(lines, table).length > 0, deadline)]);
        await this.quiet(() => lastLineAt, deadline);
      } else {
        await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))]);
        await this.quiet(() => lastLineAt, deadline);
      }
      const result = await this.hostTrace(tenant, job, lines, table);
      outcome = { phase: 'done', body: { ...result, ...(probe ? { probe } : {}) } };
    } catch (error) {
      this.parts.log('warn', 'trace failed', { id: job.id, error: (error as Error).message });
      outcome = { phase: 'failed', body: { error: (error as Error).message.slice(0, 300) } };
    } finally {
      // Armed or not (a failed add may have half-made nothing: the delete then fails harmlessly).
      if (netns && armed)
        await this.nft(netns, disarmScript(job.id)).catch((error: Error) =>
          this.parts.log('error', 'could not remove a trace table', { netns, id: job.id, error: error.message }),
        );
      if (monitor && monitor.exitCode === null) monitor.kill('SIGKILL');
      this.running.delete(job.id);
    }
    // Reported only once disarmed: the controller answers when the last report is in, and by then nothing of the job is left.
    await this.report(job.id, outcome.phase, outcome.body);
  }

  private nft(netns: string, script: string): Promise<unknown> {
    return run('nsenter', [`--net=/run/netns/${netns}`, 'nft', '-f', '-'], { input: script, timeoutMs: 10000 });
  }

  private async until(check: () => boolean, deadline: number): Promise<void> {
    while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Waits until no trace line came for QUIET_MS (the packet's last hops on this host), at most until the deadline. */
  private async quiet(last: () => number, deadline: number): Promise<void> {
    const start = Date.now();
    while (Date.now() < deadline && Date.now() - Math.max(last(), start) < QUIET_MS)
      await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** The source endpoint's own namespace, from this agent's record of the attach; refuses anything else. */
  private probeNamespace(tenant: TenantView, job: TraceJob): { path: string } {
    const endpoint = tenant.endpoints.find((e) => e.name === job.probe!.endpoint && e.local);
    if (!endpoint) throw new Error(`endpoint ${job.probe!.endpoint} is not an endpoint of tenant ${job.tenant} on this host`);
    const address = job.match.family === 4 ? endpoint.ipv4 : endpoint.ipv6;
    if (!address || canonicalIp(address) !== job.match.saddr)
      throw new Error(`the probe's source is not endpoint ${endpoint.name}'s address`);
    const attachment = (endpoint.object as Endpoint).status?.attachment;
    if (!attachment) throw new Error(`endpoint ${endpoint.name} has no recorded namespace (attached by Docker?): use --live`);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(attachment.netns);
    } catch {
      throw new Error(`the namespace of endpoint ${endpoint.name} is gone`);
    }
    if (`${stat.dev}:${stat.ino}` !== attachment.netnsId)
      throw new Error(`the namespace of endpoint ${endpoint.name} is not the one it was attached in`);
    return { path: attachment.netns };
  }

  private async inject(source: { path: string }, job: TraceJob): Promise<ProbeResult> {
    const m = job.match;
    const timeoutMs = Math.min(job.timeoutMs, 3000);
    const result = await run(
      'nsenter',
      [
        `--net=${source.path}`,
        'setpriv',
        '--pdeathsig',
        'KILL',
        '--',
        process.execPath,
        PROBE_SCRIPT,
        m.protocol,
        m.saddr,
        String(m.sport ?? 0),
        m.daddr ?? '',
        String(m.dport ?? 0),
        String(timeoutMs),
      ],
      { timeoutMs: timeoutMs + 5000, allowFailure: true },
    );
    try {
      return JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as ProbeResult;
    } catch {
      return { result: 'error', detail: (result.stderr.trim().split('\n').pop() ?? 'the probe printed nothing').slice(0, 200) };
    }
  }

  /** This host's part: the first traced packet's hooks, the translation, the route and VXLAN hop, the delivery. */
  private async hostTrace(tenant: TenantView, job: TraceJob, lines: TraceLine[], table: string): Promise<Partial<HostTrace>> {
    const netns = tenant.routerNamespace;
    const id = traceIdsOf(lines, table)[0];
    const hooks = id ? traceHooks(lines, id, this.parts.program(netns)) : [];
    const out: Partial<HostTrace> = { namespace: netns, hooks };
    if (hooks.length === 0) return out;
    const endpointAt = (address: string | undefined) =>
      tenant.endpoints.find(
        (e) => address !== undefined && (canonicalIp(e.ipv4 ?? '') === address || canonicalIp(e.ipv6 ?? '') === address),
      );
    const first = hooks[0].packet;
    const last = hooks[hooks.length - 1].packet;
    const asked = job.match.daddr;
    if (asked && last.daddr && last.daddr !== asked) {
      const portOf = (p?: number) => (p ? `:${p}` : '');
      const backend = endpointAt(last.daddr);
      out.dnat = {
        from: `${asked}${portOf(job.match.dport)}`,
        to: `${last.daddr}${portOf(last.dport)}`,
        ...(backend ? { backend: backend.name } : {}),
      };
    }
    // The forward hook names the interface routing chose even for a packet it then drops: delivered only when nothing dropped it.
    const dropped = hooks.some((h) => h.verdict === 'drop' || h.verdict === 'reject');
    const delivered = dropped
      ? undefined
      : hooks.find((h) => h.packet.oif && tenant.endpoints.some((e) => e.local && e.hostIfName === h.packet.oif));
    if (delivered) {
      const endpoint = tenant.endpoints.find((e) => e.local && e.hostIfName === delivered.packet.oif);
      out.delivered = { interface: delivered.packet.oif!, ...(endpoint ? { endpoint: endpoint.name } : {}) };
    }
    if (last.daddr && last.saddr && first.iif) {
      const route = await this.routeOf(netns, last.daddr, last.saddr, first.iif).catch(() => undefined);
      if (route) {
        out.route = route;
        if (/^tvx[0-9]{1,8}$/.test(route.dev)) out.vxlan = await this.vxlanHop(netns, route.dev, route.gateway ?? last.daddr);
      }
    }
    return out;
  }

  private async routeOf(netns: string, destination: string, source: string, iif: string): Promise<HostTrace['route']> {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(iif) || !canonicalIp(destination) || !canonicalIp(source)) return undefined;
    const result = await run('ip', ['-n', netns, '-j', 'route', 'get', destination, 'from', source, 'iif', iif], { timeoutMs: 5000 });
    const [route] = JSON.parse(result.stdout) as { dev?: string; gateway?: string }[];
    if (!route?.dev) return undefined;
    return { destination, dev: route.dev, ...(route.gateway ? { gateway: route.gateway } : {}) };
  }

  /** The remote VTEP: the neighbour entry's MAC for the next hop, then the forwarding database entry of that MAC. */
  private async vxlanHop(netns: string, device: string, nextHop: string): Promise<HostTrace['vxlan']> {
    const out: NonNullable<HostTrace['vxlan']> = { device };
    try {
      const neigh = JSON.parse((await run('ip', ['-n', netns, '-j', 'neigh', 'show', 'to', nextHop, 'dev', device])).stdout) as {
        lladdr?: string;
      }[];
      const mac = neigh[0]?.lladdr?.toLowerCase();
      if (!mac) return out;
      const fdb = JSON.parse((await run('bridge', ['-n', netns, '-j', 'fdb', 'show', 'dev', device])).stdout) as {
        mac?: string;
        dst?: string;
      }[];
      const entry = fdb.find((e) => e.mac?.toLowerCase() === mac && e.dst);
      if (entry?.dst) {
        out.remoteVtep = entry.dst;
        const host = this.parts.view()?.hosts.find((h) => canonicalIp(h.underlayIP) === canonicalIp(entry.dst!));
        if (host) out.remoteHost = host.name;
      }
    } catch (error) {
      this.parts.log('debug', 'could not read the VXLAN hop', { netns, device, error: (error as Error).message });
    }
    return out;
  }
}
