/** Prometheus metrics of one controller: requests by route, objects by kind, IPAM usage per network, VNIs in use. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { KINDS } from '../core/model/registry';
import type { StateIndex } from './state-index';
import type { ObjectService } from './object-service';
import type { Host } from '../core/model/kinds/host';
import { access } from './auth/access';
import { withProcessMetrics } from '../metrics/process-metrics';

export function installMetrics(
  app: FastifyInstance,
  index: StateIndex,
  service?: Pick<ObjectService, 'list'>,
  ready?: () => Promise<boolean>,
): Registry {
  const registry = new Registry();
  withProcessMetrics(registry);
  if (ready)
    new Gauge({
      name: 'tenet_controller_ready',
      help: 'Whether the controller is ready (its store answers), as /readyz: 1 or 0',
      registers: [registry],
      async collect() {
        this.set((await ready().catch(() => false)) ? 1 : 0);
      },
    });
  const requests = new Counter({
    name: 'tenet_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tenet_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (watch streams: their whole life), by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'tenet_objects',
    help: 'Objects in the store, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const info of KINDS) this.set({ kind: info.kind }, index.countOf(info.kind));
    },
  });
  const allocated = new Gauge({
    name: 'tenet_ipam_addresses_allocated',
    help: 'Addresses allocated per network and family',
    labelNames: ['tenant', 'network', 'family'] as const,
    registers: [registry],
    collect() {
      this.reset();
      total.reset();
      for (const network of index.knownNetworks()) {
        let pool;
        try {
          pool = index.pool(network);
        } catch {
          continue;
        }
        for (const subnet of pool.subnets) {
          const labels = { tenant: network.metadata.tenant ?? '', network: network.metadata.name, family: `ipv${subnet.family}` };
          this.set(labels, subnet.usedCount);
          total.set(labels, Number(subnet.capacity));
        }
      }
    },
  });
  const total = new Gauge({
    // Not `_total`: a gauge, and `promtool check metrics` refuses gauges named like counters.
    name: 'tenet_ipam_addresses_capacity',
    help: 'Addresses that can be allocated per network and family',
    labelNames: ['tenant', 'network', 'family'] as const,
    registers: [registry],
  });
  void allocated;
  // The VNI pool is cluster-wide and invisible otherwise: this shows a tenant deletion returning its VNI.
  new Gauge({
    name: 'tenet_vnis_allocated',
    help: 'VXLAN network identifiers held by tenants',
    registers: [registry],
    collect() {
      this.set(index.vnis.usedCount - index.retired.size);
    },
  });
  new Gauge({
    name: 'tenet_vnis_retired',
    help: 'VXLAN network identifiers of deleted tenants still held back until every host confirms it dropped them',
    registers: [registry],
    collect() {
      this.set(index.retired.size);
    },
  });

  // Antispoofing drops per endpoint, as each agent's heartbeat reports them (Host status.spoofDrops):
  // read at scrape time, so an alert can name the container that forges its source.
  if (service) {
    new Gauge({
      name: 'tenet_antispoof_dropped_packets',
      help: "Packets dropped on a local endpoint interface for a source address or MAC that is not the endpoint's, by host, tenant and endpoint",
      labelNames: ['host', 'tenant', 'endpoint'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const host of (await service.list('Host')).items as Host[]) {
          for (const drop of host.status?.spoofDrops ?? [])
            this.set({ host: host.metadata.name, tenant: drop.tenant, endpoint: drop.endpoint }, drop.packets);
        }
      },
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, code: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', access({ type: 'admin' }), async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return registry;
}
