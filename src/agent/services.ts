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
import type { TenantView } from '../core/dataplane/host-view';

/** The last fragment per namespace with what it was made from: an unchanged input hands back the same object (nothing to diff). */
const lastFragments = new WeakMap<RouterNamespace, { key: string; program: NftProgram }>();
/** Each service's slot elements per namespace (src/core/services/compile.ts, SlotMemo): churn recompiles the changed services only. */
const memos = new WeakMap<RouterNamespace, SlotMemo>();

/** What the fragment depends on: the services and, of the endpoints, what selects, addresses and places them. */
function inputKey(tenant: TenantView, excluded: string | undefined): string {
  return JSON.stringify([
    excluded ?? '',
    tenant.services.map((s) => [s.metadata.name, s.spec, s.status?.virtualIPs ?? []]),
    tenant.endpoints.map((e) => [e.name, e.network, e.local, e.labels, e.ipv4, e.ipv6, e.phase, e.object.spec.ports ?? []]),
    tenant.networks.map((n) => [n.name, n.subnets.map((x) => x.gateway)]),
  ]);
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
