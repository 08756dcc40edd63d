/**
 * The policy compiler: intent -> per tenant router namespace, an nft program.
 *
 * Shape of the program (see docs/policy.md):
 *  - base chain `egress` (forward, priority 0) then `ingress` (forward, priority 1);
 *    each starts `ct state established,related accept`, `ct state invalid drop`, then
 *    dispatches by interface through a verdict map into the endpoint's *profile chain*.
 *    An `accept` ends one base chain only, so the egress verdict of the source and the
 *    ingress verdict of the destination are both taken; a `drop` is final.
 *  - a profile chain is shared by every endpoint to which the same policies apply; it
 *    jumps to the policy chains tier by tier and ends with isolation / the default.
 *  - a policy chain holds the policy's rules of one direction (tenant-tier: deny chain
 *    and allow chain), matching peers through sets.
 * Rules therefore grow with policies x rules (+ profiles x applicable policies); an
 * endpoint joining changes only set elements and one map element.
 *
 * The tenant-wide part (sets, policy chains, who-applies-to-whom) is computed once per
 * tenant and shared by every host's program.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import type { Peer, PolicyPort, Rule } from '../model/kinds/policy';
import { selectorKey, type LabelSelector } from '../model/selectors';
import { formatCidr, parseCidr } from '../net/ip';
import {
  comparePolicies,
  DEFAULT_PRIORITY,
  endpointAddresses,
  isolatedDirections,
  policiesForTenant,
  policyLabel,
  policyTier,
  TenantIntent,
  type AnyPolicy,
  type PolicyIntent,
} from './intent';
import {
  EGRESS_BASE,
  EGRESS_MAP,
  INGRESS_BASE,
  INGRESS_MAP,
  namedPortSetName,
  peerSetName,
  policyChainName,
  profileChainName,
  stableHash,
} from './names';
import {
  L4_NUMBER,
  PASS_MARK,
  TABLE_NAME,
  type Direction,
  type L4Name,
  type Match,
  type NftChain,
  type NftProgram,
  type NftRule,
  type NftSet,
  type RuleOrigin,
  type TierName,
} from './program';
import { cidrMinus, rangeElement } from './ranges';
import { ruleMarkId } from './flow-mark';
import { DENY_LOG_LIMIT, defaultDenyLogPrefix, denyLogRule, isolationLogPrefix, NFLOG_GROUP, ruleLogPrefix } from './deny-log';

export const BASELINE_PASS_MARK = 0x02000000;
export const DIRECTIONS: Direction[] = ['egress', 'ingress'];

export interface PeerSetDef {
  key: string;
  names: Record<4 | 6, string>;
  comment: string;
  /** Member sets follow endpoints; address sets (cidr, network) are fixed by intent. */
  members?: (endpoint: Endpoint) => boolean;
  elements: Record<4 | 6, Set<string>>;
  interval: boolean;
}

interface PolicyDirection {
  /** Tenant tier: the policy isolates this direction for the endpoints it applies to. */
  isolates: boolean;
  /** Chains to jump to, in order (tenant tier: deny part then allow part; other tiers: one). */
  denyChain?: string;
  allowChain?: string;
  chain?: string;
}

export interface CompiledPolicy {
  policy: AnyPolicy;
  tier: TierName;
  label: string;
  dirs: Record<Direction, PolicyDirection>;
}

/** Everything about one tenant that does not depend on the host. */
export interface CompiledTenant {
  view: TenantIntent;
  defaultAction: 'allow' | 'deny';
  peerSets: Map<string, PeerSetDef>;
  namedPorts: Map<string, Record<4 | 6, Set<string>>>;
  policies: CompiledPolicy[];
  policyChains: NftChain[];
  /** Endpoint name -> policies that apply to it (sorted). */
  appliesTo: Map<string, CompiledPolicy[]>;
  /** Sorted set contents shared by every host's program; dropped when membership changes. */
  sortedSets?: NftSet[];
}

