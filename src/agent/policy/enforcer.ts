/**
 * Policy enforcement inside the agent: compiles each tenant's program from the host view and makes
 * it true in the tenant router namespace with one atomic `nft -f` transaction per change. It keeps
 * its own record of what it programmed, so a membership change sends only element operations; the
 * kernel is read back (`nft -j`) only when there is no record (startup) or after a failure.
 *
 * It also keeps each tenant's compiled form: while the tenant's policies, groups, scopes and
 * networks stay the same, endpoints joining and leaving are applied to it incrementally (cost per
 * endpoint, not per tenant), which is what lets a container start be covered within milliseconds.
 */
import type { HostView, TenantView as HostTenantView } from '../../core/dataplane/host-view';
import { compileTenant, programForHost, type CompiledTenant } from '../../core/policy/compile';
import { endpointJoin, endpointLeave, programForUpdate } from '../../core/policy/incremental';
import { diffPrograms, type NftOp } from '../../core/policy/diff';
import { dispatchInterface, intentFromView, policyEndpoint, policyEndpointKey, policyIntentKey } from '../../core/policy/from-view';
import type { NftChain, NftProgram } from '../../core/policy/program';
import { adoptIntervalSets, hitsByPolicy, parseCounters, parseTableJson, ruleHits, type PolicyRuleHits } from '../../core/policy/readback';
import { renderOps, renderProgram } from '../../core/policy/render';
import { kernelProgram } from '../../core/policy/unhooked';
import fs from 'node:fs';
import { runNftInWorker } from '../../kernel/nft-worker';
import type { PolicyEnforcer, PolicyEnforcerOptions } from '../plugins';

/** Runs nft inside a namespace; replaceable in tests that count transactions. */
export type NftRunner = (netns: string, args: string[], input?: string) => Promise<string>;

/**
 * Through the agent's one libnftables worker (src/kernel/nft-worker.ts): a process per call cost
 * more than most transactions. The worker checks the namespace name against NETNS_NAME_REGEX.
 */
export const runNft: NftRunner = (netns, args, input) => runNftInWorker(netns, args, input);

export interface Transaction {
  netns: string;
  full: boolean;
  ops: NftOp[];
  text: string;
}

export interface TenetPolicyEnforcer extends PolicyEnforcer {
  /** What was last programmed per namespace. */
  programs(): ReadonlyMap<string, NftProgram>;
  /** Hits per policy rule (`tier:policy:direction:index`) read from the kernel's counters. */
  ruleHits(netns: string): Promise<Map<string, { packets: number; bytes: number }>>;
  /** Hits of every programmed namespace, per policy, in the shape of PolicyStatus.ruleHits. */
  policyHits(): Promise<PolicyRuleHits[]>;
  /** Forgets the record of a namespace so the next sync reads the kernel back (resync). */
  forget(netns?: string): void;
}

/**
 * How long a profile chain no endpoint uses any more stays in the kernel. Deleting a chain makes the
 * nft commit wait for an RCU grace period (20-40 ms here, far more than the element operations of a
 * leave), and the next container of the same profile would add it again: an unreferenced chain
 * decides nothing (no dispatch element leads to it), so it is dropped by a later pass instead.
 */
export const SPARE_CHAIN_MS = 5000;

/**
 * Dropping the dispatch elements of deleted links and unused chains makes the transaction wait for an
 * RCU grace period (~10 ms here), however many it drops. So they are dropped only by a reconcile pass
 * (never on the attach or detach path), at most this often per namespace unless more than
 * PRUNE_BACKLOG have piled up: one wait for many, instead of one for each container that left.
 */
export const PRUNE_MS = 5000;
export const PRUNE_BACKLOG = 256;

/**
 * How often a reconcile pass reads a namespace's table back instead of trusting the record, so that a
 * hand edit or another program's change to it is found and repaired. Never on the attach path.
 */
export const READBACK_MS = 30000;

/** More endpoint changes than this in one pass (a resync after downtime, say) are cheaper to recompile. */
export const INCREMENTAL_LIMIT = 64;

/** A tenant's compiled form and the intended program of its namespace, with what they were made from. */
interface TenantCache {
  intentKey: string;
  compiled: CompiledTenant;
  program: NftProgram;
  /** Endpoint name -> its key (policyEndpointKey) and dispatch interface. */
  endpoints: Map<string, { key: string; iface?: string }>;
}

