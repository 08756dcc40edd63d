/**
 * The service NAT producer: its fragment of each tenant router namespace's table comes from the pure
 * core (src/core/services/compile.ts). It knows nothing of the policy program or antispoofing: it
 * owns the `sv_` names, hooks prerouting (nat, dstnat; filter right after) and postrouting (nat), and
 * hands the table its whole fragment; the table's diff turns backend churn into element updates of
 * the service's own keys in the slot map.
 */
import { SERVICE_NAMES, servicesProgram, type SlotMemo } from '../core/services/compile';
import type { NftProgram } from '../core/policy/program';
import type { TableProducer } from './nft/programmer';
import type { RouterNamespace } from './router-namespace';
import type { EndpointView, TenantView } from '../core/dataplane/host-view';

/** The last fragment per namespace with what it was made from: an unchanged input hands back the same object (nothing to diff). */
const lastFragments = new WeakMap<RouterNamespace, { key: string; program: NftProgram }>();
/** Each service's slot elements per namespace (src/core/services/compile.ts, SlotMemo): churn recompiles the changed services only. */
const memos = new WeakMap<RouterNamespace, SlotMemo>();

/** Each endpoint view's part of the key, once per view (views of unchanged endpoints are the same objects). */
const endpointKeys = new WeakMap<EndpointView, string>();

function endpointKey(e: EndpointView): string {
  let key = endpointKeys.get(e);
  if (key === undefined) {
    key = JSON.stringify([e.name, e.network, e.local, e.labels, e.ipv4, e.ipv6, e.phase, e.object.spec.ports ?? []]);
    endpointKeys.set(e, key);
  }
  return key;
}

/**
 * What the fragment depends on: the services and, of the endpoints, what selects, addresses and places
 * them. A tenant without a service that has a virtual IP gets the empty fragment whatever its endpoints
 * (servicesProgram), so its key leaves them out: an attach there costs nothing here.
 */
function inputKey(tenant: TenantView, excluded: string | undefined): string {
  const services = tenant.services.map((s) => [s.metadata.name, s.spec, s.status?.virtualIPs ?? []]);
  if (!tenant.services.some((s) => (s.status?.virtualIPs ?? []).length > 0)) return JSON.stringify(['none', services]);
  return JSON.stringify([excluded ?? '', services, tenant.networks.map((n) => [n.name, n.subnets.map((x) => x.gateway)])]).concat(
    '\n',
    tenant.endpoints.map(endpointKey).join('\n'),
  );
}

export const servicesProducer: TableProducer = {
  name: 'services',
  fragment(ns, _view, tenant, excluded) {
    const key = inputKey(tenant, excluded);
    const last = lastFragments.get(ns);
    if (last?.key === key) return last.program;
    let memo = memos.get(ns);
    if (!memo) memos.set(ns, (memo = new Map()));
    const program = servicesProgram(tenant, excluded, memo);
    lastFragments.set(ns, { key, program });
    return program;
  },
  reset(ns) {
    lastFragments.delete(ns);
    memos.delete(ns);
  },
};

/** Whether a committed table holds the service NAT (the tenant's services are realized in it). */
export function realizesServices(program: NftProgram | undefined): boolean {
  return program?.chains.some((c) => c.name === SERVICE_NAMES.dnat) ?? false;
}
