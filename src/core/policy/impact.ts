/**
 * Impact preview: which flows change verdict between two versions of the intent. Endpoints are
 * grouped into classes (same tenant, labels, scope, declared ports and the same answers to every
 * CIDR a rule names behave the same), and one representative pair per class pair is judged, in
 * each address family both ends have, on every port the policies of either version mention plus
 * one port no rule names per protocol (ICMP and ICMPv6 included). Verdicts come from compile + explain.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import type { TenetObject } from '../model/object';
import type { PolicyPort } from '../model/kinds/policy';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../net/ip';
import { endpointAddresses, type PolicyIntent } from './intent';
import { FlowJudge } from './flow';
import type { L4Name } from './program';

export interface FlowChange {
  tenant: string;
  from: string;
  to: string;
  /** How many endpoint pairs the representative stands for. */
  pairs: number;
  protocol: string;
  port?: number;
  before: boolean;
  after: boolean;
  /** Set when both ends have both families and only this one changes (e.g. a rule about IPv6 peers). */
  family?: 4 | 6;
}

const MAX_CLASSES = 200;
const FAMILIES = [4, 6] as const;

/** Every CIDR a rule of either version names (peers and their exceptions), in a fixed order. */
export function mentionedCidrs(intents: PolicyIntent[]): Cidr[] {
  const seen = new Map<string, Cidr>();
  for (const intent of intents) {
    for (const policy of [...intent.policies, ...intent.globalPolicies]) {
      for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])]) {
        for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
          for (const text of [peer.cidr, ...(peer.except ?? [])]) {
            const cidr = text === undefined ? undefined : parseCidr(text);
            if (cidr && text !== undefined) seen.set(text, cidr);
          }
        }
      }
    }
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, cidr]) => cidr);
}

/**
 * Endpoints alike under selectors can still differ under CIDR peers: which of the named CIDRs
 * hold each address is part of the class, else a representative outside an IPv6 block would
 * stand for endpoints inside it.
 */
export function classKey(endpoint: Endpoint, cidrs: Cidr[]): string {
  const labels = Object.entries(endpoint.metadata.labels ?? {}).sort();
  const inside = endpointAddresses(endpoint).map((text) => {
    const ip = parseIp(text);
    return ip ? cidrs.map((c, i) => (cidrContains(c, ip) ? i : -1)).filter((i) => i >= 0) : [];
  });
  return JSON.stringify([labels, endpoint.spec.scope ?? null, endpoint.spec.ports ?? [], inside]);
}

export function probePorts(intents: PolicyIntent[]): Array<{ protocol: L4Name; port?: number }> {
  const seen = new Map<string, { protocol: L4Name; port?: number }>();
  const add = (protocol: L4Name, port?: number) => seen.set(`${protocol}/${port ?? ''}`, { protocol, port });
  const visit = (port: PolicyPort, intent: PolicyIntent) => {
    const protocol = (port.protocol ?? 'TCP').toLowerCase() as L4Name;
    if (protocol === 'icmp' || protocol === 'icmpv6') return add(protocol);
    if (typeof port.port === 'number') {
      add(protocol, port.port);
      if (port.endPort !== undefined) add(protocol, port.endPort);
    } else if (typeof port.port === 'string') {
      for (const e of intent.endpoints)
        for (const p of e.spec.ports ?? []) if (p.name === port.port) add(p.protocol.toLowerCase() as L4Name, p.port);
    }
  };
  for (const intent of intents) {
    for (const policy of [...intent.policies, ...intent.globalPolicies]) {
      for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])])
        for (const port of rule.ports ?? []) visit(port, intent);
    }
  }
  // One port no rule names, per protocol, so "everything else" changes show too: a rule that
  // narrows "all ports" to TCP changes ICMP although no rule names ICMP.
  add('tcp', 65000);
  add('udp', 65000);
  add('sctp', 65000);
  add('icmp');
  add('icmpv6');
  return [...seen.values()];
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/** ICMP is IPv4's, ICMPv6 IPv6's; the others exist in both. */
export function protocolFits(protocol: L4Name, family: 4 | 6): boolean {
  return protocol === 'icmp' ? family === 4 : protocol === 'icmpv6' ? family === 6 : true;
}

