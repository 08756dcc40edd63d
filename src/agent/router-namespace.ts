/**
 * Everything the agent knows about one tenant router namespace, in one object: the routing record
 * (what the reconciler last made or read there), the nftables table every producer writes into, the
 * veths an attach is making there (which a reconcile pass must not delete before the endpoint is in
 * its view) and the veth deletions still under way. When the namespace is made or deleted again,
 * `renew()` voids every record at once: no caller forwards invalidations from one part to another.
 */
import type { AntispoofEntry } from '../core/dataplane/antispoof';
import { desiredVethState } from '../core/dataplane/desired';
import { recordAttached, recordDetached, type ActualNamespace } from '../core/dataplane/diff';
import type { EndpointView, HostView, TenantView } from '../core/dataplane/host-view';
import type { CompiledTenant } from '../core/policy/compile';
import type { NftProgram } from '../core/policy/program';
import { NftTable, type NftDriver, type NftTableOptions } from './nft/table';
import type { NamespaceResolver } from './dns/resolver';
import type { FlowReader } from './flows/reader';

/** The reconciler's record of a namespace. */
export interface RoutingRecord {
  /** JSON of the desired state last applied without failures. */
  applied?: string;
  /** The kernel state as last read or as last made: incremental passes diff against it, reading nothing. */
  known?: ActualNamespace;
  /** When a pass last wanted the namespace (for the linger before deletion). */
  lastWanted?: number;
}

/** The policy producer's compiled tenant and intended program, with what they were made from. */
export interface PolicyCache {
  intentKey: string;
  compiled: CompiledTenant;
  program: NftProgram;
  /** Endpoint name -> its key (policyEndpointKey) and dispatch interface. */
  endpoints: Map<string, { key: string; iface?: string }>;
}

/** The antispoofing producer's entries per endpoint (with what they were made from) and its last fragment. */
export interface AntispoofCache {
  entries: Map<string, { view: EndpointView; iface: string; signature: string; entry: AntispoofEntry; pass: number }>;
  program?: NftProgram;
  /** Counts the producer's calls: an entry not marked with the current one was not seen. */
  pass: number;
}

/** How long an attach's protection lasts at most (its endpoint never showed up in the view). */
const PROTECTION_MAX_MS = 120000;

export class RouterNamespace {
  readonly routing: RoutingRecord = {};
  readonly table: NftTable;
  /** The policy producer's state (src/agent/policy/enforcer.ts). */
  policy?: PolicyCache;
  /** The antispoofing producer's state (src/agent/antispoof.ts): each endpoint's entry and the last fragment. */
  antispoof?: AntispoofCache;
  /** The tenant's resolver running in this namespace (src/agent/dns/): it ends with the namespace. */
  resolver?: NamespaceResolver;
  /** The reader of the namespace's nflog and conntrack events (src/agent/flows/): it ends with the namespace. */
  flows?: FlowReader;
  private readonly attaching = new Map<string, { revision?: number; since: number }>();
  private readonly dying = new Map<string, Promise<void>>();

  constructor(
    readonly name: string,
    driver: NftDriver,
    tableOptions?: NftTableOptions,
    /** Told when an attach here begins (+1) and ends (-1): the registry counts the attaches in flight. */
    private readonly onAttach: (delta: 1 | -1) => void = () => undefined,
  ) {
    this.table = new NftTable(name, driver, tableOptions);
  }

  /** The namespace was made or deleted again: nothing recorded about it holds any more. */
  renew(): void {
    // A process inside a deleted namespace would keep it alive, answering for a namespace that is gone.
    this.resolver?.stop();
    this.resolver = undefined;
    this.flows?.stop();
    this.flows = undefined;
    this.forgetRouting();
    this.table.forget();
  }

  /** The routing record is void (a failed command, a rollback): the next pass reads the namespace back. */
  forgetRouting(): void {
    this.routing.applied = undefined;
    this.routing.known = undefined;
  }

  /** Keeps a reconcile pass from deleting `veth` (and this namespace) while its endpoint is not in the view yet. */
  protect(veth: string): void {
    this.attaching.set(veth, { since: Date.now() });
  }

  /** Ends the protection once the view has caught up with `revision`; undefined: the attach failed. */
  unprotect(veth: string, revision?: number): void {
    const entry = this.attaching.get(veth);
    if (!entry) return;
    if (revision === undefined) this.attaching.delete(veth);
    else entry.revision = revision;
  }

