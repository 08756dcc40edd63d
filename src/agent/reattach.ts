/**
 * Lost interfaces and their re-attach. A veth pair dies when either end's namespace goes: a tenant router
 * namespace deleted by hand is made again by the reconciler, but its containers' interfaces died with it
 * (and so does one whose veth was deleted by hand). The reconciler reports such an endpoint's veth as
 * missing; an endpoint that was attached (its status holds the agent's attachment record) is marked
 * `lost` with the reason and the time, then made again where the container's namespace still exists:
 * the same veth name, addresses, MAC, routes and interface name, from the same attach plan.
 *
 * The target is taken from the attachment record, which only agents and admins may write
 * (src/controller/kinds/endpoint.ts), and checked again as an attach checks it: the namespace guard
 * (never the agent's own, the host's or a router namespace), and its device and inode must be those
 * recorded at attach time — a path that now names another namespace (the container gone, a PID reused)
 * is not the container's. The container's old default route died with its interface, so the plan's
 * `route add default` is right; a default route made there meanwhile is never replaced (the attach
 * fails and the endpoint stays lost, saying why).
 */
import fs from 'node:fs';
import { AttachApiError } from '../attach/api';
import { attachPlan } from '../core/dataplane/attach-plan';
import { hostRoute } from '../core/dataplane/desired';
import type { EndpointView, HostView } from '../core/dataplane/host-view';
import type { EndpointAttachment } from '../core/model/kinds/endpoint';
import { KernelError, run } from '../kernel/exec';
import { ipJsonBatch, netnsExists } from '../kernel/ip';
import { IpStepError, sharedIpDeleter, sharedIpWorker } from '../kernel/ip-worker';
import type { Mutex } from './mutex';
import { pinTargetNamespace } from './netns-guard';
import type { TableProgrammer } from './nft/programmer';
import type { EndpointStatusWriter } from './endpoint-status';
import type { HostViews } from './host-views';
import type { Log } from './reconciler';
import type { RouterNamespaces } from './router-namespace';

/** The parts of the agent the re-attach works with (as the attach path's, src/agent/attach-service.ts). */
export interface ReattachParts {
  netnsPrefix: string;
  mutex: Mutex;
  log: Log;
  /** Programs the namespace's table after the veth is made again. */
  tables: TableProgrammer;
  views: HostViews;
  namespaces: RouterNamespaces;
  status: EndpointStatusWriter;
}

const keyOf = (ep: { tenant: string; name: string }): string => `${ep.tenant}/${ep.name}`;

export class Reattacher {
  /** Endpoints a detach is removing: their interface is gone on purpose. */
  private readonly detaching = new Set<string>();

  constructor(private readonly host: ReattachParts) {}

  endpointDetaching(tenant: string, name: string): void {
    this.detaching.add(keyOf({ tenant, name }));
  }

  /**
   * The local endpoints among `missing` (tenant/name keys of endpoints whose veth is missing) that were
   * attached on this host and are not being attached or detached now: their interface is lost.
   */
  lost(view: HostView, missing: ReadonlySet<string>, protectedVeths: ReadonlySet<string>): EndpointView[] {
    const present = new Set<string>();
    const out: EndpointView[] = [];
    for (const tenant of view.tenants) {
      for (const ep of tenant.endpoints) {
        const key = keyOf(ep);
        present.add(key);
        if (!ep.local || !missing.has(key) || !ep.object.status?.attachment || this.detaching.has(key)) continue;
        if (ep.hostIfName && protectedVeths.has(ep.hostIfName)) continue;
        out.push(ep);
      }
    }
    for (const key of this.detaching) if (!present.has(key)) this.detaching.delete(key);
    return out;
  }

  /** Marks each endpoint lost (once), re-attaches it where its container's namespace still exists, and writes the outcome. */
  async repair(lost: readonly EndpointView[]): Promise<void> {
    for (const ep of lost) {
      const status = ep.object.status ?? {};
      const gone = `host interface ${ep.hostIfName ?? '?'} is gone (its veth or the router namespace was deleted)`;
      let lostAt = status.lostAt;
      if (status.phase !== 'lost') {
        lostAt = new Date().toISOString();
        this.host.log('warn', 'endpoint interface lost; re-attaching it', { endpoint: keyOf(ep), veth: ep.hostIfName });
        await this.host.status.write(ep.tenant, ep.name, 'lost', gone, ep.hostIfName, { lostAt });
      }
      const refusal = await this.host.mutex.run(() => this.reattach(ep));
      if (refusal === undefined) {
        this.host.log('info', 'endpoint interface re-attached', { endpoint: keyOf(ep), veth: ep.hostIfName });
        await this.host.status.write(ep.tenant, ep.name, 'ready', undefined, ep.hostIfName, {
          lostAt,
          reattachedAt: new Date().toISOString(),
        });
      } else {
        const reason = `${gone}; not re-attached: ${refusal}`;
        if (status.phase === 'lost' && status.reason === reason) continue;
        this.host.log('warn', 'endpoint interface lost and not re-attached', { endpoint: keyOf(ep), reason: refusal });
        await this.host.status.write(ep.tenant, ep.name, 'lost', reason, ep.hostIfName, { lostAt });
      }
    }
  }

