/**
 * The computed `status.readyBackends` and `status.realizedHosts` of Service answers: read at answer
 * time (one range over the tenant's endpoints and one over the hosts), never stored, so endpoint
 * churn and heartbeats never rewrite services.
 */
import type { Endpoint } from '../core/model/kinds/endpoint';
import type { ServiceSpec } from '../core/model/kinds/service';
import type { TenetObject } from '../core/model/object';
import { serviceBackends } from '../core/services/backends';
import { serviceDnsName } from '../core/dns/records';
import type { ObjectService } from './object-service';

export async function withServiceStatus<T extends TenetObject>(service: ObjectService, objects: T[]): Promise<T[]> {
  const tenants = new Set(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.tenant ?? ''));
  if (tenants.size === 0) return objects;
  const endpoints = new Map<string, Endpoint[]>();
  for (const tenant of tenants) endpoints.set(tenant, (await service.list('Endpoint', { tenant })).items as Endpoint[]);
  const realized = new Map<string, number>();
  for (const host of (await service.list('Host')).items) {
    for (const tenant of ((host.status ?? {}) as { serviceTenants?: string[] }).serviceTenants ?? [])
      realized.set(tenant, (realized.get(tenant) ?? 0) + 1);
  }
  return objects.map((object) => {
    if (object.kind !== 'Service') return object;
    const tenant = object.metadata.tenant ?? '';
    const readyBackends = serviceBackends(tenant, object.spec as ServiceSpec, endpoints.get(tenant) ?? []).length;
    const status = (object.status ?? {}) as { dnsName?: string };
    // The name under the controller's current cluster domain (a service created before a domain change keeps no stale name).
    const dnsName = status.dnsName !== undefined ? serviceDnsName(object.metadata.name, tenant, service.clusterDomain) : undefined;
    return {
      ...object,
      status: { ...status, ...(dnsName !== undefined ? { dnsName } : {}), readyBackends, realizedHosts: realized.get(tenant) ?? 0 },
    };
  });
}