export interface HostSelection {
  /** Endpoints whose interface is local: undefined = every endpoint of the tenant (a single virtual host). */
  host?: string;
  /** Interface of a local endpoint; default: status.hostIfName, else a stable synthetic name. */
  interfaceOf?: (endpoint: Endpoint) => string | undefined;
}

export function syntheticInterface(endpoint: Endpoint): string {
  return `ep${stableHash(`${endpoint.metadata.tenant}/${endpoint.metadata.name}`).slice(0, 11)}`;
}

// ---------------------------------------------------------------- selection index

/** Label index over a tenant's endpoints so a selector visits only plausible candidates. */
class EndpointIndex {
  private readonly byLabel = new Map<string, Endpoint[]>();
  constructor(readonly all: Endpoint[]) {
    for (const endpoint of all) {
      for (const [k, v] of Object.entries(endpoint.metadata.labels ?? {})) {
        const key = `${k}=${v}`;
        let list = this.byLabel.get(key);
        if (!list) this.byLabel.set(key, (list = []));
        list.push(endpoint);
      }
    }
  }
  candidates(selector: LabelSelector | undefined): Endpoint[] {
    let best: Endpoint[] = this.all;
    for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) {
      const list = this.byLabel.get(`${k}=${v}`) ?? [];
      if (list.length < best.length) best = list;
    }
    return best;
  }
}

// ---------------------------------------------------------------- tenant-wide part

export function compileTenant(intent: PolicyIntent, tenantName: string): CompiledTenant {
  const view = new TenantIntent(intent, tenantName);
  const index = new EndpointIndex(view.endpoints);
  const compiled: CompiledTenant = {
    view,
    defaultAction: view.tenant.spec.defaultPolicy ?? 'allow',
    peerSets: new Map(),
    namedPorts: new Map(),
    policies: [],
    policyChains: [],
    appliesTo: new Map(),
  };
  for (const endpoint of view.endpoints) compiled.appliesTo.set(endpoint.metadata.name, []);
  const policies = policiesForTenant(intent, view).sort((a, b) => {
    const order: Record<TierName, number> = { admin: 0, tenant: 1, baseline: 2 };
    return order[policyTier(a)] - order[policyTier(b)] || comparePolicies(a, b);
  });
  for (const policy of policies) {
    const cp = compilePolicy(compiled, index, policy);
    compiled.policies.push(cp);
    const a = policy.spec.appliesTo;
    const selectorForIndex = a.selector ?? (a.group !== undefined ? view.group(a.group)?.spec.selector : undefined);
    for (const endpoint of index.candidates(selectorForIndex)) {
      if (view.applies(policy, endpoint)) compiled.appliesTo.get(endpoint.metadata.name)!.push(cp);
    }
  }
  for (const endpoint of view.endpoints) addNamedPorts(compiled, endpoint);
  return compiled;
}

function addNamedPorts(compiled: CompiledTenant, endpoint: Endpoint): void {
  for (const [name, element4, element6] of namedPortElements(endpoint)) {
    const entry = compiled.namedPorts.get(name);
    if (!entry) continue; // only names some policy uses get a set
    for (const e of element4) entry[4].add(e);
    for (const e of element6) entry[6].add(e);
  }
}

/** (port name, v4 elements, v6 elements) for every port the endpoint declares. */
export function namedPortElements(endpoint: Endpoint): Array<[string, string[], string[]]> {
  const out: Array<[string, string[], string[]]> = [];
  const addresses = endpointAddresses(endpoint);
  for (const port of endpoint.spec.ports ?? []) {
    if (!port.name) continue;
    const proto = L4_NUMBER[port.protocol.toLowerCase() as L4Name];
    const v4 = addresses.filter((a) => !a.includes(':')).map((a) => `${a} . ${proto} . ${port.port}`);
    const v6 = addresses.filter((a) => a.includes(':')).map((a) => `${a} . ${proto} . ${port.port}`);
    out.push([port.name, v4, v6]);
  }
  return out;
}

