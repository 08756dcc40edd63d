/**
 * Makes the kernel match a HostView: desired state (pure) → read back what exists → diff (pure) →
 * batched ip/bridge commands. Full passes read the kernel back (four processes per tenant namespace: links,
 * addresses, routes, neighbours, FDB and the router sysctls) so that anything changed behind the agent's
 * back, or while it was down, is repaired; other passes diff against the agent's record of what it made.
 */
import { desiredHostState, desiredNamespace } from '../core/dataplane/desired';
import { diffHost, diffNamespace, stateAfterPlan, type ActualNamespace, type NamespacePlan } from '../core/dataplane/diff';
import type { HostView, TenantView } from '../core/dataplane/host-view';
import { tenantOfNamespace } from '../core/dataplane/names';
import { parseNamespace } from '../core/dataplane/parse';
import { addNetns, bridgeBatch, delNetns, ipBatch, listNetns, netnsExists, netnsSysctl, type BatchResult } from '../kernel/ip';
import { readHostVxlans, readNamespace } from '../kernel/read';
import { KernelError } from '../kernel/exec';
import type { RouterNamespaces, RoutingRecord } from './router-namespace';

import type { Log } from '../core/log';
export type { Log };

/**
 * How long a tenant namespace outlives its last local endpoint. Containers come and go in bursts (a
 * restart, a CNI DEL then ADD): making the namespace, its sysctls and its VXLAN device again costs more
 * than the whole attach, so an emptied namespace stays a little while before it is deleted.
 */
export const NAMESPACE_LINGER_MS = 5000;

export interface ReconcileReport {
  /** Endpoint name → problem, for local endpoints that are not fully plumbed. */
  problems: Map<string, string>;
  /** tenant/endpoint keys of local endpoints whose veth exists. */
  plumbed: Set<string>;
  /** tenant/endpoint keys of local endpoints whose veth is missing (also in problems): candidates for a re-attach. */
  missing: Set<string>;
  changed: boolean;
  failures: string[];
  /** Namespaces this pass created or deleted (renewed: every record of them is void). */
  renewed: string[];
}

/** A pass's report before it has found anything. */
export function emptyReport(): ReconcileReport {
  return { problems: new Map(), plumbed: new Set(), missing: new Set(), changed: false, failures: [], renewed: [] };
}

export interface ReconcileOptions {
  protectedVeths: ReadonlySet<string>;
  protectedNamespaces: ReadonlySet<string>;
}

/**
 * A planner over the pure core: what it knows about each namespace (what it applied, what the kernel
 * holds, when the namespace was last wanted) is the RouterNamespace's routing record.
 */
export class Reconciler {
  constructor(
    private readonly netnsPrefix: string,
    private readonly log: Log,
    private readonly namespaces: RouterNamespaces,
  ) {}

  private record(name: string): RoutingRecord {
    return this.namespaces.get(name).routing;
  }

  ownedNamespaces(): string[] {
    return listNetns().filter((name) => tenantOfNamespace(this.netnsPrefix, name) !== undefined);
  }

  private async readActual(name: string): Promise<ActualNamespace | undefined> {
    const tenant = tenantOfNamespace(this.netnsPrefix, name) ?? '';
    if (!netnsExists(name)) return undefined;
    try {
      return parseNamespace(name, tenant, await readNamespace(name));
    } catch (error) {
      // A /run/netns file that is no namespace mount any more (left by an agent that ran in a private
      // mount namespace, see docs/dataplane.md): remove it so the namespace is made again.
      if (error instanceof KernelError && /setting the network namespace .* failed: Invalid argument/.test(error.stderr)) {
        this.log('warn', 'stale namespace file; recreating the namespace', { netns: name });
        await delNetns(name);
        return undefined;
      }
      throw error;
    }
  }

