/**
 * Egress NAT: how a tenant's endpoints reach the world outside the cluster (docs/external.md). Pure.
 *
 * Two tenants may use the same addresses on one host, so their connections must never meet in one
 * connection tracking table under the same tuple. Conntrack is per network namespace: each tenant's
 * connections are first source-translated **inside its own router namespace** to a transit address
 * unique on the host (from the tenant's VNI), and leave through a per-tenant veth (`eg0` in the router
 * namespace, `tg<hash>` in the host's). The host then masquerades the transit addresses to its
 * underlay address. Replies are un-NATed twice, each time in the namespace that made the entry.
 *
 * Policy judges in the router namespace's forward hook, before any NAT (postrouting): CIDR peers see
 * the destination as the endpoint sent it and the endpoint's own source address.
 *
 * Every name of the router namespace's fragment starts with `eg_` (the producer's own, src/agent/egress.ts).
 */
import { createHash } from 'node:crypto';
import type { HostView, TenantView } from '../dataplane/host-view';
import type { GlobalPolicy } from '../model/kinds/policy';
import { selectorMatches } from '../model/selectors';
import { canonicalIp, cidrContains, formatIp, parseCidr, parseIp } from '../net/ip';
import { TABLE_NAME, type NftProgram, type NftRule } from '../policy/program';
import { RANDOM_SLOT, serviceSlotElements } from '../services/compile';
import { isRoutedNetwork, ROUTED_RESERVED } from './routed';
import type { EgressAddressPlan } from './egress-address';

/** The tenant end of the transit link, in the router namespace. */
export const EGRESS_LINK = 'eg0';
/** The host end's name: `tg` + 12 hex digits (a-z0-9, 14 characters: within IFNAMSIZ). */
export const HOST_TRANSIT_LINK_REGEX = /^tg[0-9a-f]{12}$/;
/** The host end's address, the same on every transit link: the router namespace's next hop. */
export const TRANSIT_GATEWAY = '169.254.0.1';
/** Transit addresses: one per tenant, 100.64.0.0/10 (shared address space, RFC 6598) + VNI. */
export const TRANSIT_RANGE = '100.64.0.0/10';
const TRANSIT_BASE = 0x64400000; // 100.64.0.0
const TRANSIT_SIZE = 1 << 22;
/**
 * IPv6 (NAT66, the same two steps as IPv4): the tenant's IPv6 transit address is this ULA /96 plus its
 * VNI (unique while VNIs are, no modulo), and the host end's next hop is its link-local fe80::1.
 */
export const TRANSIT6_RANGE = 'fd74:656e:6574::/96';
const TRANSIT6_BASE = 0xfd74656e657400000000000000000000n;
export const TRANSIT_GATEWAY6 = 'fe80::1';

export const EGRESS_NAMES = {
  filter: 'eg_filter',
  snat: 'eg_snat',
  hosts: 'eg_hosts4',
  dnat: 'eg_dnat',
  floating: 'eg_fip4',
  /** Floating IPs bound to a service, and their slot map (the service NAT's shape: src/core/services/compile.ts). */
  floatingServices: 'eg_fipsvc4',
  floatingSlots: 'eg_fipslots4',
  /** Routed subnets (docs/external.md, "Routed networks"): in and out by their own addresses, no NAT. */
  routed: 'eg_routed4',
  hosts6: 'eg_hosts6',
  floating6: 'eg_fip6',
  floatingServices6: 'eg_fipsvc6',
  floatingSlots6: 'eg_fipslots6',
} as const;

/** Before service DNAT (-100): a floating IP's connection is translated to its endpoint first. */
export const FLOATING_DNAT_PRIORITY = -110;

/** Just before the policy program (forward, 0): what may use the transit link at all. */
export const EGRESS_FILTER_PRIORITY = -5;
/** After service hairpin SNAT (100). */
export const EGRESS_SNAT_PRIORITY = 110;

/**
 * A floating IP bound on this host: to a local endpoint (`target` its address), or to a service with
 * ready backends here (`slots`: the service NAT's slot elements over the local backends, keyed by the
 * floating IP). A service's floating IP enters only where a backend is local and lands only on local
 * backends, so replies leave by the host the connection came in by.
 */
export interface FloatingBinding {
  name: string;
  address: string;
  family: 4 | 6;
  /** `endpoint/NAME` or `service/NAME`. */
  bound: string;
  target?: string;
  slots?: Record<string, string>;
  advertise: 'bgp' | 'l2';
}