function compilePolicy(compiled: CompiledTenant, index: EndpointIndex, policy: AnyPolicy): CompiledPolicy {
  const tier = policyTier(policy);
  const label = policyLabel(policy);
  const isolated = tier === 'tenant' ? isolatedDirections(policy.spec) : new Set<Direction>();
  const cp: CompiledPolicy = {
    policy,
    tier,
    label,
    dirs: { egress: { isolates: isolated.has('egress') }, ingress: { isolates: isolated.has('ingress') } },
  };
  for (const direction of DIRECTIONS) {
    const rules = (direction === 'egress' ? policy.spec.egress : policy.spec.ingress) ?? [];
    if (rules.length === 0) continue;
    const compiledRules = rules.map((rule, i) => ({ rule, i, nft: compileRule(compiled, index, policy, tier, direction, rule, i) }));
    if (tier === 'tenant') {
      // Deny (and log) rules of every policy at one priority run before any allow rule of that priority.
      const deny = compiledRules.filter((r) => r.rule.action !== 'allow').flatMap((r) => r.nft);
      const allow = compiledRules.filter((r) => r.rule.action === 'allow').flatMap((r) => r.nft);
      if (compiledRules.some((r) => r.rule.action !== 'allow')) {
        cp.dirs[direction].denyChain = policyChainName(policy.kind, tier, policy.metadata.name, direction, 'd');
        compiled.policyChains.push({ name: cp.dirs[direction].denyChain!, rules: deny });
      }
      if (compiledRules.some((r) => r.rule.action === 'allow')) {
        cp.dirs[direction].allowChain = policyChainName(policy.kind, tier, policy.metadata.name, direction, 'a');
        compiled.policyChains.push({ name: cp.dirs[direction].allowChain!, rules: allow });
      }
    } else {
      cp.dirs[direction].chain = policyChainName(policy.kind, tier, policy.metadata.name, direction, 'r');
      compiled.policyChains.push({ name: cp.dirs[direction].chain!, rules: compiledRules.flatMap((r) => r.nft) });
    }
  }
  return cp;
}

// ---------------------------------------------------------------- rules

interface AddressPart {
  family?: 4 | 6;
  set?: string;
}

interface PortPart {
  family?: 4 | 6;
  matches: Match[];
}

function compileRule(
  compiled: CompiledTenant,
  index: EndpointIndex,
  policy: AnyPolicy,
  tier: TierName,
  direction: Direction,
  rule: Rule,
  ruleIndex: number,
): NftRule[] {
  const peers = direction === 'egress' ? rule.to : rule.from;
  const addressParts: AddressPart[] = [];
  if (peers === undefined) addressParts.push({});
  else for (const peer of peers) addressParts.push(...peerAddressParts(compiled, index, policy, peer));
  const portParts = portMatchParts(compiled, rule.ports);
  const origin: RuleOrigin = {
    direction,
    tier,
    policy: policyLabel(policy),
    policyKind: policy.kind,
    rule: ruleIndex,
    ruleName: rule.name,
    action: rule.action,
  };
  const comment = `${tier}:${policy.metadata.name}:${direction}:${ruleIndex}`;
  const field = direction === 'egress' ? 'daddr' : 'saddr';
  const out: NftRule[] = [];
  for (const address of addressParts) {
    for (const port of portParts) {
      if (address.family !== undefined && port.family !== undefined && address.family !== port.family) continue;
      const matches: Match[] = [];
      if (address.set && address.family) matches.push({ kind: 'addr', family: address.family, field, set: address.set });
      matches.push(...port.matches);
      const r: NftRule = { matches, comment, origin: { ...origin } };
      switch (rule.action) {
        case 'allow':
          r.effects = [{ kind: 'ctMarkRule', direction, id: ruleMarkId(comment) }];
          r.verdict = { kind: 'accept' };
          break;
        case 'deny':
          r.verdict = { kind: 'drop' };
          out.push(denyLogRule(r, ruleLogPrefix('deny', comment)));
          break;
        case 'pass':
          r.effects = [{ kind: 'setMarkBits', bits: tier === 'baseline' ? BASELINE_PASS_MARK : PASS_MARK }];
          r.verdict = { kind: 'return' };
          break;
        case 'log':
          r.effects = [{ kind: 'log', prefix: ruleLogPrefix('log', comment), group: NFLOG_GROUP, limit: DENY_LOG_LIMIT }];
          break;
      }
      out.push(r);
    }
  }
  return out;
}