  /**
   * `full`: read every namespace back from the kernel. Otherwise a namespace whose desired state is the
   * one last applied cleanly is skipped without reading anything (status-only changes, other hosts'
   * heartbeats); the periodic full pass repairs what changed behind the agent's back.
   */
  async reconcile(view: HostView, options: ReconcileOptions & { full?: boolean }): Promise<ReconcileReport> {
    const desired = desiredHostState(view);
    const owned = this.ownedNamespaces();
    const actual = new Map<string, ActualNamespace | undefined>();
    const signatures = new Map(desired.namespaces.map((d) => [d.name, JSON.stringify(d)]));
    const todo = desired.namespaces.filter(
      (d) => options.full || !owned.includes(d.name) || this.namespaces.find(d.name)?.routing.applied !== signatures.get(d.name),
    );
    await Promise.all(
      todo.map(async (d) => {
        const record = options.full ? undefined : this.namespaces.find(d.name)?.routing.known;
        actual.set(d.name, !owned.includes(d.name) ? undefined : (record ?? (await this.readActual(d.name))));
      }),
    );
    let plan = diffHost(todo, actual, owned, options);
    if (plan.namespaces.some((p) => p.hostLines.length > 0))
      plan = diffHost(todo, actual, owned, { ...options, hostVxlans: await readHostVxlans() });
    const now = Date.now();
    for (const name of signatures.keys()) this.record(name).lastWanted = now;
    const lingering = (name: string): boolean => now - (this.namespaces.find(name)?.routing.lastWanted ?? -Infinity) < NAMESPACE_LINGER_MS;
    plan.deleteNamespaces = plan.deleteNamespaces.filter((name) => !signatures.has(name) && !lingering(name));
    const keep = (name: string): boolean => signatures.has(name) || (lingering(name) && owned.includes(name));
    const report = emptyReport();
    for (const nsPlan of plan.namespaces) {
      const failuresBefore = report.failures.length;
      await this.applyNamespacePlan(nsPlan, report);
      const clean = report.failures.length === failuresBefore;
      const record = this.record(nsPlan.name);
      record.applied = clean && nsPlan.missingVeths.length === 0 ? signatures.get(nsPlan.name)! : undefined;
      const desiredNs = todo.find((d) => d.name === nsPlan.name)!;
      record.known = clean ? stateAfterPlan(desiredNs, actual.get(nsPlan.name), nsPlan, options.protectedVeths) : undefined;
    }
    for (const ns of this.namespaces.values()) {
      if (keep(ns.name)) continue;
      ns.forgetRouting();
      ns.routing.lastWanted = undefined;
    }
    const skipped = new Set(desired.namespaces.filter((d) => !todo.includes(d)).map((d) => d.name));
    // A skipped namespace was applied cleanly with every veth present.
    for (const tenant of view.tenants) if (skipped.has(tenant.routerNamespace)) this.collectEndpointState(tenant, undefined, report);
    for (const name of plan.deleteNamespaces) {
      this.log('info', 'deleting tenant namespace no longer needed', { netns: name });
      // Its processes (the tenant resolver, the flow reader) are told to end first: a process inside
      // keeps a deleted namespace alive.
      this.namespaces.find(name)?.renew();
      await delNetns(name);
      this.record(name).lastWanted = undefined;
      report.renewed.push(name);
      report.changed = true;
    }
    for (const tenant of view.tenants) {
      if (!skipped.has(tenant.routerNamespace))
        this.collectEndpointState(
          tenant,
          plan.namespaces.find((p) => p.name === tenant.routerNamespace),
          report,
        );
    }
    return report;
  }

  /** Milliseconds until the next lingering namespace is due for deletion (a pass must run then). */
  lingerRemainingMs(view: HostView): number | undefined {
    const wanted = new Set(view.tenants.map((t) => t.routerNamespace));
    let next: number | undefined;
    for (const ns of this.namespaces.values()) {
      const { name } = ns;
      const at = ns.routing.lastWanted;
      if (at === undefined || wanted.has(name)) continue;
      const left = Math.max(0, at + NAMESPACE_LINGER_MS - Date.now());
      next = next === undefined ? left : Math.min(next, left);
    }
    return next;
  }

