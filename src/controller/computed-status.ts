/**
 * Status fields computed at answer time, never stored: a Network's `allocated` (its endpoints that
 * hold an IPv4 address) and a Group's `members` (the endpoints of its tenant its selector matches).
 * Stored, they would have to be rewritten on every endpoint change; read here, `get` and `describe`
 * show the same numbers. One endpoint range per tenant involved.
 */
import type { TenetObject } from '../core/model/object';
import { selectorMatches, type LabelSelector } from '../core/model/selectors';
import type { ObjectService } from './object-service';
import { withRuleHits } from './policy-hits';
import { serviceBackends } from '../core/services/backends';
import type { FloatingIP } from '../core/model/kinds/floating-ip';
import type { Service } from '../core/model/kinds/service';
import type { Endpoint } from '../core/model/kinds/endpoint';
import type { Host } from '../core/model/kinds/host';

/**
 * Network `allocated`, Group `members` and FloatingIP `host` (the host(s) its traffic enters by: the
 * bound endpoint's, or the hosts of the bound service's ready backends) and `advertised` (the hosts
 * that report announcing its address, and how).
 */
const COUNTED_KINDS: ReadonlySet<string> = new Set(['Network', 'Group', 'FloatingIP']);

export async function withComputedStatus<T extends TenetObject>(service: ObjectService, objects: T[]): Promise<T[]> {
  const withHits = await withRuleHits(service, objects);
  const tenants = new Set(withHits.filter((o) => COUNTED_KINDS.has(o.kind)).map((o) => o.metadata.tenant ?? ''));
  if (tenants.size === 0) return withHits;
  const endpointsOf = new Map<string, TenetObject[]>();
  if (tenants.size > 8) {
    for (const endpoint of (await service.list('Endpoint')).items) {
      const list = endpointsOf.get(endpoint.metadata.tenant ?? '') ?? [];
      list.push(endpoint);
      endpointsOf.set(endpoint.metadata.tenant ?? '', list);
    }
  } else {
    for (const tenant of tenants) endpointsOf.set(tenant, (await service.list('Endpoint', { tenant })).items);
  }
  // Which hosts report advertising which floating IP (Host status.floatingIPs): one Host list per answer.
  const advertisers = new Map<string, { host: string; via: 'bgp' | 'l2' }[]>();
  if (withHits.some((o) => o.kind === 'FloatingIP')) {
    for (const host of (await service.list('Host')).items as Host[])
      for (const f of host.status?.floatingIPs ?? []) {
        const list = advertisers.get(f.address) ?? [];
        list.push({ host: host.metadata.name, via: f.via });
        advertisers.set(f.address, list);
      }
  }
  const servicesOf = new Map<string, Service[]>();
  for (const tenant of new Set(withHits.filter((o) => o.kind === 'FloatingIP').map((o) => o.metadata.tenant ?? '')))
    servicesOf.set(tenant, (await service.list('Service', { tenant })).items as Service[]);
  return withHits.map((object) => {
    if (!COUNTED_KINDS.has(object.kind)) return object;
    const endpoints = endpointsOf.get(object.metadata.tenant ?? '') ?? [];
    if (object.kind === 'FloatingIP') {
      const host = floatingHost(object as FloatingIP, endpoints as Endpoint[], servicesOf.get(object.metadata.tenant ?? '') ?? []);
      const address = (object as FloatingIP).status?.address;
      const advertised = (address !== undefined ? (advertisers.get(address) ?? []) : [])
        .sort((a, b) => a.host.localeCompare(b.host))
        .slice(0, 64);
      const computed = { ...(host !== undefined ? { host } : {}), ...(advertised.length > 0 ? { advertised } : {}) };
      return Object.keys(computed).length === 0 ? object : { ...object, status: { ...(object.status ?? {}), ...computed } };
    }
    if (object.kind === 'Network') {
      const allocated = endpoints.filter(
        (e) =>
          (e.spec as { network?: string }).network === object.metadata.name &&
          (e.status as { ipv4?: string } | undefined)?.ipv4 !== undefined,
      ).length;
      return { ...object, status: { ...(object.status ?? {}), allocated } };
    }
    const selector = (object.spec as { selector: LabelSelector }).selector;
    const members = endpoints.filter((e) => selectorMatches(selector, e.metadata.labels ?? {})).length;
    return { ...object, status: { ...(object.status ?? {}), members } };
  });
}

function floatingHost(fip: FloatingIP, endpoints: readonly Endpoint[], services: readonly Service[]): string | undefined {
  const target = fip.spec.target;
  if (target?.endpoint !== undefined) return endpoints.find((e) => e.metadata.name === target.endpoint)?.spec.host;
  if (target?.service === undefined) return undefined;
  const svc = services.find((s) => s.metadata.name === target.service);
  if (!svc) return undefined;
  const hosts = [...new Set(serviceBackends(fip.metadata.tenant ?? '', svc.spec, endpoints).map((b) => b.host ?? ''))]
    .filter(Boolean)
    .sort();
  return hosts.length > 0 ? hosts.join(',').slice(0, 63) : undefined;
}