export function previewImpact(before: PolicyIntent, after: PolicyIntent): FlowChange[] {
  const tenants = new Set([...before.endpoints, ...after.endpoints].map((e) => e.metadata.tenant ?? ''));
  const ports = probePorts([before, after]);
  const cidrs = mentionedCidrs([before, after]);
  const keyOf = (endpoint: Endpoint) => classKey(endpoint, cidrs);
  const changes: FlowChange[] = [];
  for (const tenant of [...tenants].filter(Boolean).sort()) {
    const judgeBefore = new FlowJudge(before, tenant);
    const judgeAfter = new FlowJudge(after, tenant);
    // Only endpoints present in both versions: a flow to something that does not exist has no verdict to change.
    const afterNames = new Set(after.endpoints.filter((e) => e.metadata.tenant === tenant).map((e) => e.metadata.name));
    const classes = new Map<string, { rep: Endpoint; count: number }>();
    for (const endpoint of before.endpoints) {
      if (endpoint.metadata.tenant !== tenant || !afterNames.has(endpoint.metadata.name) || endpointAddresses(endpoint).length === 0)
        continue;
      const key = keyOf(endpoint);
      const entry = classes.get(key);
      if (entry) entry.count++;
      else if (classes.size < MAX_CLASSES) classes.set(key, { rep: endpoint, count: 1 });
    }
    const reps = [...classes.values()];
    for (const a of reps) {
      for (const b of reps) {
        if (a === b && a.count < 2) continue;
        const dst =
          a === b ? before.endpoints.find((e) => e !== a.rep && e.metadata.tenant === tenant && keyOf(e) === keyOf(a.rep)) : b.rep;
        if (!dst) continue;
        const src = a.rep;
        const dstAfter = after.endpoints.find((e) => e.metadata.tenant === tenant && e.metadata.name === dst.metadata.name) ?? dst;
        const srcAfter = after.endpoints.find((e) => e.metadata.tenant === tenant && e.metadata.name === src.metadata.name) ?? src;
        // Each family both ends have is its own flow: a rule may speak of IPv6 peers only.
        const pairsByFamily = FAMILIES.map((family) => ({
          family,
          srcAddress: endpointAddresses(src).find((x) => familyOf(x) === family),
          dstAddress: endpointAddresses(dst).find((x) => familyOf(x) === family),
        })).filter(
          (f): f is { family: 4 | 6; srcAddress: string; dstAddress: string } => f.srcAddress !== undefined && f.dstAddress !== undefined,
        );
        const dualStack = pairsByFamily.length === 2;
        for (const { protocol, port } of ports) {
          const verdicts = pairsByFamily
            .filter(({ family }) => protocolFits(protocol, family))
            .map(({ family, srcAddress, dstAddress }) => ({
              family,
              was: judgeBefore.judge({ endpoint: src, address: srcAddress }, { endpoint: dst, address: dstAddress }, protocol, port)
                .allowed,
              now: judgeAfter.judge(
                { endpoint: srcAfter, address: srcAddress },
                { endpoint: dstAfter, address: dstAddress },
                protocol,
                port,
              ).allowed,
            }));
          const changed = verdicts.filter((v) => v.was !== v.now);
          if (changed.length === 0) continue;
          // One line when every family changes alike; a line per family otherwise.
          const alike = changed.length === verdicts.length && changed.every((v) => v.was === changed[0].was);
          for (const v of alike ? [changed[0]] : changed) {
            changes.push({
              tenant,
              from: src.metadata.name,
              to: dst.metadata.name,
              pairs: a === b ? a.count * (a.count - 1) : a.count * b.count,
              protocol,
              port,
              before: v.was,
              after: v.now,
              ...(dualStack && !alike && protocol !== 'icmp' && protocol !== 'icmpv6' ? { family: v.family } : {}),
            });
          }
        }
      }
    }
  }
  return changes;
}

export function describeChange(change: FlowChange): string {
  const what = `${change.protocol}${change.port !== undefined ? `/${change.port}` : ''}${change.family ? ` over IPv${change.family}` : ''}`;
  const more = change.pairs > 1 ? ` (and ${change.pairs - 1} similar endpoint pairs)` : '';
  return `${change.tenant}: ${change.from} -> ${change.to} ${what}: ${change.before ? 'allowed' : 'denied'} -> ${change.after ? 'allowed' : 'denied'}${more}`;
}

/** The kinds whose objects can change a verdict (endpoints cannot be applied). */
const POLICY_KINDS: ReadonlySet<string> = new Set(['Tenant', 'Scope', 'Group', 'Network', 'Policy', 'GlobalPolicy']);

/** The objects of an apply that bear on policy. */
export function policyRelevant(objects: readonly TenetObject[]): TenetObject[] {
  return objects.filter((o) => POLICY_KINDS.has(o.kind));
}

/** Tenants whose flows an apply may change: the ones its objects name, or every tenant when a GlobalPolicy is among them. */
export function impactTenants(relevant: readonly TenetObject[], allTenants: readonly string[]): string[] {
  if (relevant.some((o) => o.kind === 'GlobalPolicy')) return [...allTenants].sort();
  const named = relevant.map((o) => (o.kind === 'Tenant' ? o.metadata.name : o.metadata.tenant)).filter((t): t is string => !!t);
  return [...new Set(named)].sort();
}

/** One tenant's intent with the applied objects laid over it (an object of the same kind and name is replaced). */
export function overlayIntent(before: PolicyIntent, relevant: readonly TenetObject[], tenant: string): PolicyIntent {
  const mine = (o: TenetObject) => o.kind === 'GlobalPolicy' || o.kind === 'Tenant' || o.metadata.tenant === tenant;
  const over = <T extends { metadata: { name: string } }>(current: T[], kind: TenetObject['kind']): T[] => {
    const incoming = relevant.filter((o) => o.kind === kind && mine(o)) as unknown[] as T[];
    const names = new Set(incoming.map((o) => o.metadata.name));
    return [...current.filter((o) => !names.has(o.metadata.name)), ...incoming];
  };
  return {
    tenants: over(before.tenants, 'Tenant'),
    scopes: over(before.scopes, 'Scope'),
    groups: over(before.groups, 'Group'),
    networks: over(before.networks, 'Network'),
    policies: over(before.policies, 'Policy'),
    globalPolicies: over(before.globalPolicies, 'GlobalPolicy'),
    endpoints: before.endpoints,
    ...(before.hosts ? { hosts: before.hosts } : {}),
  };
}
