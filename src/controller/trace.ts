/**
 * `tenet trace` at the controller (docs/observability.md, "Trace of a real packet"): resolves the
 * question as explain does, asks the agents of the hosts the packet crosses to arm the kernel's tracer
 * (the destination's and the backends' first, then the source's, which injects the probe), puts their
 * parts together and compares them with explain.
 *
 * Agents open no port: each keeps one long poll open (GET /api/v1/hosts/NAME/traces, its own token,
 * only its own host) on which the controller hands it messages, and reports back with POST
 * /api/v1/hosts/NAME/traces/ID — accepted only from the agent of a host the job was sent to.
 * Jobs live in this controller's memory: with several controllers (docs/ha.md) a trace reaches the
 * agents that poll the controller it was asked of.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Endpoint } from '../core/model/kinds/endpoint';
import type { Service } from '../core/model/kinds/service';
import { isName } from '../core/model/names';
import { canonicalIp, parseIp } from '../core/net/ip';
import { explainFlow, FlowQueryError } from '../core/policy/explain-flow';
import type { Decision } from '../core/policy/explain';
import { resolveFlowEnd } from '../core/policy/flow';
import { parsePortText, redactDecision, redactOrigin } from '../core/policy/matrix';
import { serviceHops } from '../core/services/explain';
import {
  DEFAULT_TRACE_MS,
  MAX_TRACE_MS,
  MIN_TRACE_MS,
  PROBE_PORTS,
  TRACE_ID,
  type TraceJob,
  type TraceMatch,
  type TraceMessage,
  type TraceProtocol,
} from '../core/trace/job';
import { checkHostTrace, summarizeTrace, type HostTrace, type TraceAnswer } from '../core/trace/report';
import type { TraceRule } from '../core/trace/events';
import { objectKey } from '../store/keys';
import { access } from './auth/access';
import { forbidden } from './auth/authorize';
import { invalid, notFound, ServiceError } from './errors';
import { decodeObject } from './object-codec';
import type { ObjectService } from './object-service';
import { readPolicyIntent } from './policy-intent';
import { checkName } from './routes/objects';

/** Traces under way at once, per tenant and per host (429 beyond). */
export const MAX_TRACES_PER_TENANT = 2;
export const MAX_TRACES_PER_HOST = 4;
/** Hosts one trace arms at most (a service's backends may be spread wider: the first ones by name). */
export const MAX_TRACE_HOSTS = 8;
/** How long an agent's poll is held when there is nothing for it (its client's idle timeout is 10 s). */
const POLL_HOLD_MS = 8000;
/** Messages waiting for one host at most. */
const MAX_QUEUE = 64;
/** How long observers get to arm. */
const ARM_MS = 3000;

const tooMany = (message: string) => new ServiceError(429, 'TooManyRequests', message);

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface HostPart {
  role: HostTrace['role'];
  armed: Deferred<string | undefined>;
  done: Deferred<HostTrace>;
}

/** The message channel to the agents and the reports of jobs under way. */
export class TraceChannel {
  private readonly queues = new Map<string, TraceMessage[]>();
  private readonly waiters = new Map<string, (messages: TraceMessage[]) => void>();
  private readonly jobs = new Map<string, Map<string, HostPart>>();
  private readonly perTenant = new Map<string, number>();
  private readonly perHost = new Map<string, number>();
  private closed = false;

  send(host: string, message: TraceMessage): void {
    const waiter = this.waiters.get(host);
    if (waiter) {
      this.waiters.delete(host);
      return waiter([message]);
    }
    const queue = this.queues.get(host) ?? [];
    if (queue.length >= MAX_QUEUE) queue.shift();
    queue.push(message);
    this.queues.set(host, queue);
  }

