/**
 * Egress (docs/external.md): the fourth producer of a router namespace's table (source NAT to the
 * tenant's transit address and what may use the transit link; pure part src/core/egress/egress.ts),
 * and the transit links themselves with the host namespace's own egress table (masquerade to the
 * underlay, isolation of the links), which belong to no router namespace.
 */
import fs from 'node:fs';
import {
  EGRESS_LINK,
  egressProgram,
  egressTransit,
  HOST_TABLE,
  HOST_TRANSIT_LINK_REGEX,
  hostEgressProgram,
  TRANSIT_GATEWAY,
  TRANSIT_GATEWAY6,
  type EgressTransit,
} from '../core/egress/egress';
import { IFNAME_REGEX } from '../core/model/names';
import type { HostView } from '../core/dataplane/host-view';
import type { NftProgram } from '../core/policy/program';
import { renderProgram } from '../core/policy/render';
import { ipBatch, ipJsonBatch } from '../kernel/ip';
import { run } from '../kernel/exec';
import type { Log } from '../core/log';
import type { TableProducer } from './nft/programmer';
import type { RouterNamespace } from './router-namespace';
import type { BgpSpeaker } from './bgp';
import { egressAddressPlan, type EgressAddressPlan } from '../core/egress/egress-address';
import { EgressTunnels } from './egress-tunnels';
import { MAX_REPORTED_FLOATING_IPS, type AdvertisedFloatingIP } from '../core/model/kinds/host';

const lastFragments = new WeakMap<RouterNamespace, { key: string; program: NftProgram }>();

export const egressProducer: TableProducer = {
  name: 'egress',
  fragment(ns, view, tenant) {
    const transit = egressTransit(view, tenant);
    const key = JSON.stringify(transit ?? null);
    const last = lastFragments.get(ns);
    if (last?.key === key) return last.program;
    const program = egressProgram(transit);
    lastFragments.set(ns, { key, program });
    return program;
  },
  reset(ns) {
    lastFragments.delete(ns);
  },
};

/** The transit links of the tenants that egress from this host, and the host's egress table. */
export class EgressLinks {
  /** Per tenant: the transit as last made without failures. */
  private made = new Map<string, EgressTransit>();
  private tableText?: string;
  /** Layer-2 floating IPs this host answers ARP for: address -> underlay device. */
  private answering = new Map<string, string>();
  private underlayDevice?: string;
  private readonly tunnels: EgressTunnels;

  constructor(
    private readonly log: Log,
    /** Announces the floating IPs bound here (absent: the agent runs without --bgp-peer). */
    private readonly bgp?: BgpSpeaker,
  ) {
    this.tunnels = new EgressTunnels(log);
  }

  /** `renewed`: router namespaces made or deleted again (their link end went with them). `full`: check the kernel. */
  async sync(view: HostView, renewed: readonly string[], full: boolean): Promise<void> {
    const t0 = Date.now();
    this.stages = {};
    const transits = view.tenants.map((t) => egressTransit(view, t)).filter((t): t is EgressTransit => t !== undefined);
    for (const transit of transits) if (renewed.includes(transit.routerNamespace)) this.made.delete(transit.tenant);
    const wanted = new Map(transits.map((t) => [t.hostLink, t]));
    const previous = new Map(this.made);
    const before = (t: EgressTransit): EgressTransit | undefined => previous.get(t.tenant);
    const changed = transits.filter((t) => full || before(t) === undefined || linkSignature(before(t)!) !== linkSignature(t));
    const dropped = [...previous.keys()].filter((tenant) => !transits.some((t) => t.tenant === tenant));
    if (changed.length > 0 || dropped.length > 0) {
      // Only addresses moved on links this agent made and that are still there (a floating IP's
      // cut-over): no need to list the host's links or read their routes, which would hold back the move.
      const quick = !full && dropped.length === 0 && changed.every((t) => sameLink(before(t), t));
      const present = quick ? undefined : await this.hostLinks();
      const stale = present?.filter((name) => !wanted.has(name)) ?? [];
      if (stale.length > 0) {
        this.log('info', 'removing egress transit links', { links: stale });
        await ipBatch(
          stale.map((name) => `link del ${name}`),
          { force: true },
        );
      }
      for (const tenant of dropped) this.made.delete(tenant);
      for (const transit of changed) {
        this.made.delete(transit.tenant);
        try {
          await this.makeLink(transit, present ? present.includes(transit.hostLink) : true, quick ? before(transit) : undefined);
          this.made.set(transit.tenant, transit);
        } catch (error) {
          this.log('warn', 'egress transit link failed', { tenant: transit.tenant, error: (error as Error).message });
        }
      }
    }
    this.stages.links = Date.now() - t0;
    // Egress addresses (docs/external.md, "Egress address"): tunnels to the holders, the holder's ends.
    const addresses = egressAddressPlan(view, transits);
    await this.tunnels
      .sync(addresses, view.overlayMtu, full)
      .catch((error: Error) => this.log('error', 'egress tunnels failed', { error: error.message }));
    this.stages.tunnels = Date.now() - t0;
    await this.syncTable(transits, addresses, full, view.underlayIP, view.underlayIPv6);
    this.stages.table = Date.now() - t0;
    await this.syncLayer2(view, transits, full).catch((error: Error) =>
      this.log('error', 'layer-2 floating IPs failed', { error: error.message }),
    );
    const announced = transits.flatMap((t) => t.floating.filter((f) => f.advertise === 'bgp').map((f) => f.address));
    this.intended = new Map([
      ...(this.bgp ? announced.map((a) => [a, 'bgp'] as const) : []),
      ...transits.flatMap((t) => t.floating.filter((f) => f.advertise === 'l2').map((f) => [f.address, 'l2'] as const)),
    ]);
    if (this.bgp) {
      // Floating IPs bound here and the addresses of this host's endpoints in routed networks (/32 each:
      // the upstream sends each address to the host of its endpoint, so replies leave where they entered),
      // and the egress addresses this host holds.
      const advertised = [...announced, ...transits.flatMap((t) => t.routedEndpoints), ...addresses.held];
      await this.bgp
        .sync(advertised, view.underlayIPv6)
        .catch((error: Error) => this.log('error', 'BGP configuration failed', { error: error.message }));
    }
  }