  /** Under the agent's lock: makes the endpoint's interface again; undefined when done, else why not. */
  private async reattach(stale: EndpointView): Promise<string | undefined> {
    const { host } = this;
    // The view as it is now: the endpoint may have been deleted, detached or attached meanwhile.
    const view = host.views.view();
    const tenant = view.tenants.find((t) => t.name === stale.tenant);
    const ep = tenant?.endpoints.find((e) => e.name === stale.name);
    const attachment = ep?.object.status?.attachment;
    if (!tenant || !ep?.local || !ep.hostIfName || !attachment) return 'the endpoint is no longer attached on this host';
    if (this.detaching.has(keyOf(ep))) return 'the endpoint is being detached';
    const network = tenant.networks.find((n) => n.name === ep.network);
    if (!network) return `network ${ep.network} is not known to the agent`;
    const routerNs = tenant.routerNamespace;
    if (!netnsExists(routerNs)) return `the router namespace ${routerNs} does not exist yet`;
    if (await linkExists(routerNs, ep.hostIfName)) return undefined;
    let target: ReturnType<typeof pinTargetNamespace>;
    try {
      target = pinTargetNamespace(attachment.netns, host.netnsPrefix);
    } catch (error) {
      if (error instanceof AttachApiError && error.status === 404) return `the container's network namespace ${attachment.netns} is gone`;
      return `${(error as Error).message}`;
    }
    try {
      const now = fs.statSync(target.path);
      if (`${now.dev}:${now.ino}` !== attachment.netnsId)
        return `${attachment.netns} is now another network namespace than the container's (the container is gone)`;
      return await this.plumb(view, tenant, ep, network, target.path, attachment);
    } finally {
      target.close();
    }
  }

  private async plumb(
    view: HostView,
    tenant: HostView['tenants'][number],
    ep: EndpointView,
    network: HostView['tenants'][number]['networks'][number],
    path: string,
    attachment: EndpointAttachment,
  ): Promise<string | undefined> {
    const { host } = this;
    const veth = ep.hostIfName!;
    const ns = host.namespaces.get(tenant.routerNamespace);
    const plan = attachPlan(ep, network, path, attachment.ifName);
    const old = await containerLink(path, attachment.ifName);
    if (old) {
      // The router namespace deleted by hand lives on while anything holds it (a process inside), and the
      // veth with it: the container's end is still there, going nowhere. Ours only if it is a veth with
      // the endpoint's MAC; deleting it takes its peer along.
      if (old.kind !== 'veth' || old.mac.toLowerCase() !== ep.mac.toLowerCase())
        return `interface ${attachment.ifName} already exists in ${attachment.netns} and is not the one Tenet made`;
      host.log('info', "deleting the container's stale interface before re-attaching", { endpoint: keyOf(ep), netns: attachment.netns });
      const deleted = await run('nsenter', [`--net=${path}`, 'ip', 'link', 'del', 'dev', attachment.ifName], { allowFailure: true });
      if (deleted.code !== 0) return `deleting the stale interface ${attachment.ifName} failed: ${deleted.stderr.trim()}`;
    }
    try {
      await sharedIpWorker().runSteps([
        { nsPath: `/run/netns/${tenant.routerNamespace}`, lines: plan.hostLines },
        { nsPath: path, lines: plan.containerLines },
      ]);
    } catch (error) {
      const made = !(error instanceof IpStepError && error.step === 0 && error.line === plan.linkLines[0]);
      if (made) {
        await sharedIpDeleter()
          .run(`/run/netns/${tenant.routerNamespace}`, [`link del ${veth}`])
          .catch((e: Error) => host.log('warn', 'deleting a half re-attached veth failed', { veth, error: e.message }));
        ns.forgetRouting();
      }
      const line = error instanceof IpStepError ? error.line : undefined;
      if (error instanceof IpStepError && error.step === 0 && /File exists/.test(error.message))
        return `interface ${attachment.ifName} already exists in ${attachment.netns}`;
      if (/^route add default /.test(line ?? '') && /File exists/.test((error as Error).message))
        return `${attachment.netns} has a default route already; Tenet never replaces one`;
      if (error instanceof IpStepError || error instanceof KernelError) return `plumbing failed: ${error.message}`;
      throw error;
    }
    ns.noteAttached(
      view,
      tenant,
      veth,
      network.subnets.map((sub) => hostRoute(sub.gateway)),
    );
    await host.tables
      .endpointAdded(view, ep)
      .catch((error: Error) => host.log('warn', 'policy after re-attach failed (the next pass retries)', { error: error.message }));
    return undefined;
  }
}

async function linkExists(netns: string, name: string): Promise<boolean> {
  try {
    await ipJsonBatch([`link show dev ${name}`], { netns });
    return true;
  } catch {
    return false;
  }
}

/** The interface `ifName` in the namespace at `path`, if there is one: its kind and MAC. */
async function containerLink(path: string, ifName: string): Promise<{ kind?: string; mac: string } | undefined> {
  const out = await run('nsenter', [`--net=${path}`, 'ip', '-j', '-d', 'link', 'show', 'dev', ifName], { allowFailure: true });
  if (out.code !== 0) return undefined;
  const [link] = JSON.parse(out.stdout) as { address?: string; linkinfo?: { info_kind?: string } }[];
  return link ? { kind: link.linkinfo?.info_kind, mac: link.address ?? '' } : undefined;
}
