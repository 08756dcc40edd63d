/**
 * The host agent: registers its Host and heartbeats, follows the controller (list-then-watch), keeps
 * the kernel equal to the desired state of its HostView, writes endpoint status back, and serves the
 * attach socket. Stateless in the durable sense: after a restart it rebuilds everything from the
 * kernel (recognised by name) and a fresh list, and converges by diff without recreating what is right.
 */
import type http from 'node:http';
import { TenetClient } from '../client/api-client';
import { ApiError } from '../client/errors';
import { HOST_VIEW_KINDS, overlayMtu, type HostView } from '../core/dataplane/host-view';
import { assertNetnsPrefix } from '../core/dataplane/names';
import { API_VERSION } from '../core/model/common';
import type { Endpoint } from '../core/model/kinds/endpoint';
import {
  MAX_REPORTED_TENANT_NAMESPACES,
  type AdvertisedFloatingIP,
  type Host,
  type PolicyHitsReport,
  type SpoofDropReport,
} from '../core/model/kinds/host';
import { ANTISPOOF_DROPS, hostSpoofDrops, spoofDrops } from '../core/dataplane/antispoof';
import { ruleHits } from '../core/policy/readback';
import { hostPolicyHits, type Counters } from '../core/policy/hits';
import { isName } from '../core/model/names';
import type { TenetObject } from '../core/model/object';
import { canonicalIp, parseIp } from '../core/net/ip';
import { netnsExists } from '../kernel/ip';
import { deviceIPv6Of, deviceMtuOf } from '../kernel/read';
import { TENET_VERSION } from '../version';
import { AttachService, type AttachParts } from './attach-service';
import { EndpointStatusWriter } from './endpoint-status';
import { HostViews } from './host-views';
import { startAttachServer } from './attach-server';
import { Follower } from './follower';
import { Mutex } from './mutex';
import { antispoofProducer } from './antispoof';
import { realizesServices, servicesProducer } from './services';
import { EgressLinks, egressProducer } from './egress';
import { BgpSpeaker } from './bgp';
import { kernelNftDriver } from './nft/kernel';
import { TableMonitor } from './nft/monitor';
import { createPolicyEnforcer, type PolicyEnforcer } from './policy/enforcer';
import { Reconciler, type Log } from './reconciler';
import { liveTenants, removeStaleNamespaces, tenantNamespaceReport } from './stale-namespaces';
import { RouterNamespaces } from './router-namespace';
import { Reattacher } from './reattach';
import { TenantResolvers } from './dns/resolver';
import { assertClusterDomain, DEFAULT_CLUSTER_DOMAIN } from '../core/dns/records';
import { FlowReader, flowdAvailable } from './flows/reader';
import { FlowRecorder, DEFAULT_RING } from './flows/recorder';
import { denyLogCounts } from '../core/flows/deny-accounting';
import { FlowExport, parseExportTarget } from './flows/export';
import type { FlowContext } from '../core/flows/records';
import { AgentMetrics, startMetricsListener } from './metrics';
import { TraceAgent } from './trace';
import type { AttachRequest, AttachResult } from '../attach/protocol';

/** The periodic full pass waits for this long without a change (see Agent.periodicFullPass). */
export const RESYNC_QUIET_MS = 500;
/** Default kernel read-back (full pass) period. */
const DEFAULT_RESYNC_MS = 30000;

export interface AgentOptions {
  controller: string[];
  token?: string;
  /** PEM CA to verify an https controller against. */
  ca?: string | Buffer;
  hostName: string;
  underlayIP: string;
  /** This host's IPv6 address on the underlay; default: the first global IPv6 address of the device holding underlayIP, if any. */
  underlayIPv6?: string;
  socketPath: string;
  netnsPrefix: string;
  /** Kernel read-back (full pass) period. */
  resyncMs?: number;
  /** Period of a fresh list of the controller's objects besides the watch (follower.ts, DEFAULT_RELIST_MS). */
  relistMs?: number;
  /** MTU of the underlay device; default: read from the device holding underlayIP at start. */
  underlayMtu?: number;
  heartbeatMs?: number;
  /** Cluster DNS domain (default DEFAULT_CLUSTER_DOMAIN); the controller must use the same one. */
  clusterDomain?: string;
  /** Directory of the tenant resolvers' files (default DEFAULT_DNS_DIR). */
  dnsDir?: string;
  /** Export every record as a JSON line to this file, or `unix:PATH` (a collector's socket); flows/export.ts. */
  flowExport?: string;
  /** Flow and deny records kept in memory (a ring; default DEFAULT_RING); 0 turns recording off. */
  flowRing?: number;
  /** How often new records go to the controller (default 1000 ms). */
  flowPushMs?: number;
  /** A local HOST:PORT that also serves /metrics and /healthz (they are always on the attach socket). */
  metricsAddress?: string;
  /** Announce the floating IPs bound on this host over BGP (docs/external.md); absent: no BGP. */
  bgp?: { peer: string; asn: number; peerAsn: number; dir: string };
  log: Log;
}