  /** An agent's poll: what is queued for it, else the next message within holdMs, else nothing. */
  take(host: string, holdMs = POLL_HOLD_MS): Promise<TraceMessage[]> {
    const queued = this.queues.get(host);
    if (queued?.length || this.closed) {
      this.queues.delete(host);
      return Promise.resolve(queued ?? []);
    }
    // A newer poll of the same host (a restarted agent) takes over; the older one ends empty.
    this.waiters.get(host)?.([]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiters.get(host) === done) this.waiters.delete(host);
        resolve([]);
      }, holdMs);
      const done = (messages: TraceMessage[]): void => {
        clearTimeout(timer);
        resolve(messages);
      };
      this.waiters.set(host, done);
    });
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.values()) waiter([]);
    this.waiters.clear();
  }

  /** Takes the concurrency slots of a trace, or refuses with 429. */
  begin(tenant: string, hosts: string[]): () => void {
    if ((this.perTenant.get(tenant) ?? 0) >= MAX_TRACES_PER_TENANT)
      throw tooMany(`tenant ${tenant} has ${MAX_TRACES_PER_TENANT} traces under way already; try again when one has answered`);
    const busy = hosts.find((h) => (this.perHost.get(h) ?? 0) >= MAX_TRACES_PER_HOST);
    if (busy) throw tooMany(`host ${busy} runs ${MAX_TRACES_PER_HOST} traces already; try again shortly`);
    this.perTenant.set(tenant, (this.perTenant.get(tenant) ?? 0) + 1);
    for (const h of hosts) this.perHost.set(h, (this.perHost.get(h) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.perTenant.set(tenant, (this.perTenant.get(tenant) ?? 1) - 1);
      for (const h of hosts) this.perHost.set(h, (this.perHost.get(h) ?? 1) - 1);
    };
  }

  open(id: string, parts: Map<string, HostPart>): void {
    this.jobs.set(id, parts);
  }

  end(id: string): void {
    this.jobs.delete(id);
  }

  /** An agent's report; 404 unless the job is under way and was sent to this host. */
  report(host: string, id: string, body: unknown): { ok: true } {
    const part = TRACE_ID.test(id) ? this.jobs.get(id)?.get(host) : undefined;
    if (!part) throw notFound(`no trace ${id.slice(0, 20)} under way on host ${host}`);
    const b = (body ?? {}) as Record<string, unknown>;
    if (b.phase === 'armed') part.armed.resolve(undefined);
    else if (b.phase === 'failed') {
      const error = typeof b.error === 'string' ? b.error.slice(0, 300) : 'the agent failed';
      part.armed.resolve(error);
      part.done.resolve({ host, role: part.role, hooks: [], error });
    } else if (b.phase === 'done') {
      let trace: HostTrace;
      try {
        trace = checkHostTrace(b, host, part.role);
      } catch (error) {
        throw invalid(`trace report: ${(error as Error).message}`, ['body: invalid']);
      }
      part.armed.resolve(undefined);
      part.done.resolve(trace);
    } else throw invalid('phase must be armed, done or failed', ['phase: invalid']);
    return { ok: true };
  }
}

function within<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback()), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** "5s", "1500ms", "2" (seconds), or a number of ms. */
export function parseTraceTimeout(value: unknown): number | undefined {
  if (value === undefined) return DEFAULT_TRACE_MS;
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const m = /^([0-9]{1,6})(ms|s)?$/.exec(value.trim());
    if (m) ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
  }
  return ms !== undefined && Number.isInteger(ms) && ms >= MIN_TRACE_MS && ms <= MAX_TRACE_MS ? ms : undefined;
}

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'icmp', 'icmpv6'];

/** What a tenant role may not read of a hop: GlobalPolicies' names (their rules' text and comments name them). */
function redactRule(rule: TraceRule): TraceRule {
  const global = rule.origin?.policyKind === 'GlobalPolicy' || /^(admin|baseline)[: ]/.test(rule.comment ?? '');
  if (!global) return rule;
  return {
    chain: rule.chain,
    text: '(a GlobalPolicy rule)',
    verdict: rule.verdict,
    ...(rule.origin ? { origin: redactOrigin(rule.origin)! } : {}),
  };
}

