/**
 * `tenet explain --to service/NAME`: the flow through a service is the flow to each of its backends
 * on the port that backend serves (policy judges after translation), so the service is resolved to
 * its backends here and each is explained like a direct flow. Pure: the CLI fetches the objects.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import type { Service } from '../model/kinds/service';
import { serviceBackends, targetPortOf } from './backends';

export interface ServiceHop {
  endpoint: string;
  host?: string;
  /** The port the backend serves the service port on. */
  port: number;
}

/** The backends a flow to `service` on protocol/port lands on; throws a readable message when the service has no such port. */
export function serviceHops(
  tenant: string,
  service: Service,
  endpoints: readonly Endpoint[],
  protocol: string,
  port: number | undefined,
): ServiceHop[] {
  const servicePort = service.spec.ports.find((p) => p.protocol.toLowerCase() === protocol && p.port === port);
  if (!servicePort) {
    const have = service.spec.ports.map((p) => `${p.protocol.toLowerCase()}/${p.port}`).join(', ');
    throw new Error(`service "${service.metadata.name}" has no port ${protocol}/${port ?? ''} (it has ${have})`);
  }
  const byName = new Map(endpoints.map((e) => [e.metadata.name, e]));
  const hops: ServiceHop[] = [];
  for (const backend of serviceBackends(tenant, service.spec, endpoints)) {
    const target = targetPortOf(servicePort, byName.get(backend.endpoint)!);
    if (target !== undefined) hops.push({ endpoint: backend.endpoint, ...(backend.host ? { host: backend.host } : {}), port: target });
  }
  return hops;
}