export function validateAgentOptions(options: AgentOptions): void {
  if (!isName(options.hostName)) throw new Error(`--host "${options.hostName}" must be a valid name (lower-case letters, digits, "-")`);
  if (!parseIp(options.underlayIP)) throw new Error(`--underlay-ip "${options.underlayIP}" is not an IP address`);
  if (options.underlayIPv6 !== undefined && parseIp(options.underlayIPv6)?.family !== 6)
    throw new Error(`--underlay-ipv6 "${options.underlayIPv6}" is not an IPv6 address`);
  assertNetnsPrefix(options.netnsPrefix);
  if (!options.socketPath.startsWith('/')) throw new Error('--socket must be an absolute path');
  if (options.controller.length === 0) throw new Error('--controller is required');
  if (options.clusterDomain !== undefined) assertClusterDomain(options.clusterDomain);
  if (options.bgp) {
    if (parseIp(options.bgp.peer)?.family !== 4) throw new Error(`--bgp-peer "${options.bgp.peer}" is not an IPv4 address`);
    if (parseIp(options.underlayIP)?.family !== 4) throw new Error('BGP needs an IPv4 --underlay-ip (its router id and session address)');
    for (const n of [options.bgp.asn, options.bgp.peerAsn])
      if (!Number.isInteger(n) || n < 1 || n > 4294967295) throw new Error(`AS number ${n} must be an integer 1-4294967295`);
    if (!options.bgp.dir.startsWith('/')) throw new Error('--bgp-dir must be an absolute path');
  }
}

export class Agent {
  readonly hostName: string;
  readonly netnsPrefix: string;
  readonly underlayIP: string;
  readonly client: TenetClient;
  readonly follower: Follower;
  readonly reconciler: Reconciler;
  readonly mutex = new Mutex();
  readonly log: Log;
  /** Everything the agent knows about each tenant router namespace. */
  readonly namespaces: RouterNamespaces;
  /** Programs every namespace's nft table (policy and the other producers). */
  readonly enforcer: PolicyEnforcer;
  /** The egress transit links and the host's egress table (src/agent/egress.ts, docs/external.md). */
  private readonly egress: EgressLinks;
  /** Watches the tables for changes made behind the agent's back (fail closed, repaired at once). */
  private readonly monitor: TableMonitor;
  /** Endpoint status writes (the attach path's and the passes'). */
  readonly status: EndpointStatusWriter;
  /** The host view of what the follower holds, built once per change. */
  private readonly views: HostViews;
  private server?: http.Server;
  private metricsServer?: http.Server;
  /** Prometheus metrics (src/agent/metrics.ts). */
  readonly metrics: AgentMetrics;
  private reconcileTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private reconciling = false;
  /** The next pass reads every namespace back (after a list, and periodically). */
  private fullDue = true;
  private rerun = false;
  private stopped = false;
  private registered = false;
  readonly service: AttachService;
  /** Marks endpoints whose interface was lost and makes them again (src/agent/reattach.ts). */
  private readonly reattacher: Reattacher;
  /** One DNS resolver per tenant router namespace (src/agent/dns/). */
  readonly resolvers: TenantResolvers;
  /** Learned from the controller at start unless given (they must agree: the controller names services under it). */
  clusterDomain: string;
  /** What the attach path knows of this host; its cluster domain follows the one learned at start. */
  private readonly attachHost: { name: string; netnsPrefix: string; clusterDomain: string };
  /** Flow and deny records of this host's tenant namespaces (src/agent/flows/); undefined: recording is off. */
  readonly flows?: FlowRecorder;
  /** The records' export for collectors (--flow-export); undefined: none. */
  readonly flowExport?: FlowExport;
  private flowPushTimer?: NodeJS.Timeout;
  /** `tenet trace` jobs from the controller (src/agent/trace.ts). */
  readonly traces: TraceAgent;
  /** Completed passes, for healthz: a restarted agent has repaired the kernel once fullPasses > 0. */
  private readonly progress = { passes: 0, fullPasses: 0, lastPassFailures: 0 };

