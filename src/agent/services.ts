/**
 * The service NAT producer: its fragment of each tenant router namespace's table comes from the pure
 * core (src/core/services/compile.ts). It knows nothing of the policy program or antispoofing: it
 * owns the `sv_` names, hooks prerouting (nat, dstnat; filter right after) and postrouting (nat), and
 * hands the table its whole fragment; the table's diff turns backend churn into element updates of
 * the service's own keys in the slot map.
 */
import { hasVip, SERVICE_NAMES, ServiceNatCompiler } from '../core/services/compile';
import { TABLE_NAME, type NftProgram } from '../core/policy/program';
import type { TableProducer } from './nft/programmer';
import type { RouterNamespace } from './router-namespace';

/**
 * One incremental compiler per router namespace (src/core/services/compile.ts): a pass costs the
 * services whose object or possible backends changed, and an unchanged tenant hands back the same
 * fragment (nothing to diff). 10,000 services: a backend change is one selector test per service.
 */
const compilers = new WeakMap<RouterNamespace, ServiceNatCompiler>();

/** The fragment of a tenant without services: nothing (an empty fragment costs the table's diff nothing). */
const noServices = (): NftProgram => ({ family: 'inet', table: TABLE_NAME, sets: [], maps: [], chains: [], interfaces: {} });

export const servicesProducer: TableProducer = {
  name: 'services',
  fragment(ns, _view, tenant, excluded) {
    // Most tenants have no service: their attach must not pay for a walk of every endpoint (the
    // compiler's change detection and hairpin elements cost ~10 ms per attach at 2,000 endpoints).
    if (!tenant.services.some(hasVip)) {
      compilers.delete(ns);
      return noServices();
    }
    let compiler = compilers.get(ns);
    if (!compiler) compilers.set(ns, (compiler = new ServiceNatCompiler()));
    return compiler.compile(tenant, excluded);
  },
  reset(ns) {
    compilers.delete(ns);
  },
};

/** Whether a committed table holds the service NAT (the tenant's services are realized in it). */
export function realizesServices(program: NftProgram | undefined): boolean {
  return program?.chains.some((c) => c.name === SERVICE_NAMES.dnat) ?? false;
}
