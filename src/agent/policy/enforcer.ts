/**
 * Policy enforcement inside the agent: compiles each tenant's program from the host view and makes
 * it true in the tenant router namespace with one atomic `nft -f` transaction per change. It keeps
 * its own record of what it programmed, so a membership change sends only element operations; the
 * kernel is read back (`nft -j`) only when there is no record (startup) or after a failure.
 */
import type { HostView } from '../../core/dataplane/host-view';
import { NETNS_NAME_REGEX } from '../../core/dataplane/names';
import { diffPrograms, type NftOp } from '../../core/policy/diff';
import { programFromView } from '../../core/policy/from-view';
import type { NftProgram } from '../../core/policy/program';
import { adoptIntervalSets, hitsByPolicy, parseCounters, parseTableJson, ruleHits, type PolicyRuleHits } from '../../core/policy/readback';
import { renderOps, renderProgram } from '../../core/policy/render';
import fs from 'node:fs';
import { run } from '../../kernel/exec';
import type { PolicyEnforcer, PolicyEnforcerOptions } from '../plugins';

/** Runs nft inside a namespace; replaceable in tests that count transactions. */
export type NftRunner = (netns: string, args: string[], input?: string) => Promise<string>;

export const runNft: NftRunner = async (netns, args, input) => {
  if (!NETNS_NAME_REGEX.test(netns)) throw new Error(`refusing to run nft in namespace "${netns}"`);
  // nsenter joins only the network namespace: `ip netns exec` also builds a mount namespace (slower).
  const result = await run('nsenter', [`--net=/run/netns/${netns}`, 'nft', ...args], { input, timeoutMs: 60000 });
  return result.stdout;
};

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

export function createPolicyEnforcer(options: PolicyEnforcerOptions & { nft?: NftRunner; onTransaction?: (t: Transaction) => void }): TenetPolicyEnforcer {
  const nft = options.nft ?? runNft;
  const records = new Map<string, NftProgram>();

  async function readKernel(netns: string): Promise<NftProgram | undefined> {
    try {
      return parseTableJson(await nft(netns, ['-j', 'list', 'table', 'inet', 'tenet']));
    } catch {
      return undefined; // no table yet
    }
  }

  async function apply(netns: string, desired: NftProgram): Promise<void> {
    let before = records.get(netns);
    if (!before) {
      const actual = await readKernel(netns);
      before = actual ? adoptIntervalSets(actual, desired) : undefined;
    }
    const diff = diffPrograms(before, desired);
    const text = diff.replace ? renderProgram(desired) : renderOps(desired, diff.ops).join('\n') + '\n';
    if (!diff.replace && diff.ops.length === 0) {
      records.set(netns, desired);
      return;
    }
    try {
      await nft(netns, ['-f', '-'], text);
    } catch (error) {
      // What the kernel holds is now uncertain: read it back next time.
      records.delete(netns);
      throw error;
    }
    records.set(netns, desired);
    options.onTransaction?.({ netns, full: diff.replace, ops: diff.ops, text });
    options.log('debug', 'policy programmed', { netns, full: diff.replace, ops: diff.ops.length });
  }

  async function syncTenants(view: HostView, only?: string): Promise<void> {
    const errors: string[] = [];
    for (const tenant of view.tenants) {
      if (only !== undefined && tenant.name !== only) continue;
      try {
        await apply(tenant.routerNamespace, programFromView(view, tenant));
      } catch (error) {
        errors.push(`${tenant.name}: ${(error as Error).message}`);
      }
    }
    if (errors.length > 0) throw new Error(`policy programming failed: ${errors.join('; ')}`);
  }

  return {
    async sync(view) {
      const live = new Set(view.tenants.map((t) => t.routerNamespace));
      // A namespace that lingers after its tenant left the view keeps its record (the agent forgets it
      // when the namespace is deleted or made again): a returning endpoint then needs no read-back.
      for (const netns of records.keys()) if (!live.has(netns) && !fs.existsSync(`/run/netns/${netns}`)) records.delete(netns);
      await syncTenants(view);
    },
    async endpointAdded(view, endpoint) {
      await syncTenants(view, endpoint.tenant);
    },
    async endpointRemoved(view, endpoint) {
      // The view may still list the endpoint; compile without it so its interface leaves the maps.
      const filtered: HostView = {
        ...view,
        tenants: view.tenants.map((t) => (t.name === endpoint.tenant ? { ...t, endpoints: t.endpoints.filter((e) => e.name !== endpoint.name) } : t)),
      };
      await syncTenants(filtered, endpoint.tenant);
    },
    async close() {
      // Kernel state stays: a restarting agent must not interrupt established flows.
    },
    programs: () => records,
    async ruleHits(netns) {
      // Terse (-t): counters only, without the set elements that make a full read-back slow.
      return ruleHits(parseCounters(await nft(netns, ['-t', '-j', 'list', 'table', 'inet', 'tenet'])));
    },
    async policyHits() {
      const maps = [];
      for (const netns of records.keys()) maps.push(ruleHits(parseCounters(await nft(netns, ['-j', 'list', 'table', 'inet', 'tenet']))));
      return hitsByPolicy(maps);
    },
    forget(netns) {
      if (netns === undefined) records.clear();
      else records.delete(netns);
    },
  };
}
