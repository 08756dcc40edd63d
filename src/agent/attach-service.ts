/**
 * The attach API's logic (attach / detach / check / attachments / healthz), independent of HTTP so the
 * agent can also hand it in-process to the CNI endpoint. Failures throw AttachApiError with the status
 * and reason of src/attach/protocol.ts; a failed attach rolls back the Endpoint and the links it made.
 */
import fs from 'node:fs';
import type { AttachErrorReason, AttachRequest, AttachResult, Attachment, DetachRequest } from '../attach/protocol';
import { AttachApiError, type AttachApi } from '../attach/api';
import { ApiError, UnreachableError } from '../client/errors';
import type { TenetClient } from '../client/api-client';
import { attachPlan, vethLines } from '../core/dataplane/attach-plan';
import { burstProblemsForMtu } from '../core/dataplane/bandwidth';
import { hostRoute } from '../core/dataplane/desired';
import type { EndpointView } from '../core/dataplane/host-view';
import { endpointNameFor, hostVethName, tenantNamespaceName, tenantOfNamespace } from '../core/dataplane/names';
import { API_VERSION } from '../core/model/common';
import type { Endpoint, EndpointAttachment } from '../core/model/kinds/endpoint';
import type { TenetObject } from '../core/model/object';
import { KernelError, run } from '../kernel/exec';
import { IpStepError, sharedIpDeleter, sharedIpWorker } from '../kernel/ip-worker';
import { ipBatchAt, ipJsonBatch, netnsExists, tcBatch } from '../kernel/ip';
import type { Follower } from './follower';
import type { Mutex } from './mutex';
import { pinTargetNamespace } from './netns-guard';
import type { Reconciler, Log } from './reconciler';
import type { EndpointStatusWriter } from './endpoint-status';
import type { HostViews } from './host-views';
import type { TableProgrammer } from './nft/programmer';
import type { RouterNamespace, RouterNamespaces } from './router-namespace';
import { InvalidRequest, validateAttachRequest, validateDetachRequest } from './validate-attach';

/** This host, as attach results and names need it. */
export interface AttachHostInfo {
  name: string;
  netnsPrefix: string;
  /** Cluster DNS domain: attach results carry the tenant resolver's address and search list. */
  clusterDomain?: string;
}

/** What the attach path tells the agent's reconcile loop. */
export interface AttachEvents {
  /** The kernel or the endpoints changed (an attach ended, a detach ran): a pass soon. */
  reconcileSoon(): void;
  /** A detach of this endpoint begins: its missing interface is no loss to repair (src/agent/reattach.ts). */
  detaching(tenant: string, name: string): void;
}

/**
 * The parts of the agent the attach path works with, each one of the agent's own components.
 * Everything about one router namespace (its routing record, protection of the veths being attached,
 * veth deletions under way) is that namespace's RouterNamespace, taken from `namespaces`; its nft
 * table is programmed by `tables`.
 */
export interface AttachParts {
  host: AttachHostInfo;
  /** The controller, and the agent's cache of its objects. */
  client: TenetClient;
  follower: Follower;
  /** The host view of what the follower holds. */
  views: HostViews;
  /** The agent's one kernel lock. */
  mutex: Mutex;
  namespaces: RouterNamespaces;
  /** Makes a tenant's router namespace an attach finds missing; names the namespaces a detach searches. */
  reconciler: Reconciler;
  /** Programs a namespace's table (every producer) on attach and detach. */
  tables: TableProgrammer;
  /** Endpoint status writes, shared with the reconcile loop. */
  status: EndpointStatusWriter;
  events: AttachEvents;
  log: Log;
}

function fail(status: number, reason: AttachErrorReason, message: string): never {
  throw new AttachApiError(status, reason, message);
}

/** Maps a controller error to the attach API's error. */
function fromController(error: unknown, what: string): never {
  if (error instanceof AttachApiError) throw error;
  if (error instanceof ApiError) {
    if (error.status === 404) fail(404, 'NotFound', `${what}: ${error.describe()}`);
    if (error.status === 409) fail(409, 'Conflict', `${what}: ${error.describe()}`);
    if (error.status === 400) fail(400, 'InvalidRequest', `${what}: ${error.describe()}`);
    fail(error.status >= 500 ? 503 : 500, error.status >= 500 ? 'Unavailable' : 'Internal', `${what}: ${error.describe()}`);
  }
  if (error instanceof UnreachableError) fail(503, 'Unavailable', `${what}: controller unreachable (${error.message}); try again later`);
  fail(500, 'Internal', `${what}: ${(error as Error).message}`);
}