  /** What the last pass meant to advertise (address -> how): the agent reports until what is advertised matches it. */
  intended = new Map<string, 'bgp' | 'l2'>();

  /**
   * What this host really advertises, checked: layer-2 addresses whose proxy entry is in place, and the
   * routes BIRD exports on an Established session (read from BIRD). Sorted by address.
   */
  async advertised(): Promise<AdvertisedFloatingIP[]> {
    const out: AdvertisedFloatingIP[] = [...this.answering.keys()].map((address) => ({ address, via: 'l2' }));
    const bgp = this.bgp ? await this.bgp.advertised().catch(() => new Set<string>()) : new Set<string>();
    for (const address of bgp) if (!this.answering.has(address)) out.push({ address, via: 'bgp' });
    return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)).slice(0, MAX_REPORTED_FLOATING_IPS);
  }

  /**
   * `advertise: l2`: the host answers ARP for the floating IPs bound here on its underlay device (a proxy
   * entry; the address is routed to the tenant's transit link) and tells the segment at once with
   * gratuitous ARP, so neighbours' caches move with a cut-over instead of waiting for them to expire.
   */
  private async syncLayer2(view: HostView, transits: readonly EgressTransit[], full: boolean): Promise<void> {
    const wanted = new Set(transits.flatMap((t) => t.floating.filter((f) => f.advertise === 'l2').map((f) => f.address)));
    if (wanted.size === 0 && this.answering.size === 0) return;
    const dev = (this.underlayDevice ??= await this.findUnderlayDevice(view.underlayIP));
    if (!dev) throw new Error(`no device holds the underlay address ${view.underlayIP ?? '?'}`);
    const gone = [...this.answering.keys()].filter((a) => !wanted.has(a));
    const added = [...wanted].filter((a) => full || !this.answering.has(a));
    if (gone.length + added.length === 0) return;
    const result = await ipBatch(
      [...gone.map((a) => `neigh del proxy ${a} dev ${dev}`), ...added.map((a) => `neigh replace proxy ${a} dev ${dev}`)],
      { force: true },
    );
    for (const a of gone) {
      this.answering.delete(a);
      this.unannounced.delete(a);
    }
    if (added.length > 0 && IFNAME_REGEX.test(dev)) {
      // The kernel delays its proxy answers to broadcast requests by a random part of proxy_delay (0.8 s
      // by default, meant for hosts that proxy for others who might answer themselves): a neighbour whose
      // entry expired or that missed the gratuitous ARP would wait that long for this host's answer.
      fs.writeFileSync(`/proc/sys/net/ipv4/neigh/${dev}/proxy_delay`, '0');
    }
    const failed = new Set(result.failures.map((f) => f.command.split(' ')[3]));
    for (const a of added) if (!failed.has(a)) this.answering.set(a, dev);
    // IPv6: the kernel answers neighbour solicitations for a proxy entry only with proxy_ndp and forwarding on the device.
    if ([...wanted].some((a) => a.includes(':')) && /^[A-Za-z0-9_.-]{1,15}$/.test(dev)) {
      fs.writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/proxy_ndp`, '1');
      fs.writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1');
    }
    // Wall-clock stage stamps of a cut-over (bench/external.ts lines them up with the outside's capture).
    this.log('info', 'layer-2 floating IPs', {
      answering: added.filter((a) => !failed.has(a)),
      stopped: gone,
      full,
      at: Date.now(),
      stages: this.stages,
    });
    // Only for addresses new here: a full pass re-asserts the entries without shouting on the segment.
    for (const a of added.filter((x) => !failed.has(x) && !gone.includes(x))) {
      if (full && this.announcedOnce.has(a)) continue;
      this.announcedOnce.add(a);
      this.unannounced.set(a, dev);
    }
    for (const a of this.announcedOnce) if (!wanted.has(a)) this.announcedOnce.delete(a);
    if (result.failures.length > 0) throw new Error(result.failures.map((f) => `"${f.command}": ${f.message}`).join('; '));
  }

  private announcedOnce = new Set<string>();
  /** Layer-2 floating IPs armed by this pass whose gratuitous ARP waits for `announce` (with their device). */
  private unannounced = new Map<string, string>();

  /**
   * The gratuitous ARPs of the layer-2 floating IPs armed by this pass. The agent calls it once the pass
   * has also programmed the router namespaces (the floating IP's DNAT), so that the first connection the
   * segment sends here after the announcement finds the whole path, not a route into a namespace that
   * does not translate it yet.
   */
  announce(): void {
    if (this.unannounced.size === 0) return;
    // arping binds its probe socket to the address it announces, which is not local here (it is routed
    // to the tenant): the host must allow binding non-local addresses once layer-2 floating IPs exist.
    fs.writeFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', '1');
    for (const [address, dev] of this.unannounced) {
      if (address.includes(':')) {
        // Unsolicited neighbour advertisements (override flag, our MAC as target link-layer address) to
        // all nodes: neighbours' caches move with the binding (na6, Debian ipv6toolkit). Not awaited.
        void run('na6', ['-i', dev, '-d', 'ff02::1', '-t', address, '-o', '-e'], { allowFailure: true, timeoutMs: 3000 })
          .then(() => run('na6', ['-i', dev, '-d', 'ff02::1', '-t', address, '-o', '-e'], { allowFailure: true, timeoutMs: 3000 }))
          .catch(() => undefined);
        continue;
      }
      // Not awaited: the pass (under the agent's lock) does not wait the second arping takes.
      void run('arping', ['-U', '-c', '2', '-w', '1', '-I', dev, address], { allowFailure: true, timeoutMs: 3000 }).catch(() => undefined);
    }
    this.log('info', 'gratuitous ARP', { addresses: [...this.unannounced.keys()], at: Date.now() });
    this.unannounced.clear();
  }
  /** ms into this pass's sync at which each stage ended (logged with a layer-2 change). */
  private stages: Record<string, number> = {};

  private async findUnderlayDevice(address: string | undefined): Promise<string | undefined> {
    if (!address) return undefined;
    const [links] = await ipJsonBatch(['addr show']);
    const link = (links as { ifname?: string; addr_info?: { local?: string }[] }[]).find((l) =>
      (l.addr_info ?? []).some((a) => a.local === address),
    );
    return link?.ifname;
  }

  private async hostLinks(): Promise<string[]> {
    const [links] = await ipJsonBatch(['link show type veth']);
    return (links as { ifname?: string }[]).map((l) => l.ifname ?? '').filter((name) => HOST_TRANSIT_LINK_REGEX.test(name));
  }

  /** `made`: the same link as last made by this agent (only its addresses changed): its routes are known, its tenant end is set. */
  private async makeLink(transit: EgressTransit, exists: boolean, made?: EgressTransit): Promise<void> {
    const { hostLink, routerNamespace, transitIP } = transit;
    if (!exists) {
      this.log('info', 'creating egress transit link', { tenant: transit.tenant, link: hostLink, transit: transitIP });
      // A leftover tenant end (its host end renamed or moved by hand) would block the pair.
      await ipBatch([`link del ${EGRESS_LINK}`], { netns: routerNamespace, force: true });
      await ipBatch([`link add ${hostLink} type veth peer name ${EGRESS_LINK} netns ${routerNamespace}`]);
    }
    // Forwarding is what egress asks of the host; it is switched on only once a tenant egresses here.
    fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    const v6 = transit.transitIP6;
    if (v6) fs.writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1');
    const floating4 = transit.floating.filter((f) => f.family === 4);
    const floating6 = v6 ? transit.floating.filter((f) => f.family === 6) : [];
    // The link's routes: its transit addresses, the floating IPs bound here and the local routed endpoints;
    // any other goes (a floating IP moved away, an endpoint deleted, a network no longer routed).
    const wantedRoutes = new Set([
      ...[transitIP, ...floating4.map((f) => f.address), ...transit.routedEndpoints].map((a) => `${a}/32`),
      ...(v6 ? [v6, ...floating6.map((f) => f.address)].map((a) => `${a}/128`) : []),
    ]);
    // A link this agent made and still has: its routes are the ones it wrote (no need to read them back).
    const known = made ? linkAddresses(made).map((dst) => ({ dst })) : undefined;
    const [routes] = known ? [known] : exists ? await ipJsonBatch([`route show dev ${hostLink}`]) : [[]];
    const [routes6] = known ? [known] : exists ? await ipJsonBatch([`route show dev ${hostLink}`], { family: 6 }) : [[]];
    const stale = [
      ...(routes as { dst?: string }[])
        .map((r) => (r.dst && !r.dst.includes('/') ? `${r.dst}/32` : (r.dst ?? '')))
        .filter((dst) => /^[0-9.]+\/32$/.test(dst) && !wantedRoutes.has(dst)),
      ...(routes6 as { dst?: string }[])
        .map((r) => (r.dst && !r.dst.includes('/') ? `${r.dst}/128` : (r.dst ?? '')))
        .filter((dst) => /^[0-9a-f:]+\/128$/.test(dst) && !wantedRoutes.has(dst)),
    ];
    const host = await ipBatch(
      [
        ...stale.map((dst) => `route del ${dst} dev ${hostLink}`),
        `link set ${hostLink} up`,
        `addr replace ${TRANSIT_GATEWAY}/32 dev ${hostLink}`,
        `route replace ${transitIP}/32 dev ${hostLink}`,
        // Through the transit address: the router namespace answers ARP for that one only.
        ...floating4.map((f) => `route replace ${f.address}/32 via ${transitIP} dev ${hostLink}`),
        ...transit.routedEndpoints.map((a) => `route replace ${a}/32 via ${transitIP} dev ${hostLink}`),
        ...(v6
          ? [
              `addr replace ${TRANSIT_GATEWAY6}/64 dev ${hostLink} nodad`,
              `route replace ${v6}/128 dev ${hostLink}`,
              ...floating6.map((f) => `route replace ${f.address}/128 via ${v6} dev ${hostLink}`),
            ]
          : []),
      ],
      { force: true },
    );
    if (made) {
      if (host.failures.length > 0) throw new Error(host.failures.map((f) => `"${f.command}": ${f.message}`).join('; '));
      return;
    }
    const tenant = await ipBatch(
      [
        `link set ${EGRESS_LINK} up`,
        `addr replace ${transitIP}/32 dev ${EGRESS_LINK}`,
        `route replace default via ${TRANSIT_GATEWAY} dev ${EGRESS_LINK} onlink`,
        // NAT66: the IPv6 transit address, the default route to the host's link-local end.
        ...(v6 ? [`addr replace ${v6}/128 dev ${EGRESS_LINK} nodad`, `route replace ::/0 via ${TRANSIT_GATEWAY6} dev ${EGRESS_LINK}`] : []),
      ],
      { netns: routerNamespace, force: true },
    );
    const failures = [...host.failures, ...tenant.failures];
    if (failures.length > 0) throw new Error(failures.map((f) => `"${f.command}": ${f.message}`).join('; '));
  }

  /** The host's egress table, written whole (one atomic replace) when it changed or on a full pass; deleted when no tenant egresses. */
  private async syncTable(
    transits: readonly EgressTransit[],
    addresses: EgressAddressPlan,
    full: boolean,
    underlayIP: string | undefined,
    underlayIPv6: string | undefined,
  ): Promise<void> {
    const needed = transits.length > 0 || addresses.tunnels.length > 0;
    const text = needed ? renderProgram(hostEgressProgram(transits, addresses, underlayIP, underlayIPv6)) : '';
    if (text === this.tableText && !full) return;
    try {
      if (text) await run('nft', ['-f', '-'], { input: text });
      else await run('nft', ['delete', 'table', 'inet', HOST_TABLE], { allowFailure: true });
      this.tableText = text;
    } catch (error) {
      this.tableText = undefined;
      this.log('error', 'host egress table failed', { error: (error as Error).message });
    }
  }
}

/** The addresses routed to a transit link: its transit address, floating IPs and local routed endpoints. */
function linkAddresses(transit: EgressTransit): string[] {
  return [
    transit.transitIP,
    ...(transit.transitIP6 ? [transit.transitIP6] : []),
    ...transit.floating.map((f) => f.address),
    ...transit.routedEndpoints,
  ];
}

function sameLink(made: EgressTransit | undefined, transit: EgressTransit): boolean {
  return (
    made !== undefined &&
    made.hostLink === transit.hostLink &&
    made.routerNamespace === transit.routerNamespace &&
    made.transitIP === transit.transitIP
  );
}

function linkSignature(transit: EgressTransit): string {
  return `${transit.hostLink}|${transit.routerNamespace}|${transit.transitIP}|${transit.floating.map((f) => f.address).join(',')}|${transit.routedEndpoints.join(',')}`;
}