function peerKey(policy: AnyPolicy, peer: Peer, tenant: string): string {
  // The tenant restriction is resolved at compile time; what is left defines the set's members.
  const sel = (label: string, selector: LabelSelector | undefined) => (selector === undefined ? '' : `|${label}:${selectorKey(selector)}`);
  return [
    peer.group !== undefined ? `g:${peer.group}` : '',
    sel('s', peer.selector),
    sel('ss', peer.scopeSelector),
    peer.network !== undefined ? `|n:${peer.network}` : '',
    peer.cidr !== undefined ? `|c:${peer.cidr}` : '',
    sel('h', peer.hostSelector),
    peer.except !== undefined ? `|e:${[...peer.except].sort().join(',')}` : '',
    policy.kind === 'GlobalPolicy' ? `|t:${tenant}` : '',
  ].join('');
}

function peerAddressParts(compiled: CompiledTenant, index: EndpointIndex, policy: AnyPolicy, peer: Peer): AddressPart[] {
  const view = compiled.view;
  if (policy.kind === 'GlobalPolicy' && !view.admitsTenant(peer.tenants, peer.tenantSelector)) return [];
  const key = peerKey(policy, peer, view.name);
  let def = compiled.peerSets.get(key);
  if (!def) {
    def = buildPeerSet(compiled, index, peer, key);
    compiled.peerSets.set(key, def);
  }
  if (peer.cidr !== undefined) {
    const family = parseCidr(peer.cidr)?.family;
    return family ? [{ family, set: def.names[family] }] : [];
  }
  return [
    { family: 4, set: def.names[4] },
    { family: 6, set: def.names[6] },
  ];
}

function buildPeerSet(compiled: CompiledTenant, index: EndpointIndex, peer: Peer, key: string): PeerSetDef {
  const view = compiled.view;
  const def: PeerSetDef = {
    key,
    names: { 4: peerSetName(key, 4), 6: peerSetName(key, 6) },
    comment: describePeer(peer),
    elements: { 4: new Set(), 6: new Set() },
    interval: false,
  };
  if (peer.cidr !== undefined) {
    def.interval = true;
    for (const range of cidrMinus(peer.cidr, peer.except ?? [])) def.elements[range.family].add(rangeElement(range));
    return def;
  }
  if (peer.hostSelector !== undefined) {
    // Fixed by intent like a cidr: host labels and addresses are part of the policy intent key.
    def.interval = true;
    for (const address of view.hostAddresses(peer.hostSelector)) {
      const ip = parseCidr(address.includes(':') ? `${address}/128` : `${address}/32`);
      if (ip) for (const range of cidrMinus(formatCidr(ip), [])) def.elements[ip.family].add(rangeElement(range));
    }
    return def;
  }
  if (peer.network !== undefined) {
    def.interval = true;
    for (const subnet of view.network(peer.network)?.spec.subnets ?? []) {
      const cidr = parseCidr(subnet.cidr);
      if (cidr) for (const range of cidrMinus(subnet.cidr, [])) def.elements[cidr.family].add(rangeElement(range));
    }
    return def;
  }
  const sel = { group: peer.group, selector: peer.selector, scopeSelector: peer.scopeSelector };
  def.members = (endpoint) => view.endpointMatches(endpoint, sel);
  const indexed = peer.selector ?? (peer.group !== undefined ? view.group(peer.group)?.spec.selector : undefined);
  for (const endpoint of index.candidates(indexed)) {
    if (!def.members(endpoint)) continue;
    for (const address of endpointAddresses(endpoint)) def.elements[address.includes(':') ? 6 : 4].add(address);
  }
  return def;
}