/**
 * One tenant's way in and out on this host: the transit link and its addresses, what may leave through
 * it (egress) and which floating IPs enter through it. Present when the tenant egresses or holds a
 * floating IP bound here.
 */
export interface EgressTransit {
  tenant: string;
  /** The tenant may start connections to the outside (spec.egress). */
  egress: boolean;
  floating: FloatingBinding[];
  routerNamespace: string;
  hostLink: string;
  transitIP: string;
  /** IPv4 subnets (canonical CIDRs) whose endpoints may egress. */
  sources: string[];
  /** IPv4 subnets of routed networks (spec.routed): reached from outside by their own addresses, leave untranslated. */
  routed: string[];
  /** The IPv4 addresses of this host's endpoints in routed networks: announced (BGP /32s) and routed to the transit link. */
  routedEndpoints: string[];
  /** Every IPv4 subnet of the tenant: never sent out (an unknown address of its own stays inside). */
  ownSubnets: string[];
  /** Host addresses the tenant's endpoints may not reach: every host's underlay address and the transit gateway, less those a GlobalPolicy opens. */
  closedHostAddresses: string[];
  /** Host addresses a GlobalPolicy's allow rule opens to this tenant (hostSelector peers). */
  openHostAddresses: string[];
  /** The tenant's IPv6 transit address: present when it has an IPv6 subnet (IPv6 egress, IPv6 floating IPs). */
  transitIP6?: string;
  /** IPv6 subnets whose endpoints may egress; every IPv6 subnet of the tenant; the host IPv6 addresses closed and open to it. */
  sources6: string[];
  ownSubnets6: string[];
  closedHostAddresses6: string[];
  openHostAddresses6: string[];
}

export function hostTransitLink(tenant: Pick<TenantView, 'name' | 'uid'>): string {
  return `tg${createHash('sha256').update(`${tenant.name}|${tenant.uid}`).digest('hex').slice(0, 12)}`;
}

/** The tenant's transit address: unique on every host while VNIs differ modulo 2^22 (VNIs are handed out from 4096 up). */
export function transitAddress(vni: number): string {
  const offset = (vni % (TRANSIT_SIZE - 2)) + 1; // never the /10's network or broadcast address
  return formatIp({ family: 4, value: BigInt(TRANSIT_BASE + offset) });
}

/** The tenant's IPv6 transit address (TRANSIT6_RANGE + VNI). */
export function transitAddress6(vni: number): string {
  return formatIp({ family: 6, value: TRANSIT6_BASE + BigInt(vni) });
}

/** Hosts a GlobalPolicy's allow egress rule names with a hostSelector for this tenant (its `tenants` list permitting). */
function openedHosts(view: HostView, tenant: TenantView): Set<string> {
  const open = new Set<string>();
  for (const policy of view.globalPolicies as GlobalPolicy[]) {
    for (const rule of policy.spec.egress ?? []) {
      if (rule.action !== 'allow') continue;
      for (const peer of rule.to ?? []) {
        if (!peer.hostSelector) continue;
        if (peer.tenants && !peer.tenants.includes(tenant.name)) continue;
        if (peer.tenantSelector && !selectorMatches(peer.tenantSelector, tenant.labels)) continue;
        for (const host of view.hosts)
          if (selectorMatches(peer.hostSelector, host.labels)) {
            open.add(host.underlayIP);
            if (host.underlayIPv6) open.add(host.underlayIPv6);
          }
      }
    }
  }
  return open;
}

const isV4 = (address: string | undefined): address is string => address !== undefined && parseIp(address)?.family === 4;
const isV6 = (address: string | undefined): address is string => address !== undefined && parseIp(address)?.family === 6;