export class AttachService implements AttachApi {
  constructor(private readonly parts: AttachParts) {}

  async attach(input: AttachRequest): Promise<AttachResult> {
    const request = this.validate(() => validateAttachRequest(input));
    // First, before anything touches a namespace: the target is pinned and refused if it is the agent's
    // own, PID 1's or a router namespace. Every later step reaches it through the pinned path.
    const target = pinTargetNamespace(request.netns, this.parts.host.netnsPrefix);
    try {
      // Recorded in the endpoint's status: a lost interface is re-attached only into this same namespace.
      // Not for Docker: its driver attaches into a staging namespace and Docker moves the interface on,
      // so the container's namespace is never known here (a lost one stays an error, not re-attached).
      const id = fs.statSync(target.path);
      const attachment: EndpointAttachment | undefined =
        request.attachedBy === 'docker' ? undefined : { netns: request.netns, netnsId: `${id.dev}:${id.ino}`, ifName: request.ifName };
      return await this.attachPinned({ ...request, netns: target.path }, request.netns, attachment);
    } finally {
      target.close();
    }
  }

  /** `request.netns` is the pinned namespace; `netns` the path the client gave, for messages. */
  private async attachPinned(request: AttachRequest, netns: string, attachment: EndpointAttachment | undefined): Promise<AttachResult> {
    const { parts } = this;
    const name = endpointNameFor(request.containerId, request.ifName);
    const veth = hostVethName(request.tenant, name);
    const routerNs = tenantNamespaceName(parts.host.netnsPrefix, request.tenant);
    const ns = parts.namespaces.get(routerNs);
    ns.attachBegun(veth);
    let created = false;
    let revision: number | undefined;
    const marks: Record<string, number> = {};
    const t0 = performance.now();
    const mark = (what: string): void => void (marks[what] = Math.round((performance.now() - t0) * 10) / 10);
    /** Whether this attach made the veth (only then may a failure delete it: a retried ADD's may serve a running container). */
    let madeLinks = false;
    /** The MTU the veth was made with ahead of the addresses, if it was. */
    let earlyMtu: number | undefined;
    // The veth needs no address: it is made while the controller allocates them, which takes about as long.
    const early = this.linkEarly(request, veth, ns).then((mtu) => {
      madeLinks = mtu !== undefined;
      earlyMtu = mtu;
      mark('early');
    });
    try {
      const endpoint = await this.createEndpoint(request, name).finally(() => early);
      mark('created');
      created = endpoint.created;
      revision = endpoint.revision;
      await this.ensureObjects(request.tenant, request.network);
      mark('objects');
      const result = await parts.mutex.run(async () => {
        mark('locked');
        const view = parts.views.view();
        const tenant = view.tenants.find((t) => t.name === request.tenant);
        const ep = tenant?.endpoints.find((e) => e.name === name);
        const network = tenant?.networks.find((n) => n.name === request.network);
        if (!tenant || !ep || !network) fail(500, 'Internal', `endpoint ${request.tenant}/${name} missing from the agent's view`);
        if (!ep.ipv4 && !ep.ipv6) fail(500, 'Internal', `the controller assigned no address to endpoint ${request.tenant}/${name}`);
        if (!netnsExists(tenant.routerNamespace) || (tenant.vxlanDevice && !endpoint.vxlanKnown)) {
          const report = await parts.reconciler.reconcileTenant(view, tenant, {
            protectedVeths: new Set([veth]),
            protectedNamespaces: new Set(),
          });
          if (report.failures.length && !netnsExists(tenant.routerNamespace)) fail(500, 'Internal', report.failures.join('; '));
        }
        if (!endpoint.created && !madeLinks && (await this.vethExists(routerNs, veth))) {
          // Same container and interface asked again (a runtime retry): answer what is already there.
          return attachPlan(ep, network, request.netns, request.ifName, undefined, parts.host.clusterDomain).result;
        }
        const burstProblems = burstProblemsForMtu(request.bandwidth, network.mtu);
        if (burstProblems.length > 0) fail(400, 'InvalidRequest', burstProblems.join('; '));
        // The same container interface detached a moment ago: its old veth must be gone first.
        await ns.deletion(veth);
        mark('namespace');
        const plan = attachPlan(ep, network, request.netns, request.ifName, request.bandwidth, parts.host.clusterDomain);
        // Policy keys on the interface's name and address, not on the link: it is programmed while the
        // links are made. The attach answers only when both are done; a failure of either rolls back.
        mark('policyStart');
        const policy = settle(parts.tables.endpointAdded(view, ep).then(() => mark('policy')));
        // Both ends of the veth in one request to the ip helper: the router namespace's lines, then the container's.
        const links = (): Promise<void> =>
          sharedIpWorker().runSteps([
            {
              nsPath: `/run/netns/${routerNs}`,
              lines: !madeLinks
                ? plan.hostLines
                : earlyMtu === network.mtu
                  ? plan.hostAddressLines
                  : [`link set ${veth} mtu ${network.mtu}`, ...plan.hostAddressLines],
            },
            { nsPath: request.netns, lines: plan.containerLines },
          ]);
        const nothingMade = (error: unknown): boolean =>
          error instanceof IpStepError && error.step === 0 && error.line === plan.linkLines[0];
        const interfaceTaken = (error: unknown): boolean => nothingMade(error) && /File exists/.test((error as Error).message);
        const defaultRouteTaken = (error: unknown): boolean =>
          error instanceof IpStepError &&
          error.step === 1 &&
          /^route add default /.test(error.line ?? '') &&
          /File exists/.test(error.message);
        try {
          await links().catch(async (error: unknown) => {
            // A container's interface detached a moment ago may still be on its way out of the same
            // namespace (veths are deleted in the background): wait for those deletions, then try again.
            if (!interfaceTaken(error) || !parts.namespaces.anyDying()) throw error;
            await this.settled();
            await links();
          });
          madeLinks = true;
        } catch (error) {
          if (!nothingMade(error)) madeLinks = true;
          await policy;
          if (interfaceTaken(error)) fail(409, 'Conflict', `interface ${request.ifName} already exists in ${netns}`);
          if (defaultRouteTaken(error))
            fail(
              409,
              'Conflict',
              `netns ${netns} already has a default route (${(error as IpStepError).line?.includes(':') ? 'IPv6' : 'IPv4'}); Tenet never replaces one`,
            );
          throw error;
        }
        mark('links');
        ns.noteAttached(
          view,
          tenant,
          veth,
          network.subnets.map((sub) => hostRoute(sub.gateway)),
        );
        const shaping = async (): Promise<void> => {
          if (plan.shapingHostLines.length > 0) await tcBatch(plan.shapingHostLines, { netns: routerNs });
          if (plan.shapingContainerLines.length > 0) await ipBatchAt(request.netns, plan.shapingContainerLines, 'tc');
        };
        const [, policyError] = await Promise.all([shaping(), policy]);
        if (policyError) throw policyError;
        return plan.result;
      });
      // Status is bookkeeping for the controller: written after the answer, off the attach's critical path.
      void parts.status.write(request.tenant, name, 'ready', undefined, result.hostIfName, { attachment });
      parts.log('debug', 'attached', { endpoint: `${request.tenant}/${name}`, ms: marks });
      return result;
    } catch (error) {
      revision = undefined;
      await early;
      await this.rollback(request.tenant, name, madeLinks ? veth : undefined, ns, created);
      if (error instanceof AttachApiError) throw error;
      if (error instanceof KernelError) fail(500, 'Internal', `plumbing failed: ${error.message}`);
      fromController(error, 'attach');
    } finally {
      ns.attachEnded(veth, revision);
      parts.events.reconcileSoon();
    }
  }