  constructor(private readonly options: AgentOptions) {
    validateAgentOptions(options);
    this.hostName = options.hostName;
    this.netnsPrefix = options.netnsPrefix;
    this.underlayIP = options.underlayIP;
    this.log = options.log;
    this.client = new TenetClient({ servers: options.controller, token: options.token, ca: options.ca, timeoutMs: 10000 });
    this.metrics = new AgentMetrics({
      namespaces: () =>
        this.follower.synced
          ? this.view().tenants.map((t) => ({
              tenant: t.name,
              endpoints: t.endpoints.filter((e) => e.local).length,
              flowReader: this.namespaces.find(t.routerNamespace)?.flows?.exited === false,
            }))
          : [],
      flows: () => (this.flows ? { ...this.flows.counters, ring: this.flows.ring.size } : undefined),
      ruleCounts: () => this.flows?.ruleCounts() ?? [],
      flowExport: () =>
        this.flowExport
          ? { exported: this.flowExport.exported, dropped: this.flowExport.dropped, queued: this.flowExport.queued }
          : undefined,
      healthy: async () => (await this.service.healthz()).ok,
    });
    const nft = kernelNftDriver(undefined, {
      onEnobufs: (outcome) => {
        this.metrics.nftEnobufs.inc({ outcome });
        options.log('warn', 'nft transaction answered ENOBUFS', { outcome });
      },
    });
    this.namespaces = new RouterNamespaces(this.metrics.timedDriver(nft), { log: options.log });
    this.reconciler = new Reconciler(options.netnsPrefix, options.log, this.namespaces);
    this.egress = new EgressLinks(
      options.log,
      options.bgp ? new BgpSpeaker({ ...options.bgp, routerId: options.underlayIP, log: options.log }) : undefined,
    );
    // Four producers write into each namespace's table: policy, antispoofing, service NAT and egress NAT (docs/architecture.md, "The agent's structure").
    this.monitor = new TableMonitor((netns) => void this.checkTable(netns), options.log);
    this.enforcer = createPolicyEnforcer({
      hostName: this.hostName,
      netnsPrefix: this.netnsPrefix,
      log: this.log,
      namespaces: this.namespaces,
      producers: [antispoofProducer, servicesProducer, egressProducer],
    });
    this.follower = new Follower({
      client: this.client,
      kinds: HOST_VIEW_KINDS,
      log: options.log,
      relistMs: options.relistMs,
      onChange: (reason) => {
        // When the change reached this agent (wall clock: bench/external.ts lines it up with other processes' stages).
        this.changeSeenAt ??= Date.now();
        this.lastChangeAt = Date.now();
        if (reason === 'snapshot') {
          this.fullDue = true;
          this.sweepStaleNamespaces();
        }
        this.scheduleReconcile();
      },
      onConnection: (connected) => {
        options.log('info', connected ? 'controller connected' : 'controller connection lost', {});
        if (connected && !this.registered) void this.register();
      },
    });
    this.views = new HostViews(this.follower, { hostName: this.hostName, netnsPrefix: this.netnsPrefix, underlayIP: this.underlayIP });
    this.status = new EndpointStatusWriter(this.client, this.follower, this.log);
    this.clusterDomain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    this.attachHost = { name: this.hostName, netnsPrefix: this.netnsPrefix, clusterDomain: this.clusterDomain };
    // The attach path works on the router namespace's object and these parts of the agent, nothing else.
    this.service = new AgentAttachService(
      {
        host: this.attachHost,
        client: this.client,
        follower: this.follower,
        views: this.views,
        mutex: this.mutex,
        namespaces: this.namespaces,
        reconciler: this.reconciler,
        tables: this.enforcer,
        status: this.status,
        events: {
          reconcileSoon: () => this.scheduleReconcile(),
          detaching: (tenant, name) => this.reattacher.endpointDetaching(tenant, name),
        },
        log: this.log,
      },
      this,
    );
    this.reattacher = new Reattacher({
      netnsPrefix: this.netnsPrefix,
      mutex: this.mutex,
      log: this.log,
      tables: this.enforcer,
      views: this.views,
      namespaces: this.namespaces,
      status: this.status,
    });
    if ((options.flowRing ?? DEFAULT_RING) > 0) {
      if (flowdAvailable()) {
        this.flows = new FlowRecorder((netns) => this.flowContext(netns), options.log, options.flowRing ?? DEFAULT_RING);
        if (options.flowExport) {
          const exporter = new FlowExport(parseExportTarget(options.flowExport), options.log);
          this.flowExport = exporter;
          this.flows.onRecord = (record) => exporter.write(record);
        }
      } else options.log('warn', 'native/tenet-flowd is not built (make -C native): no flow or deny records', {});
    }
    this.traces = new TraceAgent({
      host: this.hostName,
      // A client of its own: the long poll is held up to 8 s, past the main client's idle timeout under load,
      // and a poll that times out must not move the follower and the heartbeats to another controller.
      client: new TenetClient({ servers: options.controller, token: options.token, ca: options.ca, timeoutMs: 30000 }),
      log: this.log,
      view: () => (this.follower.synced ? this.view() : undefined),
      // The whole table as committed (every producer's chains, so every hook is named; policy rules keep their origins).
      program: (netns) => this.namespaces.find(netns)?.table.programmed() ?? this.namespaces.find(netns)?.policy?.program,
      resync: (tenant) => this.resyncTenant(tenant),
    });
    this.resolvers = new TenantResolvers({
      domain: this.clusterDomain,
      dir: options.dnsDir,
      log: options.log,
      onExit: () => this.scheduleReconcile(1000),
    });
  }

