/**
 * Which endpoints serve a service, and on which port: pure, shared by the controller's computed
 * status, the CLI and the agent's data plane compile, so all three agree.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import type { ServicePort, ServiceSpec } from '../model/kinds/service';
import { selectorMatches } from '../model/selectors';

export interface Backend {
  tenant: string;
  endpoint: string;
  network: string;
  host?: string;
  ipv4?: string;
  ipv6?: string;
}

/** Ready endpoints of the service's tenant (and network, when it names one) that its selector matches, sorted by name. */
export function serviceBackends(tenant: string, spec: ServiceSpec, endpoints: readonly Endpoint[]): Backend[] {
  const backends: Backend[] = [];
  for (const endpoint of endpoints) {
    if ((endpoint.metadata.tenant ?? '') !== tenant) continue;
    if (endpoint.status?.phase !== 'ready') continue;
    if (spec.network !== undefined && endpoint.spec.network !== spec.network) continue;
    if (!selectorMatches(spec.selector, endpoint.metadata.labels ?? {})) continue;
    backends.push({
      tenant,
      endpoint: endpoint.metadata.name,
      network: endpoint.spec.network,
      ...(endpoint.spec.host !== undefined ? { host: endpoint.spec.host } : {}),
      ...(endpoint.status.ipv4 !== undefined ? { ipv4: endpoint.status.ipv4 } : {}),
      ...(endpoint.status.ipv6 !== undefined ? { ipv6: endpoint.status.ipv6 } : {}),
    });
  }
  return backends.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}

/**
 * The port a backend serves a service port on: a number as given (default: the service port), a
 * name through the endpoint's declared container ports with the same protocol; undefined when the
 * endpoint declares no such name (it is then no backend of that port).
 */
export function targetPortOf(port: ServicePort, endpoint: Pick<Endpoint, 'spec'>): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  return endpoint.spec.ports?.find((p) => p.name === target && p.protocol === port.protocol)?.port;
}