function redactHost(host: HostTrace): HostTrace {
  return {
    ...host,
    hooks: host.hooks.map((h) => ({
      ...h,
      rules: h.rules.map(redactRule),
      ...(h.decidedBy ? { decidedBy: redactRule(h.decidedBy) } : {}),
    })),
  };
}

interface Question {
  tenant: string;
  from: string;
  to: string;
  port: string;
  live: boolean;
  timeoutMs: number;
}

function readQuestion(request: FastifyRequest, tenant: string): Question & { protocol: TraceProtocol; portNumber?: number } {
  const b = (request.body ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  const text = (key: string): string => {
    const v = b[key];
    if (typeof v !== 'string' || v === '' || v.length > 253) {
      problems.push(`${key}: required, a string`);
      return '';
    }
    return v;
  };
  const from = text('from');
  const to = text('to');
  const portText = text('port');
  const port = portText ? parsePortText(portText) : undefined;
  if (portText && (!port || !PROTOCOLS.includes(port.protocol))) problems.push('port: tcp/PORT, udp/PORT, icmp or icmpv6');
  if (b.live !== undefined && typeof b.live !== 'boolean') problems.push('live: true or false');
  const timeoutMs = parseTraceTimeout(b.timeout);
  if (timeoutMs === undefined) problems.push(`timeout: ${MIN_TRACE_MS / 1000}s to ${MAX_TRACE_MS / 1000}s (e.g. "5s")`);
  const unknown = Object.keys(b).filter((k) => !['from', 'to', 'port', 'live', 'timeout'].includes(k));
  for (const k of unknown) problems.push(`${k.slice(0, 40)}: unknown field`);
  if (problems.length > 0)
    throw invalid('a trace needs from (an endpoint), to (an endpoint, its address or service/NAME) and port', problems);
  return {
    tenant,
    from,
    to,
    port: portText,
    live: b.live === true,
    timeoutMs: timeoutMs!,
    protocol: port!.protocol as TraceProtocol,
    ...(port!.port !== undefined ? { portNumber: port!.port } : {}),
  };
}

export function registerTraceRoutes(app: FastifyInstance, service: ObjectService, channel: TraceChannel): void {
  app.addHook('preClose', async () => channel.close());

  app.get('/api/v1/hosts/:name/traces', access({ type: 'trace-channel' }), async (request) => {
    const host = (request.params as { name: string }).name;
    return { messages: await channel.take(host) };
  });

  app.post('/api/v1/hosts/:name/traces/:id', access({ type: 'trace-channel' }), async (request) => {
    const { name, id } = request.params as { name: string; id: string };
    return channel.report(name, id, request.body);
  });

  app.post('/api/v1/tenants/:tenant/trace', access({ type: 'policy-question' }), async (request): Promise<TraceAnswer> => {
    const tenant = checkName((request.params as { tenant?: unknown }).tenant, 'tenant');
    // A trace sends packets from the tenant's endpoints: admins and the tenant's admins, not viewers.
    if (request.principal?.role === 'viewer') throw forbidden('viewers may not trace (it sends a probe); ask a tenant-admin');
    const q = readQuestion(request, tenant);
    const intent = await readPolicyIntent(service.store, tenant);
    if (!intent.tenants.some((t) => t.metadata.name === tenant)) throw notFound(`tenant ${tenant} not found`);
    const family = q.protocol === 'icmpv6' ? 6 : undefined;
    // Only this tenant's endpoints resolve: another tenant's names and addresses are "not found" here.
    const fromEnd = resolveFlowEnd(intent, tenant, q.from, family);
    if (!fromEnd || !('endpoint' in fromEnd))
      throw notFound(`from "${q.from.slice(0, 80)}" is not an endpoint (with an address) of tenant ${tenant}`);
    const source = fromEnd.endpoint;
    const sourceHost = source.spec.host;
    if (!sourceHost) throw invalid(`endpoint ${source.metadata.name} is not placed on a host yet`, ['from: not placed']);
    const addressFamily = parseIp(fromEnd.address)!.family;
    if ((q.protocol === 'icmp' && addressFamily !== 4) || (q.protocol === 'icmpv6' && addressFamily !== 6))
      throw invalid(`${q.protocol} does not fit ${source.metadata.name}'s address ${fromEnd.address}`, ['port: wrong family']);

    let destination: TraceAnswer['to'];
    let destinationHosts: string[];
    let backends: { endpoint: string; host?: string; port: number }[] = [];
    if (q.to.startsWith('service/')) {
      const name = q.to.slice('service/'.length);
      if (!isName(name)) throw invalid(`to: "${q.to.slice(0, 80)}" is not service/NAME`, ['to: invalid']);
      const kv = await service.store.get(objectKey('Service', tenant, name));
      if (!kv) throw notFound(`service ${name} of tenant ${tenant} not found`);
      const svc = decodeObject(kv) as Service;
      const vip = (svc.status?.virtualIPs ?? []).map((a) => canonicalIp(a)!).find((a) => parseIp(a)?.family === addressFamily);
      if (!vip) throw invalid(`service ${name} has no IPv${addressFamily} virtual IP`, ['to: no virtual IP']);
      try {
        backends = serviceHops(tenant, svc, intent.endpoints as Endpoint[], q.protocol, q.portNumber);
      } catch (error) {
        throw invalid((error as Error).message, ['port: not a port of the service']);
      }
      destination = { service: name, address: vip };
      destinationHosts = [...new Set(backends.map((b) => b.host).filter((h): h is string => h !== undefined))].sort();
    } else {
      const toEnd = resolveFlowEnd(intent, tenant, q.to, addressFamily);
      if (!toEnd || !('endpoint' in toEnd))
        throw notFound(`to "${q.to.slice(0, 80)}" is not an endpoint, an endpoint's address or service/NAME of tenant ${tenant}`);
      if (parseIp(toEnd.address)?.family !== addressFamily) throw invalid('from and to have no address of one family', ['to: family']);
      destination = { endpoint: toEnd.endpoint.metadata.name, address: toEnd.address };
      destinationHosts = toEnd.endpoint.spec.host ? [toEnd.endpoint.spec.host] : [];
    }
    const observers = destinationHosts.filter((h) => h !== sourceHost).slice(0, MAX_TRACE_HOSTS - 1);
    const hosts = [sourceHost, ...observers];
    const release = channel.begin(tenant, hosts);
    const id = randomBytes(8).toString('hex');
    let finished = false;
    try {
      const ported = q.protocol === 'tcp' || q.protocol === 'udp';
      const sport = ported && !q.live ? randomInt(PROBE_PORTS.first, PROBE_PORTS.last + 1) : undefined;
      const base: TraceMatch = { family: addressFamily, protocol: q.protocol, saddr: fromEnd.address };
      if (sport !== undefined) base.sport = sport;
      const sourceMatch: TraceMatch = { ...base, daddr: destination.address, ...(ported ? { dport: q.portNumber } : {}) };
      // After a Service's DNAT the backend is not known in advance: elsewhere the source (and its port) pick the packet out.
      const observerMatch: TraceMatch = destination.service ? base : sourceMatch;
      const job = (match: TraceMatch, probe: boolean): TraceJob => ({
        id,
        tenant,
        match,
        timeoutMs: q.timeoutMs,
        live: q.live,
        ...(probe ? { probe: { endpoint: source.metadata.name } } : {}),
      });
      const parts = new Map<string, HostPart>(
        hosts.map((h) => [h, { role: h === sourceHost ? 'source' : 'observer', armed: deferred(), done: deferred() }]),
      );
      channel.open(id, parts);
      const missing = (h: string, what: string) => (): HostTrace => ({
        host: h,
        role: parts.get(h)!.role,
        hooks: [],
        error: `the agent of host ${h} did not ${what} in time (is it running and connected?)`,
      });
      for (const h of observers) channel.send(h, { type: 'arm', job: job(observerMatch, false) });
      const armErrors = await Promise.all(observers.map((h) => within(parts.get(h)!.armed.promise, ARM_MS, () => 'not armed')));
      for (const [i, h] of observers.entries())
        if (armErrors[i] === 'not armed') parts.get(h)!.done.resolve(missing(h, 'arm the tracer')());
      channel.send(sourceHost, { type: 'arm', job: job(sourceMatch, !q.live) });
      const sourcePart = await within(parts.get(sourceHost)!.done.promise, q.timeoutMs + 5000, missing(sourceHost, 'answer'));
      for (const h of observers) channel.send(h, { type: 'stop', id });
      const observerParts = await Promise.all(observers.map((h) => within(parts.get(h)!.done.promise, 3000, missing(h, 'answer'))));
      finished = true;
      const reports = [sourcePart, ...observerParts];
      const admin = request.principal?.role === 'admin';

      const backend = reports.map((r) => r.dnat?.backend).find((b) => b !== undefined);
      const explained = explainFor(intent, tenant, source.metadata.name, destination, backends, backend, q);
      const answerBase = {
        tenant,
        from: { endpoint: source.metadata.name, address: fromEnd.address },
        to: destination,
        protocol: q.protocol,
        ...(q.portNumber !== undefined ? { port: q.portNumber } : {}),
        live: q.live,
        explain: explained,
      };
      const full = summarizeTrace(answerBase, reports);
      let answer = full;
      if (!admin) {
        answer = summarizeTrace(
          {
            ...answerBase,
            explain: { ...explained, egress: redactDecision(explained.egress), ingress: redactDecision(explained.ingress) },
          },
          reports.map(redactHost),
        );
        if (full.agreement === 'disagree' && answer.agreement !== 'disagree') {
          answer.agreement = 'disagree';
          answer.differences.push('a GlobalPolicy rule differs between the kernel and intent (an admin sees which)');
        }
      }
      if (full.agreement === 'disagree') {
        // The kernel is not what intent says: the agents rewrite the tenant's table now (a hand edit in the
        // middle of a chain keeps its fingerprint, so no read-back would find it; docs/observability.md).
        const asked = reports.filter((r) => !r.error).map((r) => r.host);
        for (const h of asked) channel.send(h, { type: 'resync', tenant });
        answer.resync = asked;
      }
      return answer;
    } finally {
      // Failed half-way: whatever an agent armed goes now (each agent also ends its job at its own deadline).
      if (!finished) for (const h of hosts) channel.send(h, { type: 'stop', id });
      channel.end(id);
      release();
    }
  });
}

/** Explain's answer for the same packet: to the destination endpoint, or to the backend the kernel picked. */
function explainFor(
  intent: Awaited<ReturnType<typeof readPolicyIntent>>,
  tenant: string,
  from: string,
  to: TraceAnswer['to'],
  backends: { endpoint: string; port: number }[],
  picked: string | undefined,
  q: { protocol: TraceProtocol; portNumber?: number },
): TraceAnswer['explain'] {
  const notJudged: Decision = { verdict: 'not-judged', text: 'no backend' };
  let target = to.endpoint;
  let port = q.portNumber;
  let backend: string | undefined;
  if (to.service) {
    const hop = backends.find((b) => b.endpoint === picked) ?? backends[0];
    // No ready backend: service NAT refuses the connection at once, whatever the policy says.
    if (!hop) return { allowed: false, egress: notJudged, ingress: notJudged };
    target = hop.endpoint;
    port = hop.port;
    backend = hop.endpoint;
  }
  try {
    const answer = JSON.parse(explainFlow(intent, tenant, from, target!, { protocol: q.protocol, port }, { output: 'json' })) as {
      allowed: boolean;
      egress: Decision;
      ingress: Decision;
    };
    return { allowed: answer.allowed, egress: answer.egress, ingress: answer.ingress, ...(backend ? { backend } : {}) };
  } catch (error) {
    if (error instanceof FlowQueryError) throw notFound(error.message);
    throw error;
  }
}
