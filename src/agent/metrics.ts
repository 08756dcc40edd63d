/**
 * The agent's Prometheus metrics (docs/observability.md, "Agent metrics"): reconcile passes and their
 * duration, nft transactions and their errors, attach latency, flow and deny records made, evicted and
 * lost, per-namespace counts, and the process metrics. Served on the attach socket (`GET /metrics`) and,
 * with `--metrics-address HOST:PORT`, on a local TCP address (with `/healthz`) for a Prometheus to scrape.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { withProcessMetrics } from '../metrics/process-metrics';
import type { NftDriver } from './nft/table';
import type { FlowCounters } from './flows/recorder';
import type { DenyRuleCount } from '../core/flows/record-types';

export interface AgentGauges {
  /** Tenant namespaces with their local endpoint counts and programmed state. */
  namespaces(): Array<{ tenant: string; endpoints: number; flowReader: boolean }>;
  flows(): (FlowCounters & { ring: number }) | undefined;
  /** Per logging rule: what the kernel saw and held back, what the agent made of it. */
  ruleCounts(): DenyRuleCount[];
  flowExport(): { exported: number; dropped: number; queued: number } | undefined;
  /** The healthz answer. */
  healthy(): Promise<boolean>;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly passes = new Counter({
    name: 'tenet_agent_reconcile_passes_total',
    help: 'Reconcile passes completed; full: with a kernel read-back (start, resync)',
    labelNames: ['full'] as const,
    registers: [this.registry],
  });
  readonly passDuration = new Histogram({
    name: 'tenet_agent_reconcile_duration_seconds',
    help: 'Time of one reconcile pass',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly passFailures = new Gauge({
    name: 'tenet_agent_reconcile_failures',
    help: 'Commands that failed in the last reconcile pass',
    registers: [this.registry],
  });
  readonly nftDuration = new Histogram({
    name: 'tenet_agent_nft_transaction_duration_seconds',
    help: 'Time of one nft transaction (all producers of a namespace, one commit)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly nftErrors = new Counter({
    name: 'tenet_agent_nft_transaction_errors_total',
    help: 'nft transactions the kernel refused',
    registers: [this.registry],
  });
  readonly nftEnobufs = new Counter({
    name: 'tenet_agent_nft_enobufs_total',
    help: 'nft transactions answered with ENOBUFS, by what they came to: committed (took effect), retried (sent again), split (sent again in parts of elements), unknown (failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly attachDuration = new Histogram({
    name: 'tenet_agent_attach_duration_seconds',
    help: 'Time from an attach request to its answer, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(gauges: AgentGauges) {
    withProcessMetrics(this.registry);
    new Gauge({
      name: 'tenet_agent_namespace_endpoints',
      help: 'Local endpoints per tenant router namespace',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const ns of gauges.namespaces()) this.set({ tenant: ns.tenant }, ns.endpoints);
      },
    });
    new Gauge({
      name: 'tenet_agent_flow_readers',
      help: 'Tenant router namespaces whose flow reader runs',
      registers: [this.registry],
      collect() {
        this.set(gauges.namespaces().filter((ns) => ns.flowReader).length);
      },
    });
    const flowCounter = (name: string, help: string, pick: (c: FlowCounters) => number, labels?: Record<string, string>) =>
      new Counter({
        name,
        help,
        labelNames: labels ? (Object.keys(labels) as string[]) : [],
        registers: [this.registry],
        collect() {
          const counters = gauges.flows();
          if (!counters) return;
          // Counters read from the recorder's totals: set by resetting to the current value.
          this.reset();
          if (labels) this.inc(labels, pick(counters));
          else this.inc(pick(counters));
        },
      });
    flowCounter('tenet_agent_flow_records_total', 'Flow and deny records made', (c) => c.recorded);
    flowCounter('tenet_agent_flow_records_evicted_total', 'Records the ring let go before they reached the controller', (c) => c.evicted);
    new Counter({
      name: 'tenet_agent_flow_events_lost_total',
      help: 'Kernel messages lost before the reader took them (socket buffer full), by source',
      labelNames: ['source'] as const,
      registers: [this.registry],
      collect() {
        const counters = gauges.flows();
        if (!counters) return;
        this.reset();
        this.inc({ source: 'nflog' }, counters.lostLog);
        this.inc({ source: 'conntrack' }, counters.lostConntrack);
      },
    });
    flowCounter(
      'tenet_agent_flow_events_throttled_total',
      "Events over a namespace's rate (500/s, burst 1000), dropped before they made a record",
      (c) => c.throttled,
    );
    flowCounter(
      'tenet_agent_flow_events_ignored_total',
      'Events that made no record (not a Tenet prefix, a malformed packet)',
      (c) => c.ignored,
    );
    const perRule = (name: string, help: string, pick: (r: DenyRuleCount) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['tenant', 'rule'] as const,
        registers: [this.registry],
        collect() {
          // The kernel's counters restart when a rule is written again: Prometheus takes that as a reset.
          this.reset();
          for (const r of gauges.ruleCounts()) this.inc({ tenant: r.tenant, rule: r.rule }, pick(r));
        },
      });
    perRule(
      'tenet_agent_deny_log_packets_total',
      'Packets a logging rule (deny twin or log rule) saw, by tenant and nflog prefix',
      (r) => r.seen,
    );
    perRule(
      'tenet_agent_deny_log_suppressed_total',
      "Packets a logging rule's kernel rate limit held back (not logged), by tenant and nflog prefix",
      (r) => r.suppressed,
    );
    const exportCounter = (name: string, help: string, pick: (e: { exported: number; dropped: number }) => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(pick(gauges.flowExport() ?? { exported: 0, dropped: 0 }));
        },
      });
    exportCounter('tenet_agent_flow_export_records_total', 'Records written to the --flow-export file or socket', (e) => e.exported);
    exportCounter(
      'tenet_agent_flow_export_dropped_total',
      'Records the export dropped (queue full: collector or disk too slow)',
      (e) => e.dropped,
    );
    new Gauge({
      name: 'tenet_agent_healthy',
      help: 'Whether the agent answers its health check as healthy (1) or not (0)',
      registers: [this.registry],
      async collect() {
        this.set((await gauges.healthy().catch(() => false)) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tenet_agent_flow_ring_records',
      help: 'Records held in the agent ring',
      registers: [this.registry],
      collect() {
        this.set(gauges.flows()?.ring ?? 0);
      },
    });
  }

  /** The driver with its commits timed and their failures counted. */
  timedDriver(driver: NftDriver): NftDriver {
    const commit = async (tx: Parameters<NftDriver['commit']>[0]): Promise<void> => {
      const end = this.nftDuration.startTimer();
      try {
        await driver.commit(tx);
      } catch (error) {
        this.nftErrors.inc();
        throw error;
      } finally {
        end();
      }
    };
    return Object.assign(Object.create(driver) as NftDriver, { commit });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Answers `GET /metrics` (and, when `healthz` is given, `GET /healthz`); false: not its route. */
  handler(healthz?: () => Promise<{ ok: boolean }>): (request: http.IncomingMessage, response: http.ServerResponse) => boolean {
    return (request, response) => {
      const route = `${request.method} ${(request.url ?? '').split('?')[0]}`;
      if (route === 'GET /metrics') {
        void this.text().then(
          ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
          (error: Error) => response.writeHead(500).end(error.message),
        );
        return true;
      }
      if (healthz && route === 'GET /healthz') {
        void healthz().then(
          (health) => response.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(health)),
          (error: Error) => response.writeHead(503).end(JSON.stringify({ ok: false, error: error.message })),
        );
        return true;
      }
      return false;
    };
  }
}

/** A local TCP listener for the metrics and healthz (HOST:PORT; the host must be a loopback or local address). */
export async function startMetricsListener(address: string, handle: ReturnType<AgentMetrics['handler']>): Promise<http.Server> {
  const match = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):([0-9]{1,5})$/.exec(address);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535)
    throw new Error(`--metrics-address "${address.slice(0, 60)}" must be HOST:PORT (an IP address or localhost)`);
  const host = match[1].replace(/^\[|\]$/g, '');
  const server = http.createServer((request, response) => {
    if (!handle(request, response)) response.writeHead(404).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