/** The tenant's floating IPs bound to an endpoint or a service backend of this host (sorted by address). */
export function localFloatingBindings(view: HostView, tenant: TenantView): FloatingBinding[] {
  const out: FloatingBinding[] = [];
  const localEndpoints = tenant.endpoints.filter((e) => e.local);
  for (const fip of tenant.floatingIPs) {
    const address = fip.status?.address;
    const target = fip.spec.target;
    if (!address || !target) continue;
    const family = parseIp(address)?.family;
    if (family === undefined) continue;
    const pool = view.floatingIPPools.find((p) => p.metadata.name === fip.status?.pool);
    const base = {
      name: fip.metadata.name,
      address: canonicalIp(address) ?? address,
      family,
      advertise: pool?.spec.advertise ?? 'bgp',
    } as const;
    // Targets are looked up in the FloatingIP's own tenant alone: a tenant can bind only what is its own.
    // An IPv6 floating IP lands on the target's IPv6 address, an IPv4 one on its IPv4 address.
    if (target.endpoint !== undefined) {
      const endpoint = tenant.endpoints.find((e) => e.name === target.endpoint);
      const ip = canonicalIp((family === 4 ? endpoint?.ipv4 : endpoint?.ipv6) ?? '');
      if (endpoint?.local && ip) out.push({ ...base, bound: `endpoint/${endpoint.name}`, target: ip });
    } else if (target.service !== undefined) {
      const service = tenant.services.find((x) => x.metadata.name === target.service);
      const vip = service?.status?.virtualIPs?.map((ip) => canonicalIp(ip)).find((ip) => (family === 4 ? isV4(ip) : isV6(ip)));
      if (!service || !vip) continue;
      const elements = serviceSlotElements({ name: tenant.name, endpoints: localEndpoints }, service, family);
      if (Object.keys(elements).length === 0) continue;
      const slots: Record<string, string> = {};
      for (const [key, value] of Object.entries(elements)) slots[`${base.address}${key.slice(key.indexOf(' . '))}`] = value;
      out.push({ ...base, bound: `service/${service.metadata.name}`, slots });
    }
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/**
 * Whether a routed endpoint's address may be announced and routed into its tenant here: never a host's
 * underlay address, reserved space or a floating IP pool's address (the controller refuses such routed
 * networks; this holds even for a host that joined, or a pool made, after the network was routed).
 */
function routable(view: HostView, address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  if (view.hosts.some((h) => h.underlayIP === address) || view.underlayIP === address) return false;
  const inside = (cidr: string): boolean => {
    const c = parseCidr(cidr);
    return c !== undefined && c.family === ip.family && cidrContains(c, ip);
  };
  return !ROUTED_RESERVED.some((r) => inside(r.cidr)) && !view.floatingIPPools.some((p) => p.spec.cidrs.some(inside));
}

/** The tenant's way in and out on this host, or undefined when it needs none (no egress right and no floating IP here, or no VNI yet). */
export function egressTransit(view: HostView, tenant: TenantView): EgressTransit | undefined {
  const egress = tenant.object.spec.egress;
  const floating = localFloatingBindings(view, tenant);
  const routedNetworks = new Set(tenant.networks.filter((n) => isRoutedNetwork(tenant.object, n.name)).map((n) => n.name));
  const routedEndpoints = [
    ...new Set(
      tenant.endpoints
        .filter((e) => e.local && routedNetworks.has(e.network) && isV4(e.ipv4) && routable(view, e.ipv4))
        .map((e) => e.ipv4!),
    ),
  ].sort();
  if ((!egress && floating.length === 0 && routedEndpoints.length === 0) || tenant.vni === undefined) return undefined;
  const allowed = egress?.networks ? new Set(egress.networks) : undefined;
  const v4 = (cidrs: string[]): string[] => [...new Set(cidrs)].sort();
  const subnets = tenant.networks.flatMap((n) => n.subnets.filter((s) => s.family === 4).map((s) => ({ network: n.name, cidr: s.cidr })));
  const routed = v4(subnets.filter((s) => routedNetworks.has(s.network)).map((s) => s.cidr));
  const subnets6 = tenant.networks.flatMap((n) => n.subnets.filter((s) => s.family === 6).map((s) => ({ network: n.name, cidr: s.cidr })));
  const open = openedHosts(view, tenant);
  const hostAddresses = new Set([
    TRANSIT_GATEWAY,
    ...view.hosts.flatMap((h) => [h.underlayIP, ...(h.underlayIPv6 ? [h.underlayIPv6] : [])]),
    ...(view.underlayIP ? [view.underlayIP] : []),
    ...(view.underlayIPv6 ? [view.underlayIPv6] : []),
  ]);
  const canonical = [...hostAddresses].map((a) => canonicalIp(a) ?? a).filter(isV4);
  const canonical6 = [...hostAddresses].map((a) => canonicalIp(a) ?? a).filter(isV6);
  const open6 = new Set([...open].map((a) => canonicalIp(a) ?? a));
  return {
    tenant: tenant.name,
    egress: egress !== undefined,
    floating,
    routerNamespace: tenant.routerNamespace,
    hostLink: hostTransitLink(tenant),
    transitIP: transitAddress(tenant.vni),
    // Routed subnets leave by their own addresses (eg_routed4, no NAT): they are not NAT sources.
    sources: egress
      ? v4(subnets.filter((s) => (!allowed || allowed.has(s.network)) && !routedNetworks.has(s.network)).map((s) => s.cidr))
      : [],
    routed,
    routedEndpoints,
    ownSubnets: v4(subnets.map((s) => s.cidr)),
    closedHostAddresses: [...new Set(canonical.filter((a) => !open.has(a)))].sort(),
    openHostAddresses: [...new Set(canonical.filter((a) => open.has(a)))].sort(),
    ...(subnets6.length > 0 ? { transitIP6: transitAddress6(tenant.vni) } : {}),
    sources6: egress ? v4(subnets6.filter((s) => !allowed || allowed.has(s.network)).map((s) => s.cidr)) : [],
    ownSubnets6: v4(subnets6.map((s) => s.cidr)),
    closedHostAddresses6: [...new Set(canonical6.filter((a) => !open6.has(a)))].sort(),
    openHostAddresses6: [...new Set(canonical6.filter((a) => open6.has(a)))].sort(),
  };
}

const familyOf = (cidr: string): 4 | 6 => (cidr.includes(':') ? 6 : 4);

const out = (): { kind: 'ifname'; field: 'oifname'; name: string } => ({ kind: 'ifname', field: 'oifname', name: EGRESS_LINK });
const inn = (): { kind: 'ifname'; field: 'iifname'; name: string } => ({ kind: 'ifname', field: 'iifname', name: EGRESS_LINK });

/**
 * The router namespace's egress fragment: which sources may use the transit link, which destinations
 * never (the tenant's own subnets, closed host addresses), nothing enters through it but replies, and
 * the source NAT to the transit address. Empty without egress: no `eg0` rule, no NAT hook.
 */
export function egressProgram(transit: EgressTransit | undefined): NftProgram {
  const program: NftProgram = { family: 'inet', table: TABLE_NAME, sets: [], maps: [], chains: [], interfaces: {} };
  if (!transit) return program;
  program.sets.push({ name: EGRESS_NAMES.hosts, type: 'ipv4_addr', interval: false, elements: transit.closedHostAddresses });
  program.sets.push({ name: EGRESS_NAMES.routed, type: 'ipv4_addr', interval: true, elements: transit.routed });
  const routedAddr = (field: 'saddr' | 'daddr'): { kind: 'addr'; family: 4; field: 'saddr' | 'daddr'; set: string } => ({
    kind: 'addr',
    family: 4,
    field,
    set: EGRESS_NAMES.routed,
  });
  const v6 = transit.transitIP6 !== undefined;
  if (v6) program.sets.push({ name: EGRESS_NAMES.hosts6, type: 'ipv6_addr', interval: false, elements: transit.closedHostAddresses6 });
  const filter: NftRule[] = [
    // The outside posing as one of the tenant's own addresses would be judged by policy as that endpoint.
    ...transit.ownSubnets.map((cidr): NftRule => ({
      matches: [inn(), { kind: 'saddrIs', family: 4, address: cidr }],
      verdict: { kind: 'drop' },
      comment: `outside spoofing own subnet ${cidr}`,
    })),
    { matches: [inn(), { kind: 'ct', states: ['established', 'related'] }], verdict: { kind: 'accept' }, comment: 'egress replies' },
    // A floating IP's connection was translated to its endpoint in prerouting: policy judges it next.
    { matches: [inn(), { kind: 'ctDnat' }], verdict: { kind: 'accept' }, comment: 'floating ip in' },
    // The host routes only its local routed endpoints' addresses here: policy judges the connection next.
    { matches: [inn(), routedAddr('daddr')], verdict: { kind: 'accept' }, comment: 'routed in' },
    { matches: [inn()], verdict: { kind: 'drop' }, comment: 'egress nothing starts from outside' },
    { matches: [out(), { kind: 'ct', states: ['established', 'related'] }], verdict: { kind: 'accept' }, comment: 'floating ip replies' },
    {
      matches: [out(), { kind: 'addr', family: 4, field: 'daddr', set: EGRESS_NAMES.hosts }],
      verdict: { kind: 'drop' },
      comment: 'egress closed host address',
    },
    ...(v6
      ? [
          {
            matches: [out(), { kind: 'addr', family: 6, field: 'daddr', set: EGRESS_NAMES.hosts6 }],
            verdict: { kind: 'drop' },
            comment: 'egress closed host address6',
          } satisfies NftRule,
        ]
      : []),
    ...[...transit.ownSubnets, ...(v6 ? transit.ownSubnets6 : [])].map((cidr): NftRule => ({
      matches: [out(), { kind: 'daddrIs', family: familyOf(cidr), address: cidr }],
      verdict: { kind: 'drop' },
      comment: `egress own subnet ${cidr}`,
    })),
    ...[...transit.sources, ...(v6 ? transit.sources6 : [])].map((cidr): NftRule => ({
      matches: [out(), { kind: 'saddrIs', family: familyOf(cidr), address: cidr }],
      verdict: { kind: 'accept' },
      comment: `egress source ${cidr}`,
    })),
    { matches: [out(), routedAddr('saddr')], verdict: { kind: 'accept' }, comment: 'routed out' },
    { matches: [out()], verdict: { kind: 'drop' }, comment: 'egress not granted' },
  ];
  program.chains.push(
    { name: EGRESS_NAMES.filter, base: { hook: 'forward', priority: EGRESS_FILTER_PRIORITY, policy: 'accept' }, rules: filter },
    {
      name: EGRESS_NAMES.snat,
      base: { hook: 'postrouting', type: 'nat', priority: EGRESS_SNAT_PRIORITY, policy: 'accept' },
      rules: [
        { matches: [out(), routedAddr('saddr')], verdict: { kind: 'accept' }, comment: 'routed leaves untranslated' },
        // The transit address is eg0's only one: a fixed SNAT says the same as masquerade without its
        // per-connection lookup of the interface's address.
        {
          matches: [out(), { kind: 'family', family: 4 }],
          effects: [{ kind: 'snat', family: 4, address: transit.transitIP }],
          comment: 'egress nat to the transit address',
        },
        // NAT66, first step: eg0's IPv6 transit address (the host's prerouting admits only it and floating IPs).
        ...(transit.transitIP6
          ? [
              {
                matches: [out(), { kind: 'family' as const, family: 6 as const }],
                effects: [{ kind: 'snat' as const, family: 6 as const, address: transit.transitIP6 }],
                comment: 'egress nat66 to the transit address',
              },
            ]
          : []),
      ],
    },
  );
  const floating4 = transit.floating.filter((f) => f.family === 4);
  const floating6 = transit.floating.filter((f) => f.family === 6);
  const dnatRules: NftRule[] = [];
  if (transit.floating.length > 0) {
    const toEndpoints = floating4.filter((f) => f.target !== undefined);
    const toServices = floating4.filter((f) => f.slots !== undefined);
    // The slot elements are keyed 1..SLOTS (service NAT's ct-mark slots): the same random slot as a VIP picks.
    const tuple = `ip daddr . meta l4proto . th dport . ${RANDOM_SLOT}`;
    program.sets.push({
      name: EGRESS_NAMES.floatingServices,
      type: 'ipv4_addr',
      interval: false,
      elements: toServices.map((f) => f.address),
    });
    program.maps.push(
      {
        name: EGRESS_NAMES.floating,
        typeof: 'ip daddr : ip daddr',
        elements: Object.fromEntries(toEndpoints.map((f) => [f.address, f.target!])),
      },
      {
        name: EGRESS_NAMES.floatingSlots,
        typeof: `${tuple} : ip daddr . th dport`,
        elements: Object.assign({}, ...toServices.map((f) => f.slots!)) as Record<string, string>,
      },
    );
    dnatRules.push(
      {
        matches: [inn(), { kind: 'addr', family: 4, field: 'daddr', set: EGRESS_NAMES.floatingServices }],
        effects: [{ kind: 'natMap', nat: 'dnat', family: 4, withPort: true, key: tuple, map: EGRESS_NAMES.floatingSlots }],
        comment: 'floating ip to a service backend',
      },
      {
        matches: [inn()],
        effects: [{ kind: 'natMap', nat: 'dnat', family: 4, withPort: false, key: 'ip daddr', map: EGRESS_NAMES.floating }],
        comment: 'floating ip to its endpoint',
      },
    );
  }
  if (floating6.length > 0) {
    const toEndpoints = floating6.filter((f) => f.target !== undefined);
    const toServices = floating6.filter((f) => f.slots !== undefined);
    const tuple = `ip6 daddr . meta l4proto . th dport . ${RANDOM_SLOT}`;
    program.sets.push({
      name: EGRESS_NAMES.floatingServices6,
      type: 'ipv6_addr',
      interval: false,
      elements: toServices.map((f) => f.address),
    });
    program.maps.push(
      {
        name: EGRESS_NAMES.floating6,
        typeof: 'ip6 daddr : ip6 daddr',
        elements: Object.fromEntries(toEndpoints.map((f) => [f.address, f.target!])),
      },
      {
        name: EGRESS_NAMES.floatingSlots6,
        typeof: `${tuple} : ip6 daddr . th dport`,
        elements: Object.assign({}, ...toServices.map((f) => f.slots!)) as Record<string, string>,
      },
    );
    dnatRules.push(
      {
        matches: [inn(), { kind: 'addr', family: 6, field: 'daddr', set: EGRESS_NAMES.floatingServices6 }],
        effects: [{ kind: 'natMap', nat: 'dnat', family: 6, withPort: true, key: tuple, map: EGRESS_NAMES.floatingSlots6 }],
        comment: 'floating ip6 to a service backend',
      },
      {
        matches: [inn(), { kind: 'family', family: 6 }],
        effects: [{ kind: 'natMap', nat: 'dnat', family: 6, withPort: false, key: 'ip6 daddr', map: EGRESS_NAMES.floating6 }],
        comment: 'floating ip6 to its endpoint',
      },
    );
  }
  if (dnatRules.length > 0)
    program.chains.push({
      name: EGRESS_NAMES.dnat,
      base: { hook: 'prerouting', type: 'nat', priority: FLOATING_DNAT_PRIORITY, policy: 'accept' },
      rules: dnatRules,
    });
  return program;
}

/**
 * Egress addresses (./egress-address.ts) in the host's table: the holder translates what arrives by a
 * tenant's tunnel, and its local tenant's transit address, to the tenant's egress address, and lets
 * nothing start a connection to that address; a sender translates what it sends into a tunnel to its
 * own underlay address; a tenant whose holder is unknown gets nothing out.
 */
function addEgressAddressRules(program: NftProgram, plan: EgressAddressPlan): void {
  const holding = plan.tunnels.filter((t) => !t.sender);
  const sending = plan.tunnels.filter((t) => t.sender);
  program.sets.push(
    { name: 'egress_held', type: 'ipv4_addr', interval: false, elements: plan.held },
    { name: 'egress_blocked', type: 'ipv4_addr', interval: false, elements: plan.blocked },
  );
  program.maps.push(
    { name: 'egress_in', typeof: 'iifname : ip saddr', elements: Object.fromEntries(holding.map((t) => [`"${t.name}"`, t.address])) },
    { name: 'egress_local', typeof: 'ip saddr : ip saddr', elements: plan.local },
    {
      name: 'egress_out',
      typeof: 'oifname : ip saddr',
      elements: plan.underlayIP ? Object.fromEntries(sending.map((t) => [`"${t.name}"`, plan.underlayIP!])) : {},
    },
  );
  const forward = program.chains.find((c) => c.name === 'forward')!;
  forward.rules.unshift(
    {
      matches: [{ kind: 'addr', family: 4, field: 'daddr', set: 'egress_held' }],
      verdict: { kind: 'drop' },
      comment: 'egress address nothing in',
    },
    {
      matches: [{ kind: 'addr', family: 4, field: 'saddr', set: 'egress_blocked' }, TG_NOT_OUT],
      verdict: { kind: 'drop' },
      comment: 'egress address holder unknown',
    },
  );
  const postrouting = program.chains.find((c) => c.name === 'postrouting')!;
  postrouting.rules.unshift(
    {
      matches: [{ kind: 'ifname', field: 'iifname', name: 'tx*' }],
      effects: [{ kind: 'natMap', nat: 'snat', family: 4, withPort: false, key: 'iifname', map: 'egress_in' }],
      comment: 'egress address from a tunnel',
    },
    {
      matches: [TG_NOT_OUT],
      effects: [{ kind: 'natMap', nat: 'snat', family: 4, withPort: false, key: 'ip saddr', map: 'egress_local' }],
      comment: 'egress address here',
    },
    {
      matches: [{ kind: 'ifname', field: 'oifname', name: 'tx*' }],
      effects: [{ kind: 'natMap', nat: 'snat', family: 4, withPort: false, key: 'oifname', map: 'egress_out' }],
      comment: 'egress address tunnel from this host',
    },
  );
}

/** The host namespace's own table (not a router namespace's): masquerade, isolation of the transit links. */
export const HOST_TABLE = 'tenet_egress';
const HOST_LINKS = 'links';
const HOST_OPEN = 'open';
const HOST_FLOATING = 'floating';
const HOST_ROUTED = 'routed';
const TG: { kind: 'ifname'; field: 'iifname'; name: string } = { kind: 'ifname', field: 'iifname', name: 'tg*' };
const TG_OUT: { kind: 'ifname'; field: 'oifname'; name: string } = { kind: 'ifname', field: 'oifname', name: 'tg*' };
const TG_NOT_OUT = { kind: 'ifname', field: 'oifname', name: 'tg*', negate: true } as const;

/**
 * The host's egress table for every tenant with egress here:
 * - a transit link sends only its own transit address (antispoofing of the second hop);
 * - transit links never talk to each other; nothing from outside starts a connection into one;
 * - the host's own addresses answer a transit link only where a GlobalPolicy opened them to that tenant;
 * - everything else from a transit address leaves masqueraded to the output interface's address.
 */
export function hostEgressProgram(
  transits: readonly EgressTransit[],
  addresses?: EgressAddressPlan,
  underlayIP?: string,
  underlayIPv6?: string,
): NftProgram {
  const program: NftProgram = { family: 'inet', table: HOST_TABLE, sets: [], maps: [], chains: [], interfaces: {} };
  const floating = (t: EgressTransit, family: 4 | 6): FloatingBinding[] => t.floating.filter((f) => f.family === family);
  program.sets.push(
    {
      name: HOST_LINKS,
      type: 'ifname . ipv4_addr',
      interval: false,
      // A link sends from its transit address, its floating IPs (the replies of connections that came in by
      // them) and its local routed endpoints' own addresses (no NAT).
      elements: transits
        .flatMap((t) => [
          `${t.hostLink} . ${t.transitIP}`,
          ...floating(t, 4).map((f) => `${t.hostLink} . ${f.address}`),
          ...t.routedEndpoints.map((a) => `${t.hostLink} . ${a}`),
        ])
        .sort(),
    },
    {
      name: HOST_ROUTED,
      type: 'ifname . ipv4_addr',
      interval: false,
      elements: transits.flatMap((t) => t.routedEndpoints.map((a) => `${t.hostLink} . ${a}`)).sort(),
    },
    {
      name: HOST_FLOATING,
      type: 'ifname . ipv4_addr',
      interval: false,
      elements: transits.flatMap((t) => floating(t, 4).map((f) => `${t.hostLink} . ${f.address}`)).sort(),
    },
    // IPv6: the same three sets (a set holds one family).
    {
      name: `${HOST_LINKS}6`,
      type: 'ifname . ipv6_addr',
      interval: false,
      elements: transits
        .flatMap((t) =>
          t.transitIP6 ? [`${t.hostLink} . ${t.transitIP6}`, ...floating(t, 6).map((f) => `${t.hostLink} . ${f.address}`)] : [],
        )
        .sort(),
    },
    {
      name: `${HOST_FLOATING}6`,
      type: 'ifname . ipv6_addr',
      interval: false,
      elements: transits.flatMap((t) => floating(t, 6).map((f) => `${t.hostLink} . ${f.address}`)).sort(),
    },
    {
      name: `${HOST_OPEN}6`,
      type: 'ifname . ipv6_addr',
      interval: false,
      elements: transits.flatMap((t) => (t.transitIP6 ? t.openHostAddresses6.map((a) => `${t.hostLink} . ${a}`) : [])).sort(),
    },
    {
      name: HOST_OPEN,
      type: 'ifname . ipv4_addr',
      interval: false,
      elements: transits.flatMap((t) => t.openHostAddresses.map((a) => `${t.hostLink} . ${a}`)).sort(),
    },
  );
  const accept = { kind: 'accept' } as const;
  const drop = { kind: 'drop' } as const;
  program.chains.push(
    {
      name: 'prerouting',
      base: { hook: 'prerouting', priority: -300, policy: 'accept' },
      rules: [
        {
          matches: [TG, { kind: 'lookup', keys: ['iifname', 'ip saddr'], set: HOST_LINKS, negate: true }],
          verdict: drop,
          comment: 'transit spoofed',
        },
        // Neighbour discovery between the router namespace's eg0 and the host (link-local sources, which
        // are never forwarded): the router namespace's own kernel, not a container.
        { matches: [TG, { kind: 'saddrIs', family: 6, address: 'fe80::/10' }], verdict: accept, comment: 'transit link-local' },
        {
          matches: [TG, { kind: 'lookup', keys: ['iifname', 'ip6 saddr'], set: `${HOST_LINKS}6`, negate: true }],
          verdict: drop,
          comment: 'transit spoofed6',
        },
      ],
    },
    {
      name: 'forward',
      base: { hook: 'forward', priority: 0, policy: 'accept' },
      rules: [
        { matches: [TG_OUT, { kind: 'ct', states: ['established', 'related'] }], verdict: accept, comment: 'transit replies' },
        // A floating IP bound here, from the outside or from a tenant's transit link (a tenant egressing to
        // another's public address: postrouting takes it to the host's own address, as if from outside).
        { matches: [{ kind: 'lookup', keys: ['oifname', 'ip daddr'], set: HOST_FLOATING }], verdict: accept, comment: 'floating ip in' },
        {
          matches: [{ kind: 'lookup', keys: ['oifname', 'ip6 daddr'], set: `${HOST_FLOATING}6` }],
          verdict: accept,
          comment: 'floating ip6 in',
        },
        { matches: [TG, TG_OUT], verdict: drop, comment: 'transit to transit' },
        { matches: [{ kind: 'lookup', keys: ['oifname', 'ip daddr'], set: HOST_ROUTED }], verdict: accept, comment: 'routed in' },
        { matches: [TG_OUT], verdict: drop, comment: 'transit nothing starts from outside' },
      ],
    },
    {
      name: 'input',
      base: { hook: 'input', priority: 0, policy: 'accept' },
      rules: [
        { matches: [TG, { kind: 'ct', states: ['established', 'related'] }], verdict: accept, comment: 'transit replies' },
        {
          matches: [TG, { kind: 'lookup', keys: ['iifname', 'ip daddr'], set: HOST_OPEN }],
          verdict: accept,
          comment: 'host opened by policy',
        },
        {
          matches: [TG, { kind: 'lookup', keys: ['iifname', 'ip6 daddr'], set: `${HOST_OPEN}6` }],
          verdict: accept,
          comment: 'host opened by policy6',
        },
        // Neighbour discovery of the transit gateway fe80::1 (the router namespace's kernel solicits it
        // from the transit address or its link-local one); nothing else of ICMPv6.
        { matches: [TG, { kind: 'ndp' }], verdict: accept, comment: 'transit neighbour discovery' },
        { matches: [TG], verdict: drop, comment: 'host closed to tenants' },
      ],
    },
    {
      name: 'postrouting',
      base: { hook: 'postrouting', type: 'nat', priority: 100, policy: 'accept' },
      rules: [
        {
          matches: [
            { kind: 'saddrIs', family: 4, address: TRANSIT_RANGE },
            { kind: 'ifname', field: 'oifname', name: 'tg*', negate: true },
          ],
          effects: [{ kind: 'masquerade' }],
          comment: 'egress masquerade',
        },
        // From one transit link to a floating IP behind another (or the same): source NAT to the host's
        // underlay address, what the target sees of a client on another host, so its policy (CIDR peers)
        // judges it as outside traffic and its replies return here. Nothing of the client tenant is seen.
        ...(underlayIP !== undefined && parseIp(underlayIP)?.family === 4
          ? [
              {
                matches: [
                  { kind: 'saddrIs', family: 4, address: TRANSIT_RANGE },
                  { kind: 'lookup', keys: ['oifname', 'ip daddr'], set: HOST_FLOATING },
                ],
                effects: [{ kind: 'snat', family: 4, address: underlayIP }],
                comment: 'floating ip from a transit link',
              } satisfies NftRule,
            ]
          : []),
        // IPv6 (NAT66): the same two rules for the tenants' IPv6 transit addresses.
        {
          matches: [
            { kind: 'saddrIs', family: 6, address: TRANSIT6_RANGE },
            { kind: 'ifname', field: 'oifname', name: 'tg*', negate: true },
          ],
          effects: [{ kind: 'masquerade' }],
          comment: 'egress masquerade6',
        },
        ...(underlayIPv6 !== undefined && parseIp(underlayIPv6)?.family === 6
          ? [
              {
                matches: [
                  { kind: 'saddrIs', family: 6, address: TRANSIT6_RANGE },
                  { kind: 'lookup', keys: ['oifname', 'ip6 daddr'], set: `${HOST_FLOATING}6` },
                ],
                effects: [{ kind: 'snat', family: 6, address: underlayIPv6 }],
                comment: 'floating ip6 from a transit link',
              } satisfies NftRule,
            ]
          : []),
      ],
    },
  );
  if (addresses && (addresses.tunnels.length > 0 || Object.keys(addresses.local).length > 0 || addresses.blocked.length > 0))
    addEgressAddressRules(program, addresses);
  return program;
}