  /** An attach of `veth` into this namespace begins: the veth is protected, and the attach counts as in flight. */
  attachBegun(veth: string): void {
    this.protect(veth);
    this.onAttach(1);
  }

  /**
   * The attach ended: the protection lasts until the watch has caught up with `revision` (the
   * endpoint's creation), since a re-list started earlier could still show a view without it.
   * Undefined: the attach failed.
   */
  attachEnded(veth: string, revision?: number): void {
    this.onAttach(-1);
    this.unprotect(veth, revision);
  }

  /** An attach plumbed `veth`: the routing record learns it instead of reading the kernel again. */
  noteAttached(view: HostView, tenant: TenantView, veth: string, loAddresses: readonly string[]): void {
    this.routing.applied = undefined;
    if (this.routing.known)
      this.routing.known = recordAttached(this.routing.known, desiredVethState(view, tenant, veth), veth, loAddresses);
  }

  /** A detach deleted (or is deleting) `veth`. */
  noteDetached(veth: string): void {
    this.routing.applied = undefined;
    if (this.routing.known) this.routing.known = recordDetached(this.routing.known, veth);
  }

  /** Whether the routing record holds `veth`; undefined when there is no record. */
  knowsVeth(veth: string): boolean | undefined {
    return this.routing.known?.veths.some((v) => v.name === veth);
  }

  /** The veths still protected, given the revision the view has reached (settled and expired entries end here). */
  protectedVeths(viewRevision: number): string[] {
    const out: string[] = [];
    for (const [veth, entry] of this.attaching) {
      if ((entry.revision !== undefined && viewRevision >= entry.revision) || Date.now() - entry.since > PROTECTION_MAX_MS)
        this.attaching.delete(veth);
      else out.push(veth);
    }
    return out;
  }

  /** A veth's deletion under way (it finishes in the background; see AttachService.detach). */
  deleting(veth: string, deletion: Promise<void>): void {
    const tracked = deletion.finally(() => {
      if (this.dying.get(veth) === tracked) this.dying.delete(veth);
    });
    this.dying.set(veth, tracked);
  }

  /** The deletion of `veth` under way, if any. */
  deletion(veth: string): Promise<void> | undefined {
    return this.dying.get(veth);
  }

  deletions(): Promise<void>[] {
    return [...this.dying.values()];
  }

  /** Nothing left to remember: the object can go. */
  idle(): boolean {
    return (
      this.routing.known === undefined &&
      this.routing.applied === undefined &&
      this.routing.lastWanted === undefined &&
      this.table.programmed() === undefined &&
      this.attaching.size === 0 &&
      this.dying.size === 0 &&
      (this.resolver === undefined || this.resolver.exited) &&
      (this.flows === undefined || this.flows.exited)
    );
  }
}

/** The agent's namespaces by name. */
export class RouterNamespaces {
  private readonly byName = new Map<string, RouterNamespace>();
  private inFlight = 0;
  private readonly counted = (delta: 1 | -1): void => void (this.inFlight += delta);

  constructor(
    private readonly driver: NftDriver,
    private readonly tableOptions?: NftTableOptions,
  ) {}

  /** The namespace's object, made on first use. */
  get(name: string): RouterNamespace {
    let ns = this.byName.get(name);
    if (!ns) this.byName.set(name, (ns = new RouterNamespace(name, this.driver, this.tableOptions, this.counted)));
    return ns;
  }

  /** Attaches between attachBegun and attachEnded, in every namespace. */
  attachesInFlight(): number {
    return this.inFlight;
  }

  find(name: string): RouterNamespace | undefined {
    return this.byName.get(name);
  }

  values(): IterableIterator<RouterNamespace> {
    return this.byName.values();
  }

  /** Drops the objects that remember nothing. */
  prune(): void {
    for (const [name, ns] of this.byName) if (ns.idle()) this.byName.delete(name);
  }

  /** Resolves when every background veth deletion has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.byName.values()].flatMap((ns) => ns.deletions()));
  }

  /** Whether any veth deletion is under way. */
  anyDying(): boolean {
    return [...this.byName.values()].some((ns) => ns.deletions().length > 0);
  }
}