  /** Reconciles one tenant's namespace only (the attach path, when the namespace must be created first). */
  async reconcileTenant(view: HostView, tenant: TenantView, options: ReconcileOptions): Promise<ReconcileReport> {
    const desired = desiredNamespace(view, tenant);
    // The record of what this agent made is as good as a read-back (a lingering namespace keeps one).
    const record = netnsExists(desired.name) ? this.namespaces.find(desired.name)?.routing.known : undefined;
    const actual = record ?? (await this.readActual(desired.name));
    const plan = diffNamespace(desired, actual, { ...options, hostVxlans: actual?.vxlan ? [] : await readHostVxlans() });
    const report = emptyReport();
    await this.applyNamespacePlan(plan, report);
    const routing = this.record(plan.name);
    routing.lastWanted = Date.now();
    routing.applied = undefined;
    routing.known = report.failures.length === 0 ? stateAfterPlan(desired, actual, plan, options.protectedVeths) : undefined;
    return report;
  }

  private async applyNamespacePlan(plan: NamespacePlan, report: ReconcileReport): Promise<void> {
    const note = (what: string, result: BatchResult): void => {
      for (const failure of result.failures) {
        const text = `${plan.name}: ${what} "${failure.command}": ${failure.message}`;
        report.failures.push(text);
        this.log('warn', 'kernel command failed', { netns: plan.name, command: failure.command, error: failure.message });
      }
    };
    try {
      if (plan.create) {
        this.log('info', 'creating tenant namespace', { netns: plan.name, tenant: plan.tenant });
        report.renewed.push(plan.name);
        // Whatever was recorded about an earlier namespace of this name is void.
        this.namespaces.get(plan.name).renew();
        await addNetns(plan.name);
        report.changed = true;
      } else if (Object.keys(plan.sysctls).length > 0) {
        this.log('warn', 'router sysctls changed behind the agent; setting them again', { netns: plan.name, sysctls: plan.sysctls });
      }
      if (Object.keys(plan.sysctls).length > 0) {
        await netnsSysctl(plan.name, plan.sysctls);
        report.changed = true;
      }
      const lines = plan.removeLines.length + plan.hostLines.length + plan.addLines.length + plan.bridgeLines.length;
      if (lines > 0) {
        report.changed = true;
        this.log('debug', 'applying', {
          netns: plan.name,
          remove: plan.removeLines,
          host: plan.hostLines,
          add: plan.addLines,
          bridge: plan.bridgeLines,
        });
      }
      note('remove', await ipBatch(plan.removeLines, { netns: plan.name, force: true }));
      if (plan.hostLines.length) await ipBatch(plan.hostLines);
      note('add', await ipBatch(plan.addLines, { netns: plan.name, force: true }));
      note('fdb', await bridgeBatch(plan.bridgeLines, { netns: plan.name, force: true }));
    } catch (error) {
      const text = `${plan.name}: ${(error as Error).message}`;
      report.failures.push(text);
      this.log('error', 'reconcile of tenant namespace failed', { netns: plan.name, error: (error as Error).message });
    }
  }

  private collectEndpointState(tenant: TenantView, plan: NamespacePlan | undefined, report: ReconcileReport): void {
    const missing = new Map((plan?.missingVeths ?? []).map((m) => [m.endpoint, m.name]));
    for (const endpoint of tenant.endpoints) {
      if (!endpoint.local) continue;
      const key = `${tenant.name}/${endpoint.name}`;
      if (missing.has(endpoint.name)) {
        report.problems.set(
          key,
          `host interface ${missing.get(endpoint.name)} is missing (the container's namespace is gone or it was never attached on this host)`,
        );
        report.missing.add(key);
      } else if (!endpoint.ipv4 && !endpoint.ipv6) report.problems.set(key, 'the controller has not assigned an address');
      else if (tenant.vni === undefined) report.problems.set(key, 'tenant has no VNI yet');
      else report.plumbed.add(key);
    }
  }
}
