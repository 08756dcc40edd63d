/**
 * Programs the tables of the agent's router namespaces from the host view: every producer (policy,
 * antispoofing, …) gives its fragment of a tenant's table, the table merges them and commits one
 * transaction. Producers are stateless planners over the pure core; what they keep between passes
 * lives in the RouterNamespace.
 */
import fs from 'node:fs';
import type { EndpointView, HostView, TenantView } from '../../core/dataplane/host-view';
import type { NftProgram } from '../../core/policy/program';
import type { RuleCounter } from '../../core/policy/readback';
import type { RouterNamespace, RouterNamespaces } from '../router-namespace';

export interface TableProducer {
  /** Names the fragment in the table (and in errors). */
  readonly name: string;
  /**
   * The producer's whole part of the tenant's table: every set, map and chain it owns (names of its
   * own, never another producer's). `excluded`: an endpoint the view may still list but that is leaving.
   */
  fragment(ns: RouterNamespace, view: HostView, tenant: TenantView, excluded?: string): NftProgram;
  /** The kernel refused a transaction: drop whatever the producer keeps in `ns`, so it starts afresh. */
  reset?(ns: RouterNamespace): void;
}

export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export class TableProgrammer {
  constructor(
    readonly namespaces: RouterNamespaces,
    private readonly producers: readonly TableProducer[],
    private readonly log: Log,
  ) {}

  /** A reconcile pass: every tenant's table (read back when due, pruned when due). */
  async sync(view: HostView): Promise<void> {
    const live = new Set(view.tenants.map((t) => t.routerNamespace));
    // A namespace that lingers after its tenant left the view keeps its record (it is renewed when the
    // namespace is deleted or made again): a returning endpoint then needs no read-back.
    for (const ns of this.namespaces.values()) {
      if (ns.table.programmed() && !live.has(ns.name) && !fs.existsSync(`/run/netns/${ns.name}`)) this.reset(ns, true);
    }
    await this.syncTenants(view, 'reconcile');
  }

  /**
   * The tables of existing namespaces that have no record yet (the agent just started, or lost it): made
   * right before a pass's routing work, which with thousands of veths takes a second or more. Every
   * producer's fragment is computed from the view alone, so the table holds the same as it would after
   * the routing work; a namespace the routing work then makes again is programmed again by sync().
   */
  async syncUnrecorded(view: HostView): Promise<void> {
    for (const tenant of view.tenants) {
      if (this.namespaces.find(tenant.routerNamespace)?.table.programmed() || !fs.existsSync(`/run/netns/${tenant.routerNamespace}`))
        continue;
      await this.syncTenants(view, 'reconcile', tenant.name);
    }
  }

  /** The attach path, right after the veth is up and before the attach answers. */
  async endpointAdded(view: HostView, endpoint: Pick<EndpointView, 'tenant'>): Promise<void> {
    await this.syncTenants(view, 'attach', endpoint.tenant);
  }

  /** A detach. `linkGone`: the host interface is being deleted, so its dispatch entries need not leave at once. */
  async endpointRemoved(view: HostView, endpoint: { tenant: string; name: string; hostIfName: string; linkGone?: boolean }): Promise<void> {
    if (endpoint.linkGone) {
      const netns = view.tenants.find((t) => t.name === endpoint.tenant)?.routerNamespace;
      if (netns) this.namespaces.get(netns).table.linkGone(endpoint.hostIfName);
    }
    // The view may still list the endpoint; program without it so its interface leaves the maps.
    await this.syncTenants(view, 'attach', endpoint.tenant, endpoint.name);
  }

  /** One tenant's table read back and made right (it was found changed behind the agent's back). */
  async repair(view: HostView, tenant: string): Promise<void> {
    const netns = view.tenants.find((t) => t.name === tenant)?.routerNamespace;
    if (netns) this.namespaces.get(netns).table.forget();
    await this.syncTenants(view, 'reconcile', tenant);
  }

  /** What was last committed, per namespace. */
  programs(): Map<string, NftProgram> {
    const out = new Map<string, NftProgram>();
    for (const ns of this.namespaces.values()) {
      const program = ns.table.programmed();
      if (program) out.set(ns.name, program);
    }
    return out;
  }

  /** Per-element counters of one of a namespace's dynamicCounters sets. */
  setCounters(netns: string, set: string): Promise<Map<string, { packets: number; bytes: number }>> {
    return this.namespaces.get(netns).table.setCounters(set);
  }

  /** Rule counters of one namespace's table (rejects when it has none). */
  counters(netns: string): Promise<RuleCounter[]> {
    return this.namespaces.get(netns).table.counters();
  }

  private reset(ns: RouterNamespace, kernelToo: boolean): void {
    if (kernelToo) ns.table.forget();
    for (const producer of this.producers) producer.reset?.(ns);
  }

  /** `only`: one tenant, on the attach or detach path (which never prunes); else a reconcile pass. */
  private async syncTenants(view: HostView, pass: 'reconcile' | 'attach', only?: string, excluded?: string): Promise<void> {
    const errors: string[] = [];
    for (const tenant of view.tenants) {
      if (only !== undefined && tenant.name !== only) continue;
      const ns = this.namespaces.get(tenant.routerNamespace);
      try {
        for (const producer of this.producers) ns.table.contribute(producer.name, producer.fragment(ns, view, tenant, excluded));
        await ns.table.apply({ pass });
      } catch (error) {
        // A producer may hold a change the kernel refused: start the tenant afresh next time.
        this.reset(ns, false);
        errors.push(`${tenant.name}: ${(error as Error).message}`);
      }
    }
    if (errors.length > 0) throw new Error(`nft programming failed: ${errors.join('; ')}`);
  }
}