  async detach(input: DetachRequest): Promise<{ detached: boolean }> {
    const request = this.validate(() => validateDetachRequest(input));
    const { parts } = this;
    const marks: Record<string, number> = {};
    const t0 = performance.now();
    const mark = (what: string): void => void (marks[what] = Math.round((performance.now() - t0) * 10) / 10);
    // Candidates from the view (any ifName) and, for when the controller is unknown, from the kernel.
    const candidates = new Map<string, { tenant: string; name: string }>();
    for (const tenant of parts.views.view().tenants) {
      for (const ep of tenant.endpoints) {
        if (ep.local && ep.containerId === request.containerId && (!request.ifName || ep.ifName === request.ifName))
          candidates.set(`${tenant.name}/${ep.name}`, { tenant: tenant.name, name: ep.name });
      }
    }
    const ifNames = request.ifName ? [request.ifName] : ['eth0'];
    // The kernel is searched only when the view knows nothing (controller unknown or the object gone),
    // and not while an earlier detach is still deleting a veth (it would be found again).
    if (candidates.size === 0) await this.settled();
    for (const ns of candidates.size > 0 ? [] : parts.reconciler.ownedNamespaces()) {
      const tenant = tenantOfNamespace(parts.host.netnsPrefix, ns)!;
      for (const ifName of ifNames) {
        const name = endpointNameFor(request.containerId, ifName);
        if (await this.vethExists(ns, hostVethName(tenant, name))) candidates.set(`${tenant}/${name}`, { tenant, name });
      }
    }
    let detached = false;
    let unreachable: Error | undefined;
    for (const { tenant, name } of candidates.values()) {
      parts.events.detaching(tenant, name);
      const veth = hostVethName(tenant, name);
      const nsName = tenantNamespaceName(parts.host.netnsPrefix, tenant);
      await parts.mutex.run(async () => {
        mark('locked');
        const ns = parts.namespaces.get(nsName);
        await ns.deletion(veth);
        const linkGone = netnsExists(nsName) && ns.knowsVeth(veth) === true;
        const policy = parts.tables
          .endpointRemoved(parts.views.view(), { tenant, name, hostIfName: veth, linkGone })
          .then(() => mark('policy'))
          .catch((e: Error) => parts.log('warn', 'policy endpointRemoved failed', { error: e.message }));
        if (linkGone) {
          // The kernel's unregister of a veth waits for RCU grace periods (20-40 ms, most of a detach):
          // it finishes in the background. The veth is out of the record and the policy maps now, and an
          // attach of the same interface (or a detach that searches the kernel) waits for it.
          ns.noteDetached(veth);
          this.deleteInBackground(ns, veth);
          detached = true;
          await policy;
          return;
        }
        // No record of it: deleting is the existence test (one process less than asking first).
        const [deleted] = await Promise.all([this.deleteVeth(nsName, veth).then((gone) => (mark('deleted'), gone)), policy]);
        if (deleted) {
          ns.noteDetached(veth);
          detached = true;
        }
      });
      try {
        await parts.client.delete('Endpoint', name, tenant);
        mark('controller');
        detached = true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          // already gone: idempotent
        } else if (error instanceof UnreachableError) unreachable = error;
        else fromController(error, 'detach');
      }
      parts.follower.remove('Endpoint', tenant, name);
    }
    parts.events.reconcileSoon();
    parts.log('debug', 'detached', { containerId: request.containerId, ms: marks });
    if (unreachable)
      fail(503, 'Unavailable', `kernel state removed, but the controller is unreachable (${unreachable.message}); retry the detach`);
    return { detached };
  }

  async check(input: AttachRequest): Promise<AttachResult> {
    const request = this.validate(() => validateAttachRequest(input));
    const { parts } = this;
    const name = endpointNameFor(request.containerId, request.ifName);
    const tenant = parts.views.view().tenants.find((t) => t.name === request.tenant);
    const ep = tenant?.endpoints.find((e) => e.name === name && e.local);
    const network = tenant?.networks.find((n) => n.name === request.network);
    if (!tenant || !ep || !network)
      fail(
        404,
        'NotFound',
        `no attachment of ${request.containerId}/${request.ifName} in ${request.tenant}/${request.network} on this host`,
      );
    if (ep.network !== request.network) fail(409, 'Conflict', `container is attached to network ${ep.network}, not ${request.network}`);
    if (!(await this.vethExists(tenant.routerNamespace, ep.hostIfName!)))
      fail(404, 'NotFound', `host interface ${ep.hostIfName} is missing`);
    const target = pinTargetNamespace(request.netns, parts.host.netnsPrefix);
    const inside = await this.containerInterface(target.path, request.ifName).finally(() => target.close());
    if (!inside) fail(404, 'NotFound', `interface ${request.ifName} is missing in ${request.netns}`);
    return attachPlan(ep, network, request.netns, request.ifName, undefined, parts.host.clusterDomain).result;
  }

  async attachments(): Promise<Attachment[]> {
    return this.parts.views
      .view()
      .tenants.flatMap((t) => t.endpoints.filter((e) => e.local && e.containerId))
      .map((e) => ({
        containerId: e.containerId!,
        ifName: e.ifName ?? 'eth0',
        endpoint: e.name,
        tenant: e.tenant,
        network: e.network,
        ...(e.object.spec.attachedBy ? { attachedBy: e.object.spec.attachedBy } : {}),
      }));
  }

  async healthz(): Promise<{ ok: boolean; controllerReachable: boolean }> {
    return { ok: true, controllerReachable: this.parts.follower.connected };
  }

  private validate<T>(parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (error instanceof InvalidRequest) fail(400, 'InvalidRequest', error.message);
      throw error;
    }
  }

  private async createEndpoint(request: AttachRequest, name: string): Promise<{ created: boolean; vxlanKnown: boolean; revision: number }> {
    const { parts } = this;
    const vxlanKnown = parts.views.view().tenants.some((t) => t.name === request.tenant && t.vxlanDevice !== undefined);
    const body: Endpoint = {
      apiVersion: API_VERSION,
      kind: 'Endpoint',
      metadata: { name, tenant: request.tenant, labels: request.labels ?? {} },
      spec: {
        network: request.network,
        host: parts.host.name,
        containerId: request.containerId,
        ifName: request.ifName,
        ...(request.scope ? { scope: request.scope } : {}),
        ...(request.ips ? { ips: request.ips } : {}),
        ...(request.mac ? { mac: request.mac } : {}),
        ...(request.ports ? { ports: request.ports } : {}),
        ...(request.attachedBy ? { attachedBy: request.attachedBy } : {}),
      },
    };
    try {
      const created = await parts.client.create(body as unknown as TenetObject);
      parts.follower.upsert(created);
      return { created: true, vxlanKnown, revision: Number(created.metadata.resourceVersion ?? 0) };
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) fromController(error, `create endpoint ${request.tenant}/${name}`);
      const existing = await parts.client
        .find<Endpoint>('Endpoint', name, request.tenant)
        .catch((e: unknown) => fromController(e, 'read endpoint'));
      if (!existing) fromController(error, `create endpoint ${request.tenant}/${name}`);
      if (
        existing.spec.host !== parts.host.name ||
        existing.spec.containerId !== request.containerId ||
        existing.spec.network !== request.network
      ) {
        fail(
          409,
          'Conflict',
          `endpoint ${request.tenant}/${name} already exists for host ${existing.spec.host ?? '-'} network ${existing.spec.network}`,
        );
      }
      parts.follower.upsert(existing as unknown as TenetObject);
      return { created: false, vxlanKnown, revision: Number(existing.metadata.resourceVersion ?? 0) };
    }
  }

  /** Makes sure the tenant and network are in the cache even when the watch has not delivered them yet. */
  private async ensureObjects(tenant: string, network: string): Promise<void> {
    const { follower, client } = this.parts;
    if (!follower.get('Tenant', undefined, tenant)) {
      const object = await client.find('Tenant', tenant).catch((e: unknown) => fromController(e, 'read tenant'));
      if (!object) fail(404, 'NotFound', `tenant ${tenant} does not exist`);
      follower.upsert(object);
    }
    if (!follower.get('Network', tenant, network)) {
      const object = await client.find('Network', network, tenant).catch((e: unknown) => fromController(e, 'read network'));
      if (!object) fail(404, 'NotFound', `network ${tenant}/${network} does not exist`);
      follower.upsert(object);
    }
  }

  /** Undoes a failed attach: the veth if this attach made it, the Endpoint if it created it. */
  private async rollback(tenant: string, name: string, veth: string | undefined, ns: RouterNamespace, created: boolean): Promise<void> {
    const { parts } = this;
    try {
      if (veth) {
        await parts.mutex.run(async () => {
          await this.deleteVeth(ns.name, veth);
          ns.forgetRouting();
        });
      }
    } catch (error) {
      parts.log('warn', 'rollback: deleting veth failed', { veth, error: (error as Error).message });
    }
    if (!created) return;
    try {
      await parts.client.delete('Endpoint', name, tenant);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404))
        parts.log('warn', 'rollback: deleting endpoint failed', { endpoint: `${tenant}/${name}`, error: (error as Error).message });
    }
    parts.follower.remove('Endpoint', tenant, name);
    parts.events.reconcileSoon();
  }

  /**
   * Makes the veth pair before the endpoint's addresses are known, when the tenant's router namespace
   * is already there; answers the MTU it used, or undefined when it made nothing. The MTU is the
   * network's when the agent knows the network, else the overlay's (the attach corrects it). Under the
   * agent's lock, like every link the agent makes: a reconcile pass that started before the attach
   * protected the name would delete it. Anything in the way (the name taken, a deletion of the same
   * interface still under way) is left to the main path, which reports or waits for it as before.
   */
  private async linkEarly(request: AttachRequest, veth: string, ns: RouterNamespace): Promise<number | undefined> {
    const { parts } = this;
    const routerNs = ns.name;
    if (ns.deletion(veth) || !netnsExists(routerNs)) return undefined;
    const view = parts.views.view();
    const mtu =
      view.tenants.find((t) => t.name === request.tenant)?.networks.find((n) => n.name === request.network)?.mtu ?? view.overlayMtu;
    const lines = vethLines(veth, request.ifName, request.netns, mtu);
    return parts.mutex.run(async () => {
      if (ns.deletion(veth)) return undefined;
      try {
        await sharedIpWorker().runSteps([{ nsPath: `/run/netns/${routerNs}`, lines }]);
        return mtu;
      } catch (error) {
        if (!(error instanceof IpStepError && error.line === lines[0])) {
          await this.deleteVeth(routerNs, veth).catch((e: Error) =>
            parts.log('warn', 'deleting a half-made veth failed', { veth, error: e.message }),
          );
        }
        return undefined;
      }
    });
  }

  private deleteInBackground(ns: RouterNamespace, veth: string): void {
    const { parts } = this;
    // Not protected from the reconciler: a full pass that sees it before it is gone deletes it too,
    // which is the same outcome (the loser gets "no such device").
    const deletion = this.deleteVeth(ns.name, veth)
      .then(() => undefined)
      .catch((error: Error) => {
        // The record says it is gone: make the next pass read the namespace back and remove it.
        ns.forgetRouting();
        parts.log('warn', 'deleting a detached veth failed', { veth, error: error.message });
      });
    ns.deleting(veth, deletion);
  }

  /** Resolves when every background veth deletion has finished (detach searches, agent stop). */
  async settled(): Promise<void> {
    await this.parts.namespaces.settled();
  }

  /** Deletes a host veth; false when it (or its namespace) does not exist. */
  private async deleteVeth(ns: string, veth: string): Promise<boolean> {
    if (!netnsExists(ns)) return false;
    try {
      await sharedIpDeleter().run(`/run/netns/${ns}`, [`link del ${veth}`]);
      return true;
    } catch (error) {
      if (error instanceof KernelError && /Cannot find device|does not exist/.test(`${error.message} ${error.stderr}`)) return false;
      throw error;
    }
  }

  async vethExists(ns: string, veth: string): Promise<boolean> {
    if (!netnsExists(ns)) return false;
    try {
      await ipJsonBatch([`link show dev ${veth}`], { netns: ns });
      return true;
    } catch {
      return false;
    }
  }

  private async containerInterface(path: string, ifName: string): Promise<boolean> {
    try {
      await run('nsenter', [`--net=${path}`, 'ip', 'link', 'show', 'dev', ifName]);
      return true;
    } catch {
      return false;
    }
  }
}

/** A promise's error as a value, so it can wait alongside others without an unhandled rejection. */
function settle(promise: Promise<unknown> | undefined): Promise<Error | undefined> {
  return promise
    ? promise.then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      )
    : Promise.resolve(undefined);
}

export type { EndpointView };
