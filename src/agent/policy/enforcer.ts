/**
 * The policy producer: the part of a tenant router namespace's table that enforces policy. It compiles
 * each tenant's program from the host view; the namespace's NftTable (src/agent/nft/table.ts) makes it
 * true with one atomic transaction per change, keeping its own record so a membership change sends
 * only element operations.
 *
 * It keeps each tenant's compiled form (in the RouterNamespace): while the tenant's policies, groups,
 * scopes and networks stay the same, endpoints joining and leaving are applied to it incrementally
 * (cost per endpoint, not per tenant), which is what lets a container start be covered within
 * milliseconds.
 */
import type { EndpointView, HostView, TenantView as HostTenantView } from '../../core/dataplane/host-view';
import { compileTenant, programForHost } from '../../core/policy/compile';
import { endpointJoin, endpointLeave, programForUpdate } from '../../core/policy/incremental';
import { dispatchInterface, intentFromView, policyEndpoint, policyEndpointKey, policyIntentKey } from '../../core/policy/from-view';
import type { NftProgram } from '../../core/policy/program';
import { hitsByPolicy, ruleHits, type PolicyRuleHits } from '../../core/policy/readback';
import { failClosed } from '../../core/policy/fail-closed';
import { kernelProgram } from '../../core/policy/unhooked';
import { kernelNftDriver, type NftRunner } from '../nft/kernel';
import { TableProgrammer, type Log, type TableProducer } from '../nft/programmer';
import type { NftTransaction } from '../nft/table';
import { RouterNamespaces, type RouterNamespace } from '../router-namespace';

export { SPARE_CHAIN_MS, PRUNE_MS, PRUNE_BACKLOG, READBACK_MS } from '../nft/table';
export type Transaction = NftTransaction;

/** More endpoint changes than this in one pass (a resync after downtime, say) are cheaper to recompile. */
export const INCREMENTAL_LIMIT = 64;

/**
 * The program the tenant's namespace should hold for policy: from the cache when only endpoints changed,
 * else compiled afresh. The walk over the tenant's endpoints compares one memoized key per endpoint
 * (views of unchanged endpoints are the same objects) and allocates only for those that changed.
 */
export function policyProgram(ns: RouterNamespace, view: HostView, tenant: HostTenantView, excluded?: string): NftProgram {
  const intentKey = policyIntentKey(view, tenant);
  const cache = ns.policy;
  if (cache && cache.intentKey === intentKey) {
    const joining: EndpointView[] = [];
    const leaving: Array<[string, { key: string; iface?: string }]> = [];
    let present = 0;
    for (const e of tenant.endpoints) {
      if (e.name === excluded) continue;
      const was = cache.endpoints.get(e.name);
      if (was) present++;
      if (was?.key === policyEndpointKey(e)) continue;
      if (was) leaving.push([e.name, was]);
      joining.push(e);
    }
    // Some cached endpoint is not in the view any more (the walk is needed only then).
    if (present < cache.endpoints.size) {
      const names = new Set(tenant.endpoints.filter((e) => e.name !== excluded).map((e) => e.name));
      for (const entry of cache.endpoints) if (!names.has(entry[0])) leaving.push(entry);
    }
    if (leaving.length === 0 && joining.length === 0) return cache.program;
    if (leaving.length + joining.length <= INCREMENTAL_LIMIT) {
      const program = programForUpdate(cache.program);
      for (const [name, was] of leaving) {
        endpointLeave(cache.compiled, program, name, was.iface);
        cache.endpoints.delete(name);
      }
      for (const e of joining) {
        const iface = dispatchInterface(e);
        endpointJoin(cache.compiled, program, policyEndpoint(e), iface);
        cache.endpoints.set(e.name, { key: policyEndpointKey(e), iface });
      }
      cache.program = program;
      return program;
    }
  }
  const current = new Map<string, { key: string; iface?: string }>();
  for (const e of tenant.endpoints)
    if (e.name !== excluded) current.set(e.name, { key: policyEndpointKey(e), iface: dispatchInterface(e) });
  const compiled = compileTenant(intentFromView(view, tenant, excluded), tenant.name);
  const program = programForHost(compiled, { host: view.hostName, interfaceOf: (e) => current.get(e.metadata.name)?.iface });
  ns.policy = { intentKey, compiled, program, endpoints: current };
  return program;
}

export const policyProducer: TableProducer = {
  name: 'policy',
  // Without its hooks when it restricts nothing (src/core/policy/unhooked.ts); hooks fail closed when flushed (fail-closed.ts).
  fragment: (ns, view, tenant, excluded) => failClosed(kernelProgram(policyProgram(ns, view, tenant, excluded))),
  reset(ns) {
    ns.policy = undefined;
  },
};

/** Hits per policy rule (`tier:policy:direction:index`) of one namespace, from its table's counters. */
export async function policyRuleHits(programmer: TableProgrammer, netns: string): Promise<Map<string, { packets: number; bytes: number }>> {
  return ruleHits(await programmer.counters(netns));
}

/** Hits of every programmed namespace, per policy, in the shape of PolicyStatus.ruleHits. */
export async function policyHitsOf(programmer: TableProgrammer): Promise<PolicyRuleHits[]> {
  const maps = [];
  for (const netns of programmer.programs().keys()) maps.push(await policyRuleHits(programmer, netns));
  return hitsByPolicy(maps);
}

export interface PolicyEnforcerOptions {
  hostName: string;
  netnsPrefix: string;
  log: Log;
  /** The agent's namespaces; a registry of its own (kernel driver) when absent. */
  namespaces?: RouterNamespaces;
  /** Other producers writing into the same tables. */
  producers?: readonly TableProducer[];
  nft?: NftRunner;
  onTransaction?: (t: Transaction) => void;
  readBackMs?: number;
  pruneMs?: number;
  spareMs?: number;
}

/** The table programmer with the policy producer (and any others), plus the policy counters. */
export class PolicyEnforcer extends TableProgrammer {
  /** Hits per policy rule (`tier:policy:direction:index`) read from the kernel's counters. */
  ruleHits(netns: string): Promise<Map<string, { packets: number; bytes: number }>> {
    return policyRuleHits(this, netns);
  }

  policyHits(): Promise<PolicyRuleHits[]> {
    return policyHitsOf(this);
  }

  /** Forgets the table record of one namespace (or all) so the next sync reads the kernel back (resync). */
  forget(netns?: string): void {
    for (const ns of this.namespaces.values()) if (netns === undefined || ns.name === netns) ns.table.forget();
  }
}

export function createPolicyEnforcer(options: PolicyEnforcerOptions): PolicyEnforcer {
  const namespaces =
    options.namespaces ??
    new RouterNamespaces(kernelNftDriver(options.nft), {
      readBackMs: options.readBackMs,
      pruneMs: options.pruneMs,
      spareMs: options.spareMs,
      onTransaction: options.onTransaction,
      log: options.log,
    });
  return new PolicyEnforcer(namespaces, [policyProducer, ...(options.producers ?? [])], options.log);
}