function describeSelector(selector: LabelSelector | undefined): string {
  if (!selector) return '';
  const labels = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const expressions = (selector.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join('+')}`);
  return [...labels, ...expressions].join(',') || 'all';
}

function describePeer(peer: Peer): string {
  if (peer.group !== undefined) return `group ${peer.group}`;
  if (peer.cidr !== undefined) return `cidr ${peer.cidr}${peer.except?.length ? ` except ${peer.except.join(' ')}` : ''}`;
  if (peer.network !== undefined) return `network ${peer.network}`;
  if (peer.hostSelector !== undefined) return `hosts ${describeSelector(peer.hostSelector)}`;
  const parts: string[] = [];
  if (peer.selector) parts.push(`selector ${describeSelector(peer.selector)}`);
  if (peer.scopeSelector) parts.push(`scopes ${describeSelector(peer.scopeSelector)}`);
  return parts.join(' ') || 'tenant endpoints';
}

function portMatchParts(compiled: CompiledTenant, ports: PolicyPort[] | undefined): PortPart[] {
  if (ports === undefined || ports.length === 0) return [{ matches: [] }];
  const out: PortPart[] = [];
  const numeric = new Map<L4Name, Array<[number, number]> | 'all'>();
  for (const port of ports) {
    const protocol = (port.protocol ?? 'TCP').toLowerCase() as L4Name;
    if (protocol === 'icmp' || protocol === 'icmpv6') {
      out.push({ family: protocol === 'icmp' ? 4 : 6, matches: [{ kind: 'l4', proto: protocol }] });
      continue;
    }
    if (typeof port.port === 'string') {
      if (!compiled.namedPorts.has(port.port)) compiled.namedPorts.set(port.port, { 4: new Set(), 6: new Set() });
      for (const family of [4, 6] as const) {
        const matches: Match[] = [];
        if (port.protocol !== undefined) matches.push({ kind: 'l4', proto: protocol });
        matches.push({ kind: 'namedPort', family, set: namedPortSetName(port.port, family) });
        out.push({ family, matches });
      }
      continue;
    }
    const existing = numeric.get(protocol);
    if (port.port === undefined) numeric.set(protocol, 'all');
    else if (existing !== 'all') {
      const list = existing ?? [];
      list.push([port.port, port.endPort ?? port.port]);
      numeric.set(protocol, list);
    }
  }
  for (const [proto, ranges] of numeric) {
    const matches: Match[] = [{ kind: 'l4', proto }];
    if (ranges !== 'all') matches.push({ kind: 'dport', ranges: mergeRanges(ranges) });
    out.push({ matches });
  }
  return out;
}

function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

// ---------------------------------------------------------------- per host

function sharedSets(compiled: CompiledTenant): NftSet[] {
  const sets: NftSet[] = [];
  for (const def of [...compiled.peerSets.values()].sort((a, b) => (a.names[4] < b.names[4] ? -1 : 1))) {
    for (const family of [4, 6] as const) {
      sets.push({
        name: def.names[family],
        type: family === 4 ? 'ipv4_addr' : 'ipv6_addr',
        interval: def.interval,
        elements: [...def.elements[family]].sort(),
        comment: def.comment,
      });
    }
  }
  for (const [name, entry] of [...compiled.namedPorts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const family of [4, 6] as const) {
      sets.push({
        name: namedPortSetName(name, family),
        type: family === 4 ? 'ipv4_addr . inet_proto . inet_service' : 'ipv6_addr . inet_proto . inet_service',
        interval: false,
        elements: [...entry[family]].sort(),
        comment: `named port ${name}`,
      });
    }
  }
  return sets;
}

/** Profile of an endpoint in one direction: what its chain jumps to, in order. */
export function profileRules(
  compiled: CompiledTenant,
  applicable: CompiledPolicy[],
  direction: Direction,
): { key: string; rules: NftRule[] } {
  const rules: NftRule[] = [];
  const keyParts: string[] = [direction];
  const admin = applicable.filter((p) => p.tier === 'admin' && p.dirs[direction].chain);
  const tenant = applicable.filter((p) => p.tier === 'tenant' && p.dirs[direction].isolates);
  const baseline = applicable.filter((p) => p.tier === 'baseline' && p.dirs[direction].chain);
  admin.forEach((p, i) => {
    const target = p.dirs[direction].chain!;
    keyParts.push(`a:${target}`);
    // After a `pass`, the remaining admin policies are skipped.
    const matches: Match[] = i === 0 ? [] : [{ kind: 'mark', mask: PASS_MARK, value: 0 }];
    rules.push({
      matches,
      verdict: { kind: 'jump', target },
      comment: `admin ${p.policy.metadata.name}`,
      origin: { direction, tier: 'admin', policy: p.label },
    });
  });
  if (tenant.length > 0) {
    // Group by priority: at one priority every deny part runs before any allow part.
    const buckets = new Map<number, CompiledPolicy[]>();
    for (const p of tenant) {
      const priority = p.policy.spec.priority ?? DEFAULT_PRIORITY;
      const list = buckets.get(priority) ?? [];
      list.push(p);
      buckets.set(priority, list);
    }
    for (const priority of [...buckets.keys()].sort((a, b) => a - b)) {
      const list = buckets.get(priority)!;
      for (const p of list) {
        const target = p.dirs[direction].denyChain;
        if (!target) continue;
        keyParts.push(`t:${target}`);
        rules.push({
          matches: [],
          verdict: { kind: 'jump', target },
          comment: `tenant ${p.policy.metadata.name}`,
          origin: { direction, tier: 'tenant', policy: p.label },
        });
      }
      for (const p of list) {
        const target = p.dirs[direction].allowChain;
        if (!target) continue;
        keyParts.push(`t:${target}`);
        rules.push({
          matches: [],
          verdict: { kind: 'jump', target },
          comment: `tenant ${p.policy.metadata.name}`,
          origin: { direction, tier: 'tenant', policy: p.label },
        });
      }
    }
    keyParts.push(`iso:${tenant.map((p) => p.label).join(',')}`);
    const isolation: NftRule = {
      matches: [],
      verdict: { kind: 'drop' },
      comment: `tenant isolation ${direction}`,
      origin: { direction, tier: 'tenant', action: 'isolate', policy: tenant.map((p) => p.label).join(', ') },
    };
    rules.push(denyLogRule(isolation, isolationLogPrefix(direction)), isolation);
  }
  baseline.forEach((p, i) => {
    const target = p.dirs[direction].chain!;
    keyParts.push(`b:${target}`);
    const matches: Match[] = i === 0 ? [] : [{ kind: 'mark', mask: BASELINE_PASS_MARK, value: 0 }];
    rules.push({
      matches,
      verdict: { kind: 'jump', target },
      comment: `baseline ${p.policy.metadata.name}`,
      origin: { direction, tier: 'baseline', policy: p.label },
    });
  });
  keyParts.push(`def:${compiled.defaultAction}`);
  const fallback: NftRule = {
    matches: [],
    verdict: { kind: compiled.defaultAction === 'allow' ? 'accept' : 'drop' },
    comment: `default ${compiled.defaultAction} ${direction}`,
    origin: { direction, tier: 'default', action: compiled.defaultAction === 'allow' ? 'default-allow' : 'default-deny' },
  };
  if (compiled.defaultAction === 'deny') rules.push(denyLogRule(fallback, defaultDenyLogPrefix(direction)));
  else fallback.effects = [{ kind: 'ctMarkRule', direction, id: ruleMarkId(fallback.comment!) }];
  rules.push(fallback);
  return { key: keyParts.join('|'), rules };
}

function baseChain(direction: Direction): NftChain {
  const field = direction === 'egress' ? 'iifname' : 'oifname';
  const origin = (action: RuleOrigin['action']): RuleOrigin => ({ direction, tier: 'base', action });
  return {
    name: direction === 'egress' ? EGRESS_BASE : INGRESS_BASE,
    base: { hook: 'forward', priority: direction === 'egress' ? 0 : 1, policy: 'accept' },
    rules: [
      {
        matches: [{ kind: 'ct', states: ['established', 'related'] }],
        verdict: { kind: 'accept' },
        comment: 'stateful',
        origin: origin('stateful'),
      },
      { matches: [{ kind: 'ct', states: ['invalid'] }], verdict: { kind: 'drop' }, comment: 'invalid', origin: origin('stateful') },
      { matches: [], effects: [{ kind: 'clearMarkBits', bits: PASS_MARK | BASELINE_PASS_MARK }], comment: 'clear pass marks' },
      { matches: [{ kind: 'vmap', field, map: direction === 'egress' ? EGRESS_MAP : INGRESS_MAP }], comment: `${direction} dispatch` },
    ],
  };
}

export function localInterfaces(compiled: CompiledTenant, selection: HostSelection): Array<{ endpoint: Endpoint; iface: string }> {
  const out: Array<{ endpoint: Endpoint; iface: string }> = [];
  for (const endpoint of compiled.view.endpoints) {
    if (selection.host !== undefined && endpoint.spec.host !== selection.host) continue;
    const iface =
      selection.interfaceOf?.(endpoint) ??
      endpoint.status?.hostIfName ??
      (selection.host === undefined ? syntheticInterface(endpoint) : undefined);
    if (iface) out.push({ endpoint, iface });
  }
  return out;
}

/** The program of one tenant router namespace: the shared part plus this host's profiles and dispatch. */
export function programForHost(compiled: CompiledTenant, selection: HostSelection = {}): NftProgram {
  // Set contents are the same on every host: sort them once per compile, copy per host.
  compiled.sortedSets ??= sharedSets(compiled);
  const sets: NftSet[] = compiled.sortedSets.map((set) => ({ ...set }));
  const profiles = new Map<string, NftChain>();
  const egressMap: Record<string, string> = {};
  const ingressMap: Record<string, string> = {};
  const interfaces: Record<string, string> = {};
  const policyIndex = new Map(compiled.policies.map((p, i) => [p, i]));
  const memo = new Map<string, [string, string]>();
  for (const { endpoint, iface } of localInterfaces(compiled, selection)) {
    interfaces[iface] = endpoint.metadata.name;
    const applicable = compiled.appliesTo.get(endpoint.metadata.name) ?? [];
    const signature = applicable.map((p) => policyIndex.get(p)).join(',');
    let names = memo.get(signature);
    if (!names) {
      const pair: string[] = [];
      for (const direction of DIRECTIONS) {
        const { key, rules } = profileRules(compiled, applicable, direction);
        const name = profileChainName(direction, key);
        if (!profiles.has(name)) profiles.set(name, { name, rules });
        pair.push(name);
      }
      names = [pair[0], pair[1]];
      memo.set(signature, names);
    }
    egressMap[iface] = names[0];
    ingressMap[iface] = names[1];
  }
  const chains: NftChain[] = [
    baseChain('egress'),
    baseChain('ingress'),
    ...compiled.policyChains,
    ...[...profiles.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
  ];
  return {
    family: 'inet',
    table: TABLE_NAME,
    sets,
    maps: [
      { name: EGRESS_MAP, elements: egressMap, comment: 'source interface -> egress profile' },
      { name: INGRESS_MAP, elements: ingressMap, comment: 'destination interface -> ingress profile' },
    ],
    chains,
    interfaces,
  };
}

/** Convenience: compile one tenant for one host (or, without host, with every endpoint local). */
export function compileProgram(intent: PolicyIntent, tenant: string, selection: HostSelection = {}): NftProgram {
  return programForHost(compileTenant(intent, tenant), selection);
}
