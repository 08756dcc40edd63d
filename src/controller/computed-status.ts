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

const COUNTED_KINDS: ReadonlySet<string> = new Set(['Network', 'Group']);

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
  return withHits.map((object) => {
    if (!COUNTED_KINDS.has(object.kind)) return object;
    const endpoints = endpointsOf.get(object.metadata.tenant ?? '') ?? [];
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