export function createPolicyEnforcer(
  options: PolicyEnforcerOptions & { nft?: NftRunner; onTransaction?: (t: Transaction) => void; readBackMs?: number; pruneMs?: number; spareMs?: number },
): TenetPolicyEnforcer {
  const nft = options.nft ?? runNft;
  const readBackMs = options.readBackMs ?? READBACK_MS;
  const pruneMs = options.pruneMs ?? PRUNE_MS;
  const spareMs = options.spareMs ?? SPARE_CHAIN_MS;
  /** Namespace -> when a pass last dropped expired dispatch elements and chains. */
  const prunedAt = new Map<string, number>();
  const records = new Map<string, NftProgram>();
  /** Namespace -> when its table was last read back from the kernel. */
  const readAt = new Map<string, number>();
  /** Namespace -> compiled tenant and intended program (kernel extras such as spare chains are not in it). */
  const caches = new Map<string, TenantCache>();
  /** Namespace → unreferenced chain → since when. */
  const spare = new Map<string, Map<string, number>>();
  /**
   * Namespace → host interface being deleted (a detach) → since when. Its dispatch elements may stay a
   * while: no packet arrives on a deleted link, and removing a map element also waits for an RCU grace
   * period. Address set elements always leave at once (the address may be handed out again).
   */
  const goneLinks = new Map<string, Map<string, number>>();

  /** `desired` plus the chains of `before` it dropped less than SPARE_CHAIN_MS ago (what the kernel will then hold). */
  function withSpareChains(netns: string, before: NftProgram | undefined, desired: NftProgram, mayPrune: boolean): NftProgram {
    const marks = spare.get(netns) ?? new Map<string, number>();
    spare.set(netns, marks);
    const wanted = new Set(desired.chains.map((c) => c.name));
    // A spare chain may refer to a set or map the change deletes: then nothing is kept back.
    const keepSets = new Set(desired.sets.map((x) => x.name));
    const keepMaps = new Set(desired.maps.map((x) => x.name));
    const deletesContainer = before ? before.sets.some((x) => !keepSets.has(x.name)) || before.maps.some((x) => !keepMaps.has(x.name)) : true;
    const now = Date.now();
    const links = goneLinks.get(netns) ?? new Map<string, number>();
    const prune = mayPrune && (now - (prunedAt.get(netns) ?? 0) >= pruneMs || links.size + marks.size > PRUNE_BACKLOG);
    // Expired: kept back long enough; dropped only when this pass prunes.
    const expired = (since: number): boolean => prune && now - since >= spareMs;
    if (prune) prunedAt.set(netns, now);
    for (const [key, since] of links) if (expired(since)) links.delete(key);
    const pinned = new Set<string>();
    let maps = desired.maps;
    if (!deletesContainer && links.size > 0) {
      maps = desired.maps.map((map) => {
        const old = before!.maps.find((m) => m.name === map.name);
        const extra: Record<string, string> = {};
        for (const [key, target] of Object.entries(old?.elements ?? {})) {
          if (map.elements[key] !== undefined || !links.has(key)) continue;
          extra[key] = target;
          pinned.add(target);
        }
        return Object.keys(extra).length > 0 ? { ...map, elements: { ...map.elements, ...extra } } : map;
      });
    }
    const kept: NftChain[] = [];
    for (const chain of deletesContainer ? [] : before!.chains) {
      if (wanted.has(chain.name) || chain.base) continue;
      const since = marks.get(chain.name) ?? now;
      // A chain a kept dispatch element still leads to stays with it.
      if (!expired(since) || pinned.has(chain.name)) kept.push(chain);
    }
    const keptNames = new Set(kept.map((c) => c.name));
    for (const name of [...marks.keys()]) if (!keptNames.has(name)) marks.delete(name);
    for (const name of keptNames) if (!marks.has(name)) marks.set(name, now);
    if (kept.length === 0 && maps === desired.maps) return desired;
    return { ...desired, maps, chains: [...desired.chains, ...kept] };
  }

  /** What the kernel holds in `netns` is no longer known (or the namespace is gone): read it back next time. */
  function forgetKernel(netns?: string): void {
    for (const state of [records, spare, goneLinks, readAt, prunedAt]) {
      if (netns === undefined) state.clear();
      else state.delete(netns);
    }
  }

  async function readKernel(netns: string): Promise<NftProgram | undefined> {
    try {
      return parseTableJson(await nft(netns, ['-j', 'list', 'table', 'inet', 'tenet']));
    } catch {
      return undefined; // no table yet
    }
  }

  async function apply(netns: string, program: NftProgram, mayPrune: boolean): Promise<void> {
    let desired = kernelProgram(program);
    let before = records.get(netns);
    if (!before) {
      const actual = await readKernel(netns);
      readAt.set(netns, Date.now());
      before = actual ? adoptIntervalSets(actual, desired) : undefined;
    }
    const intended = desired;
    desired = withSpareChains(netns, before, intended, mayPrune);
    let diff = diffPrograms(before, desired);
    if (diff.replace) {
      desired = intended;
      spare.delete(netns);
      diff = diffPrograms(before, desired);
    }
    const text = diff.replace ? renderProgram(desired) : renderOps(desired, diff.ops).join('\n') + '\n';
    if (!diff.replace && diff.ops.length === 0) {
      records.set(netns, desired);
      return;
    }
    const started = performance.now();
    try {
      await nft(netns, ['-f', '-'], text);
    } catch (error) {
      // What the kernel holds is now uncertain: read it back next time.
      forgetKernel(netns);
      throw error;
    }
    records.set(netns, desired);
    options.onTransaction?.({ netns, full: diff.replace, ops: diff.ops, text });
    options.log('debug', 'policy programmed', { netns, full: diff.replace, ops: diff.ops.length, nftMs: Math.round((performance.now() - started) * 10) / 10 });
  }

  /** The program the tenant's namespace should hold: from the cache when only endpoints changed, else compiled afresh. */
  function intendedProgram(view: HostView, tenant: HostTenantView, excluded?: string): NftProgram {
    const netns = tenant.routerNamespace;
    const intentKey = policyIntentKey(view, tenant);
    const current = new Map<string, { key: string; iface?: string; index: number }>();
    tenant.endpoints.forEach((e, index) => {
      if (e.name !== excluded) current.set(e.name, { key: policyEndpointKey(e), iface: dispatchInterface(e), index });
    });
    const cache = caches.get(netns);
    if (cache && cache.intentKey === intentKey) {
      const leaving = [...cache.endpoints].filter(([name, was]) => current.get(name)?.key !== was.key);
      const joining = [...current].filter(([name, now]) => cache.endpoints.get(name)?.key !== now.key);
      if (leaving.length === 0 && joining.length === 0) return cache.program;
      if (leaving.length + joining.length <= INCREMENTAL_LIMIT) {
        const program = programForUpdate(cache.program);
        for (const [name, was] of leaving) {
          endpointLeave(cache.compiled, program, name, was.iface);
          cache.endpoints.delete(name);
        }
        for (const [name, now] of joining) {
          endpointJoin(cache.compiled, program, policyEndpoint(tenant.endpoints[now.index]), now.iface);
          cache.endpoints.set(name, { key: now.key, iface: now.iface });
        }
        cache.program = program;
        return program;
      }
    }
    const compiled = compileTenant(intentFromView(view, tenant, excluded), tenant.name);
    const program = programForHost(compiled, { host: view.hostName, interfaceOf: (e) => current.get(e.metadata.name)?.iface });
    caches.set(netns, { intentKey, compiled, program, endpoints: new Map([...current].map(([name, { key, iface }]) => [name, { key, iface }])) });
    return program;
  }

  /** `only`: one tenant, on the attach or detach path (which never prunes); else a reconcile pass. */
  async function syncTenants(view: HostView, only?: string, excluded?: string): Promise<void> {
    const errors: string[] = [];
    for (const tenant of view.tenants) {
      if (only !== undefined && tenant.name !== only) continue;
      try {
        await apply(tenant.routerNamespace, intendedProgram(view, tenant, excluded), only === undefined);
      } catch (error) {
        // The cache may hold a change the kernel refused: start the tenant afresh next time.
        caches.delete(tenant.routerNamespace);
        errors.push(`${tenant.name}: ${(error as Error).message}`);
      }
    }
    if (errors.length > 0) throw new Error(`policy programming failed: ${errors.join('; ')}`);
  }

  /** Hits per rule, read terse (-t): counters only, without the set elements that make a full read-back slow. */
  async function countersOf(netns: string): Promise<Map<string, { packets: number; bytes: number }>> {
    return ruleHits(parseCounters(await nft(netns, ['-t', '-j', 'list', 'table', 'inet', 'tenet'])));
  }

  return {
    async sync(view) {
      const live = new Set(view.tenants.map((t) => t.routerNamespace));
      // A namespace that lingers after its tenant left the view keeps its record (the agent forgets it
      // when the namespace is deleted or made again): a returning endpoint then needs no read-back.
      for (const netns of records.keys()) {
        if (!live.has(netns) && !fs.existsSync(`/run/netns/${netns}`)) {
          forgetKernel(netns);
          caches.delete(netns);
        }
      }
      const now = Date.now();
      for (const [netns, at] of readAt) if (now - at >= readBackMs) forgetKernel(netns);
      await syncTenants(view);
    },
    async endpointAdded(view, endpoint) {
      await syncTenants(view, endpoint.tenant);
    },
    async endpointRemoved(view, endpoint) {
      if (endpoint.linkGone) {
        const netns = view.tenants.find((t) => t.name === endpoint.tenant)?.routerNamespace;
        if (netns) goneLinks.set(netns, (goneLinks.get(netns) ?? new Map<string, number>()).set(endpoint.hostIfName, Date.now()));
      }
      // The view may still list the endpoint; compile without it so its interface leaves the maps.
      await syncTenants(view, endpoint.tenant, endpoint.name);
    },
    async close() {
      // Kernel state stays: a restarting agent must not interrupt established flows.
    },
    programs: () => records,
    ruleHits: countersOf,
    async policyHits() {
      const maps = [];
      for (const netns of records.keys()) maps.push(await countersOf(netns));
      return hitsByPolicy(maps);
    },
    forget: forgetKernel,
  };
}