  /** What healthz adds about reconciling: whether the first list succeeded and how many passes completed. */
  reconcileProgress(): { synced: boolean; passes: number; fullPasses: number; lastPassFailures: number; overlayMtu: number } {
    return { synced: this.follower.synced, ...this.progress, overlayMtu: this.views.overlayMtu };
  }

  /** The host view of what the follower holds; built once per change (views are never modified by their users). */
  view(): HostView {
    return this.views.view();
  }

  private currentProtection(): { veths: Set<string>; namespaces: Set<string> } {
    const veths = new Set<string>();
    const namespaces = new Set<string>();
    for (const ns of this.namespaces.values()) {
      const protectedVeths = ns.protectedVeths(this.follower.revision);
      for (const veth of protectedVeths) veths.add(veth);
      if (protectedVeths.length > 0) namespaces.add(ns.name);
    }
    return { veths, namespaces };
  }

  /**
   * After a fresh list (start, reconnect), first thing under the kernel lock: namespaces of tenants
   * deleted while this agent was away go before any pass or attach makes anything (stale-namespaces.ts).
   */
  private sweepStaleNamespaces(): void {
    const tenants = liveTenants(this.follower.list());
    void this.mutex
      .run(() => removeStaleNamespaces(tenants, { netnsPrefix: this.netnsPrefix, hostName: this.hostName, log: this.log }))
      .then((removed) => {
        for (const netns of removed) this.namespaces.find(netns)?.renew();
      })
      .catch((error: Error) => this.log('error', 'removing stale tenant namespaces failed', { error: error.message }));
  }

  /**
   * The overlay MTU follows the underlay device: a 9000-byte underlay gives containers 8950, an IPv6
   * underlay costs 20 bytes more than IPv4. Read once: the view (and every veth's MTU) depends on it.
   */
  private async findOverlayMtu(): Promise<void> {
    const family = parseIp(this.underlayIP)!.family;
    let underlay = this.options.underlayMtu;
    if (underlay === undefined) {
      underlay = await deviceMtuOf(this.underlayIP).catch((error: Error) => {
        this.log('warn', 'could not read the underlay device', { error: error.message });
        return undefined;
      });
      if (underlay === undefined)
        this.log('warn', 'no device holds the underlay address; assuming a 1500-byte underlay', { underlayIP: this.underlayIP });
    }
    this.views.overlayMtu = overlayMtu(underlay ?? 1500, family);
  }

  /** This host's IPv6 underlay address: the flag's, else the first global IPv6 address of the underlay device. */
  private underlayIPv6?: string;

  private async findUnderlayIPv6(): Promise<void> {
    const found =
      this.options.underlayIPv6 ??
      (await deviceIPv6Of(this.underlayIP).catch((error: Error) => {
        this.log('warn', 'could not read the underlay device for an IPv6 address', { error: error.message });
        return undefined;
      }));
    this.underlayIPv6 = found !== undefined ? canonicalIp(found) : undefined;
    this.views.underlayIPv6 = this.underlayIPv6;
  }

  async start(): Promise<void> {
    await this.findOverlayMtu();
    await this.findUnderlayIPv6();
    await this.learnClusterDomain();
    await this.resolvers.endLeftovers(this.netnsPrefix);
    const metricsRoutes = this.metrics.handler(async () => this.service.healthz());
    this.server = await startAttachServer(this.options.socketPath, this.service, this.log, metricsRoutes);
    if (this.options.metricsAddress) this.metricsServer = await startMetricsListener(this.options.metricsAddress, metricsRoutes);
    this.log('info', 'agent started', {
      underlayIP: this.underlayIP,
      overlayMtu: this.views.overlayMtu,
      socket: this.options.socketPath,
      netnsPrefix: this.netnsPrefix,
    });
    void this.register();
    this.follower.start();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs ?? 10000);
    this.heartbeatTimer.unref();
    this.resyncTimer = setInterval(() => this.periodicFullPass(), this.resyncMs);
    this.resyncTimer.unref();
    this.traces.start();
    if (this.flows) {
      this.flowPushTimer = setInterval(() => void this.pushFlows(), this.options.flowPushMs ?? 1000);
      this.flowPushTimer.unref();
    }
  }

  /** What a record of namespace `netns` is made with: its tenant as the view has it, and its compiled policy program. */
  private flowContext(netns: string): FlowContext | undefined {
    if (!this.follower.synced) return undefined;
    const tenant = this.view().tenants.find((t) => t.routerNamespace === netns);
    if (!tenant) return undefined;
    return { host: this.hostName, tenant, program: this.namespaces.find(netns)?.policy?.program };
  }

  /** Sends the records made since the last push to the controller (bounded batches; see FlowRecorder). */
  async pushFlows(): Promise<void> {
    if (!this.flows || !this.registered) return;
    await this.flows.push((batch) => this.client.request('POST', `/api/v1/hosts/${this.hostName}/flows`, batch).then(() => undefined));
  }

  /** A flow reader in every tenant namespace this agent programmed; readers of namespaces no longer wanted end. */
  private watchFlows(): void {
    if (this.stopped || !this.flows) return;
    const recorder = this.flows;
    for (const ns of this.namespaces.values()) {
      const wanted = ns.table.programmed() !== undefined && netnsExists(ns.name);
      if (!wanted) {
        ns.flows?.stop();
        ns.flows = undefined;
        recorder.forget(ns.name);
      } else if (!ns.flows || ns.flows.exited) {
        try {
          ns.flows = new FlowReader(ns.name, (netns, event) => recorder.event(netns, event), this.log);
        } catch (error) {
          this.log('warn', 'could not read the flows of a namespace', { netns: ns.name, error: (error as Error).message });
        }
      }
    }
  }

  /**
   * The controller names services under its --cluster-domain (GET /version says which): an agent
   * without --cluster-domain serves that domain; one given a different domain refuses to start (its
   * resolvers would answer names the services' status does not carry). A controller that does not
   * answer leaves the agent on its own setting (the default), and says so.
   */
  private async learnClusterDomain(): Promise<void> {
    let theirs: unknown;
    try {
      // A short timeout: an unreachable controller must not hold the agent's start (it serves attaches meanwhile).
      const quick = new TenetClient({ servers: this.options.controller, token: this.options.token, ca: this.options.ca, timeoutMs: 2000 });
      theirs = ((await quick.request('GET', '/version')) as { clusterDomain?: unknown }).clusterDomain;
    } catch (error) {
      this.log('warn', 'could not ask the controller for its cluster domain', {
        clusterDomain: this.clusterDomain,
        error: (error as Error).message,
      });
      return;
    }
    if (typeof theirs !== 'string' || theirs === this.clusterDomain) return;
    if (this.options.clusterDomain !== undefined) {
      throw new Error(
        `--cluster-domain ${this.options.clusterDomain} differs from the controller's cluster domain ${theirs}: they must agree (or leave --cluster-domain out to use the controller's)`,
      );
    }
    this.clusterDomain = assertClusterDomain(theirs);
    this.attachHost.clusterDomain = this.clusterDomain;
    this.resolvers.useDomain(this.clusterDomain);
    this.log('info', 'cluster domain from the controller', { clusterDomain: this.clusterDomain });
  }

  /** Stops following and serving; the kernel state stays as it is (traffic keeps flowing). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.follower.stop();
    this.monitor.stop();
    await this.traces.stop();
    for (const ns of this.namespaces.values()) ns.flows?.stop();
    this.flowExport?.close();
    for (const timer of [
      this.advertiseTimer,
      this.reconcileTimer,
      this.heartbeatTimer,
      this.resyncTimer,
      this.fullPassRetry,
      this.lingerTimer,
      this.flowPushTimer,
    ])
      if (timer) clearTimeout(timer);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    await this.mutex.run(async () => undefined);
    // Resolvers do not outlive the agent (a lab's processes all end with it); the next agent starts them again.
    await this.resolvers.stopAll();
    // Kernel state stays: a restarting agent must not interrupt established flows.
    await this.service.settled();
  }

  private hostObject(): Host {
    return { apiVersion: API_VERSION, kind: 'Host', metadata: { name: this.hostName }, spec: this.hostSpec() };
  }

  private hostSpec(): Host['spec'] {
    return { underlayIP: this.underlayIP, ...(this.underlayIPv6 ? { underlayIPv6: this.underlayIPv6 } : {}) };
  }

  private registering?: Promise<void>;

  /** Single flight: start() and the first connection both ask for it. */
  private register(): Promise<void> {
    this.registering ??= this.registerOnce().finally(() => (this.registering = undefined));
    return this.registering;
  }

  private async registerOnce(): Promise<void> {
    try {
      const existing = await this.client.find<Host>('Host', this.hostName);
      if (!existing) await this.client.create(this.hostObject() as unknown as TenetObject);
      else if (existing.spec.underlayIP !== this.underlayIP || existing.spec.underlayIPv6 !== this.underlayIPv6) {
        await this.client.update({ ...existing, spec: this.hostSpec() } as unknown as TenetObject);
      }
      this.registered = true;
      await this.heartbeat();
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        this.registered = false; // raced with ourselves after a restart; the next connection retries
      }
      this.log('warn', 'host registration failed; will retry', { error: (error as Error).message });
    }
  }

  private lastHits?: { policyHits: PolicyHitsReport[]; truncated: boolean; spoofDrops: SpoofDropReport[] };

  /**
   * The rule counters of every tenant namespace on this host (one read per namespace): policy rule
   * hits and antispoof drops per endpoint; the last ones again while the view is not synced.
   */
  private async policyHits(): Promise<{ policyHits?: PolicyHitsReport[]; policyHitsTruncated?: boolean; spoofDrops?: SpoofDropReport[] }> {
    if (this.follower.synced) {
      const perTenant: { tenant: string; hits: Map<string, Counters> }[] = [];
      const drops: { tenant: string; drops: Map<string, Counters> }[] = [];
      for (const tenant of this.view().tenants) {
        // A namespace without a table yet (or gone meanwhile) has nothing to count.
        const counters = await this.enforcer.counters(tenant.routerNamespace).catch(() => undefined);
        if (!counters) continue;
        perTenant.push({ tenant: tenant.name, hits: ruleHits(counters) });
        // The logging rules' counters before and after their limit: the exact count of what it held back.
        this.flows?.kernelCounts(tenant.routerNamespace, denyLogCounts(counters));
        const perInterface = await this.enforcer.setCounters(tenant.routerNamespace, ANTISPOOF_DROPS).catch(() => undefined);
        const endpointOf = new Map(tenant.endpoints.filter((e) => e.local && e.hostIfName).map((e) => [e.hostIfName!, e.name]));
        if (perInterface) drops.push({ tenant: tenant.name, drops: spoofDrops(perInterface, endpointOf) });
      }
      this.lastHits = { ...hostPolicyHits(perTenant), spoofDrops: hostSpoofDrops(drops) };
    }
    if (!this.lastHits) return {};
    return {
      policyHits: this.lastHits.policyHits,
      ...(this.lastHits.truncated ? { policyHitsTruncated: true } : {}),
      spoofDrops: this.lastHits.spoofDrops,
    };
  }

  /** Tenants whose service NAT this host has committed (a Service's status.realizedHosts counts the hosts listing its tenant). */
  private serviceTenants(): { serviceTenants?: string[] } {
    if (!this.follower.synced) return {};
    const programs = this.enforcer.programs();
    const tenants = this.view()
      .tenants.filter((t) => realizesServices(programs.get(t.routerNamespace)))
      .map((t) => t.name);
    return { serviceTenants: tenants.slice(0, MAX_REPORTED_TENANT_NAMESPACES) };
  }

  /** Writes the Host status with the current rule counters; public so a test or an embedding program can report at once. */
  async heartbeat(): Promise<void> {
    if (!this.registered) return void (this.follower.connected ? this.register() : undefined);
    try {
      const hits = await this.policyHits();
      // Read under the kernel lock: no pass or attach with a view older than this revision can still make a namespace.
      const carried = await this.mutex.run(async () => tenantNamespaceReport(this.netnsPrefix, this.follower.revision));
      const floatingIPs = await this.egress.advertised();
      const status = {
        heartbeatAt: new Date().toISOString(),
        ready: true,
        agentVersion: TENET_VERSION,
        ...hits,
        ...carried,
        ...this.serviceTenants(),
        floatingIPs,
      };
      await this.client.updateStatus('Host', this.hostName, undefined, status);
      this.lastStatus = status;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.registered = false;
      this.log('debug', 'heartbeat failed', { error: (error as Error).message });
    }
  }

  /** The Host status last written by a heartbeat: a report of advertised floating IPs writes it again with only those changed. */
  private lastStatus?: Record<string, unknown> & { floatingIPs: AdvertisedFloatingIP[] };
  private advertiseTimer?: NodeJS.Timeout;
  private advertiseDeadline = 0;

  /**
   * After a pass that changed what this host means to advertise: what it really advertises (read back
   * from BIRD, or the proxy entries made) is reported at once, and again every 500 ms until it matches
   * the intent (a BGP session still coming up) or 30 s have passed; the heartbeat keeps it fresh after.
   */
  private reportAdvertisedSoon(): void {
    this.advertiseDeadline = Date.now() + 30000;
    if (this.advertiseTimer || this.stopped) return;
    this.advertiseTimer = setTimeout(() => void this.reportAdvertised(), 50);
    this.advertiseTimer.unref();
  }

  private async reportAdvertised(): Promise<void> {
    let settled = false;
    try {
      const floatingIPs = await this.egress.advertised();
      const intended = [...this.egress.intended].map(([address, via]) => `${address} ${via}`).sort();
      settled = JSON.stringify(floatingIPs.map((f) => `${f.address} ${f.via}`).sort()) === JSON.stringify(intended);
      const last = this.lastStatus;
      if (last && this.registered && JSON.stringify(last.floatingIPs) !== JSON.stringify(floatingIPs)) {
        const status = { ...last, heartbeatAt: new Date().toISOString(), floatingIPs };
        await this.client.updateStatus('Host', this.hostName, undefined, status);
        this.lastStatus = status;
      }
    } catch (error) {
      this.log('debug', 'advertised floating IPs not reported', { error: (error as Error).message });
    } finally {
      this.advertiseTimer = undefined;
      if (!settled && !this.stopped && Date.now() < this.advertiseDeadline) {
        this.advertiseTimer = setTimeout(() => void this.reportAdvertised(), 500);
        this.advertiseTimer.unref();
      }
    }
  }

  /**
   * A pass soon after a change. When no attach is under way, 1 ms (it gathers the events of one read
   * from the watch stream; events that arrive while a pass runs fold into one rerun), so a new remote
   * endpoint's route is not held back. While attaches are under way, 10 ms: the watch event of an
   * attach's own endpoint arrives while it still needs the lock, and a pass then would hold it up.
   */
  scheduleReconcile(delayMs = this.namespaces.attachesInFlight() > 0 ? 10 : 1): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.rerun = true;
      return;
    }
    if (this.reconcileTimer) return;
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined;
      void this.reconcileNow();
    }, delayMs);
  }

  /** One pass: the kernel is changed only after the first successful list (an empty view would delete everything). */
  async reconcileNow(): Promise<void> {
    if (!this.follower.synced || this.stopped) return;
    this.reconciling = true;
    const seenAt = this.changeSeenAt;
    this.changeSeenAt = undefined;
    const startedAt = Date.now();
    try {
      const t0 = performance.now();
      const ms = (): number => Math.round((performance.now() - t0) * 10) / 10;
      const marks: Record<string, number> = {};
      // The view is taken under the lock: one taken before could predate an attach that ran meanwhile,
      // and its policy sync would then take the new endpoint's interface back out of the maps.
      const { view, report, protectedVeths, full } = await this.mutex.run(async () => {
        marks.locked = ms();
        const view = this.view();
        const { veths: protectedVeths, namespaces: protectedNamespaces } = this.currentProtection();
        const full = this.fullDue;
        this.fullDue = false;
        // After a start the tables go first: a missing table leaves its namespace unfiltered meanwhile.
        await this.enforcer.syncUnrecorded(view).catch((error: Error) => this.log('error', 'policy sync failed', { error: error.message }));
        marks.tables = ms();
        const report = await this.reconciler.reconcile(view, { protectedVeths, protectedNamespaces, full });
        marks.dataplane = ms();
        for (const netns of report.renewed) this.monitor.renewed(netns);
        const intendedBefore = this.egress.intended;
        await this.egress
          .sync(view, report.renewed, full)
          .catch((error: Error) => this.log('error', 'egress sync failed', { error: error.message }));
        if (!sameIntent(intendedBefore, this.egress.intended)) this.reportAdvertisedSoon();
        marks.kernel = ms();
        await this.enforcer.sync(view).catch((error: Error) => this.log('error', 'policy sync failed', { error: error.message }));
        marks.policy = ms();
        // Layer-2 floating IPs armed by this pass are announced only now that their DNAT is in place too.
        this.egress.announce();
        await this.resolvers.prune();
        await this.resolvers.sync(view, (netns, resolver) => (this.namespaces.get(netns).resolver = resolver));
        marks.dns = ms();
        this.watchTables();
        this.watchFlows();
        this.namespaces.prune();
        return { view, report, protectedVeths, full };
      });
      this.scheduleLingerPass(view);
      const lost = this.reattacher.lost(view, report.missing, protectedVeths);
      await this.writeStatuses(view, report.plumbed, report.problems, new Set([...protectedVeths, ...lost.map((ep) => ep.hostIfName!)]));
      marks.status = ms();
      if (lost.length > 0 && !this.stopped) await this.reattacher.repair(lost);
      this.progress.passes++;
      if (full) this.progress.fullPasses++;
      this.progress.lastPassFailures = report.failures.length;
      this.metrics.passes.inc({ full: String(full) });
      this.metrics.passDuration.observe(ms() / 1000);
      this.metrics.passFailures.set(report.failures.length);
      this.log('debug', 'reconciled', { full, changed: report.changed, ms: marks, seenAt, startedAt });
    } catch (error) {
      this.log('error', 'reconcile failed', { error: (error as Error).message });
    } finally {
      this.reconciling = false;
      if (this.rerun) {
        this.rerun = false;
        this.scheduleReconcile();
      }
    }
  }

  private get resyncMs(): number {
    return this.options.resyncMs ?? DEFAULT_RESYNC_MS;
  }

  /** When the periodic full pass fell due and has not run yet (it waits for a quiet moment). */
  private fullPassDueSince?: number;
  private fullPassRetry?: NodeJS.Timeout;
  /** Wall-clock time of the follower's last change. */
  private lastChangeAt = 0;

  /**
   * The periodic full pass (kernel read-back) waits while changes keep arriving, until RESYNC_QUIET_MS
   * pass without one, but never longer than one more period: a full pass holds the kernel lock for
   * 40-80 ms at 10,000 services, and a backend change arriving meanwhile waited for it (issue 12's
   * 20 ms p99). Changes come first; the audit of the kernel is at most one period late.
   */
  private periodicFullPass(): void {
    if (this.stopped || this.fullPassRetry) return;
    const now = Date.now();
    this.fullPassDueSince ??= now;
    if (now - this.lastChangeAt < RESYNC_QUIET_MS && now - this.fullPassDueSince < this.resyncMs) {
      this.fullPassRetry = setTimeout(() => {
        this.fullPassRetry = undefined;
        this.periodicFullPass();
      }, RESYNC_QUIET_MS);
      this.fullPassRetry.unref();
      return;
    }
    this.fullPassDueSince = undefined;
    this.fullDue = true;
    this.scheduleReconcile(0);
  }

  private lingerTimer?: NodeJS.Timeout;
  /** Wall-clock time of the first store change not yet taken by a pass. */
  private changeSeenAt?: number;

  /** A watcher for every namespace whose table this agent programmed and that still exists. */
  private watchTables(): void {
    if (this.stopped) return;
    const programmed = [...this.namespaces.values()]
      .filter((ns) => ns.table.programmed() !== undefined && netnsExists(ns.name))
      .map((ns) => ns.name);
    try {
      this.monitor.watchOnly(programmed);
    } catch (error) {
      this.log('warn', 'could not watch the nft tables', { error: (error as Error).message });
    }
  }

  /**
   * A watcher saw a rule, chain or the table go: if the table no longer matches the record (a hand
   * flush or delete), read it back and write it again at once, under the lock. Until then a flushed
   * table's base chains drop everything (their policy; src/core/policy/fail-closed.ts).
   */
  private async checkTable(netns: string): Promise<void> {
    const ns = this.namespaces.find(netns);
    if (!ns || this.stopped || (await ns.table.intact())) return;
    await this.mutex.run(async () => {
      if (this.stopped || (await ns.table.intact())) return;
      const tenant = this.view().tenants.find((t) => t.routerNamespace === netns);
      if (!tenant) return;
      this.log('warn', 'nft table changed behind the agent; repairing it', { netns });
      await this.enforcer
        .repair(this.view(), tenant.name)
        .catch((error: Error) => this.log('error', 'repairing the nft table failed', { netns, error: error.message }));
    });
  }

  /**
   * A trace found the kernel disagreeing with intent in this tenant's namespace: the next pass (now)
   * reads its table back and writes every chain again (NftTable.distrust; docs/observability.md).
   */
  private resyncTenant(tenant: string): void {
    if (!this.follower.synced) return;
    const netns = this.view().tenants.find((t) => t.name === tenant)?.routerNamespace;
    const ns = netns ? this.namespaces.find(netns) : undefined;
    if (!ns) return;
    this.log('warn', 'a trace found the nft table disagreeing with intent; rewriting it', { netns });
    ns.table.distrust();
    this.fullDue = true;
    this.scheduleReconcile(0);
  }

  /** A lingering tenant namespace is deleted by a pass: make sure one runs when its time is up. */
  private scheduleLingerPass(view: HostView): void {
    const wait = this.reconciler.lingerRemainingMs(view);
    if (wait === undefined || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.scheduleReconcile(0);
    }, wait + 20);
    this.lingerTimer.unref();
  }

  private async writeStatuses(
    view: HostView,
    plumbed: Set<string>,
    problems: Map<string, string>,
    protectedVeths: Set<string>,
  ): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const tenant of view.tenants) {
      for (const ep of tenant.endpoints) {
        if (!ep.local || (ep.hostIfName && protectedVeths.has(ep.hostIfName))) continue;
        const key = `${tenant.name}/${ep.name}`;
        const phase = plumbed.has(key) ? 'ready' : problems.has(key) ? 'error' : undefined;
        if (!phase) continue;
        const reason = phase === 'error' ? problems.get(key) : undefined;
        const current = (ep.object as Endpoint).status ?? {};
        if (
          current.phase === phase &&
          (current.reason ?? '') === (reason ?? '') &&
          (phase !== 'ready' || current.hostIfName === ep.hostIfName)
        )
          continue;
        if (!this.status.claim(tenant.name, ep.name, phase, reason)) continue;
        writes.push(this.status.write(tenant.name, ep.name, phase, reason, ep.hostIfName));
      }
    }
    await Promise.all(writes);
  }
}

/**
 * The attach API of this agent. Its healthz also says how far reconciling got, so a caller (the lab, a
 * test) can wait for a restarted agent's first full pass instead of sleeping.
 */
class AgentAttachService extends AttachService {
  constructor(
    parts: AttachParts,
    private readonly agent: Agent,
  ) {
    super(parts);
  }

  override async healthz(): Promise<{ ok: boolean; controllerReachable: boolean } & ReturnType<Agent['reconcileProgress']>> {
    return { ...(await super.healthz()), ...this.agent.reconcileProgress() };
  }

  override async attach(input: AttachRequest): Promise<AttachResult> {
    const end = this.agent.metrics.attachDuration.startTimer();
    try {
      const result = await super.attach(input);
      end({ outcome: 'ok' });
      return result;
    } catch (error) {
      end({ outcome: 'error' });
      throw error;
    }
  }
}

function sameIntent(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([address, via]) => b.get(address) === via);
}
