/**
 * Random worlds for property tests of the policy engine, and a reference
 * evaluation of the documented semantics (docs/policy.md) written directly
 * over the intent — independent of the compiler and of explain.
 */
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import type { GlobalPolicy, Peer, Policy, PolicyPort, Rule } from '../../src/core/model/kinds/policy';
import type { PolicyIntent } from '../../src/core/policy/intent';
import { selectorMatches, type LabelSelector } from '../../src/core/model/selectors';
import { cidrContains, parseCidr, parseIp } from '../../src/core/net/ip';

export class Random {
  constructor(private seed: number) {}
  next(): number {
    // mulberry32
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const V = 'tenet.dev/v1' as const;
const APPS = ['web', 'api', 'db'];
const TIERS = ['front', 'back'];

function randomSelector(r: Random): LabelSelector {
  switch (r.int(5)) {
    case 0:
      return {};
    case 1:
      return { matchLabels: { app: r.pick(APPS) } };
    case 2:
      return { matchExpressions: [{ key: 'app', operator: 'In', values: [r.pick(APPS), r.pick(APPS)] }] };
    case 3:
      return { matchExpressions: [{ key: 'tier', operator: r.pick(['Exists', 'DoesNotExist'] as const) }] };
    default:
      return { matchLabels: { tier: r.pick(TIERS) }, matchExpressions: [{ key: 'app', operator: 'NotIn', values: [r.pick(APPS)] }] };
  }
}

function randomScopeSelector(r: Random): LabelSelector {
  return r.pick([
    {},
    { matchLabels: { env: 'prod' } },
    { matchLabels: { env: 'dev' } },
    { matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['prod'] }] },
  ]);
}

function randomPeer(r: Random, global: boolean): Peer {
  switch (r.int(global ? 7 : 6)) {
    case 0:
      return { group: r.pick(['g-web', 'g-back', 'g-missing']) };
    case 1:
      return { selector: randomSelector(r) };
    case 2:
      return { selector: randomSelector(r), scopeSelector: randomScopeSelector(r) };
    case 3:
      return { scopeSelector: randomScopeSelector(r) };
    case 4:
      return r.chance(0.5) ? { cidr: '10.1.0.0/24', except: ['10.1.0.0/29'] } : { cidr: 'fd00:1::/64', except: ['fd00:1::/126'] };
    case 5:
      return { network: 'net' };
    default:
      return r.chance(0.5) ? { tenants: ['t1'] } : { tenants: ['other'], selector: randomSelector(r) };
  }
}

function randomPorts(r: Random): PolicyPort[] | undefined {
  if (r.chance(0.35)) return undefined;
  const options: PolicyPort[] = [
    { protocol: 'TCP', port: 80 },
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 8000, endPort: 8100 },
    { protocol: 'TCP', port: 'http' },
    { port: 'dns' },
    { protocol: 'UDP' },
    { protocol: 'ICMP' },
    { protocol: 'SCTP', port: 80 },
  ];
  const n = 1 + r.int(2);
  return Array.from({ length: n }, () => r.pick(options));
}

function randomRules(r: Random, direction: 'ingress' | 'egress', actions: Rule['action'][]): Rule[] {
  const n = r.int(3);
  return Array.from({ length: n }, () => {
    const rule: Rule = { action: r.pick(actions) };
    if (r.chance(0.75)) {
      const peers = Array.from({ length: r.int(3) }, () => randomPeer(r, actions.includes('pass')));
      if (direction === 'ingress') rule.from = peers;
      else rule.to = peers;
    }
    const ports = randomPorts(r);
    if (ports) rule.ports = ports;
    return rule;
  });
}

export function randomWorld(seed: number): PolicyIntent {
  const r = new Random(seed);
  const intent: PolicyIntent = {
    tenants: [
      {
        apiVersion: V,
        kind: 'Tenant',
        metadata: { name: 't1', labels: { kind: 'k8s' } },
        spec: { defaultPolicy: r.pick(['allow', 'deny'] as const) },
      },
    ],
    scopes: [
      { apiVersion: V, kind: 'Scope', metadata: { name: 'prod', tenant: 't1', labels: { env: 'prod' } }, spec: {} },
      { apiVersion: V, kind: 'Scope', metadata: { name: 'dev', tenant: 't1', labels: { env: 'dev' } }, spec: {} },
    ],
    groups: [
      { apiVersion: V, kind: 'Group', metadata: { name: 'g-web', tenant: 't1' }, spec: { selector: { matchLabels: { app: 'web' } } } },
      { apiVersion: V, kind: 'Group', metadata: { name: 'g-back', tenant: 't1' }, spec: { selector: { matchLabels: { tier: 'back' } } } },
    ],
    networks: [
      {
        apiVersion: V,
        kind: 'Network',
        metadata: { name: 'net', tenant: 't1' },
        spec: { subnets: [{ cidr: '10.1.0.0/24' }, { cidr: 'fd00:1::/64' }] },
      },
    ],
    policies: [],
    globalPolicies: [],
    endpoints: [],
  };
  const count = 5 + r.int(5);
  for (let i = 0; i < count; i++) {
    const labels: Record<string, string> = { app: r.pick(APPS) };
    if (r.chance(0.6)) labels.tier = r.pick(TIERS);
    const endpoint: Endpoint = {
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name: `ep${i}`, tenant: 't1', labels },
      spec: {
        network: 'net',
        host: r.pick(['h1', 'h2']),
        ips: [`10.1.0.${2 + i * 3}`, ...(r.chance(0.5) ? [`fd00:1::${(2 + i * 3).toString(16)}`] : [])],
      },
      status: { hostIfName: `veth${i}` },
    };
    if (r.chance(0.8)) endpoint.spec.scope = r.pick(['prod', 'dev', 'ghost']);
    if (r.chance(0.6))
      endpoint.spec.ports = [
        { name: 'http', port: r.pick([80, 8080]), protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: r.pick(['UDP', 'TCP'] as const) },
      ];
    intent.endpoints.push(endpoint);
  }
  const policyCount = r.int(4);
  for (let i = 0; i < policyCount; i++) {
    const policy: Policy = {
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: `p${i}`, tenant: 't1' },
      spec: {
        appliesTo: r.chance(0.3)
          ? { group: r.pick(['g-web', 'g-back']) }
          : { selector: randomSelector(r), ...(r.chance(0.3) ? { scopeSelector: randomScopeSelector(r) } : {}) },
      },
    };
    if (r.chance(0.5)) policy.spec.priority = r.pick([10, 20]);
    if (r.chance(0.4))
      policy.spec.policyTypes = r.pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']] as Array<Array<'Ingress' | 'Egress'>>);
    if (r.chance(0.7)) policy.spec.ingress = randomRules(r, 'ingress', ['allow', 'allow', 'deny', 'log']);
    if (r.chance(0.5)) policy.spec.egress = randomRules(r, 'egress', ['allow', 'allow', 'deny']);
    intent.policies.push(policy);
  }
  const globalCount = r.int(3);
  for (let i = 0; i < globalCount; i++) {
    const tier = r.pick(['admin', 'baseline'] as const);
    const policy: GlobalPolicy = {
      apiVersion: V,
      kind: 'GlobalPolicy',
      metadata: { name: `gp${i}` },
      spec: {
        tier,
        priority: r.int(3),
        appliesTo: { ...(r.chance(0.3) ? { tenants: [r.pick(['t1', 'other'])] } : {}), selector: randomSelector(r) },
      },
    };
    if (r.chance(0.8)) policy.spec.ingress = randomRules(r, 'ingress', ['allow', 'deny', 'pass', 'log']);
    if (r.chance(0.6)) policy.spec.egress = randomRules(r, 'egress', ['allow', 'deny', 'pass']);
    intent.globalPolicies.push(policy);
  }
  return intent;
}

// ---------------------------------------------------------------- reference semantics

export interface Probe {
  from: Endpoint;
  to: Endpoint;
  family: 4 | 6;
  protocol: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';
  port?: number;
}

type Outcome = 'allow' | 'deny';

function addressOf(endpoint: Endpoint, family: 4 | 6): string | undefined {
  return endpoint.spec.ips?.find((ip) => (family === 6) === ip.includes(':'));
}

export class Reference {
  constructor(readonly intent: PolicyIntent) {}

  private tenantAdmitted(tenants?: string[]): boolean {
    return tenants === undefined || tenants.includes('t1');
  }

  private scopeLabels(endpoint: Endpoint): Record<string, string> | undefined {
    if (!endpoint.spec.scope) return undefined;
    return this.intent.scopes.find((s) => s.metadata.name === endpoint.spec.scope)?.metadata.labels ?? {};
  }

  private selects(sel: { group?: string; selector?: LabelSelector; scopeSelector?: LabelSelector }, endpoint: Endpoint): boolean {
    const labels = endpoint.metadata.labels ?? {};
    if (sel.group !== undefined) {
      const group = this.intent.groups.find((g) => g.metadata.name === sel.group);
      if (!group || !selectorMatches(group.spec.selector, labels)) return false;
    }
    if (sel.selector && !selectorMatches(sel.selector, labels)) return false;
    if (sel.scopeSelector) {
      const scope = this.scopeLabels(endpoint);
      if (!scope || !selectorMatches(sel.scopeSelector, scope)) return false;
    }
    return true;
  }

  private applies(policy: Policy | GlobalPolicy, endpoint: Endpoint): boolean {
    if (policy.kind === 'GlobalPolicy' && !this.tenantAdmitted(policy.spec.appliesTo.tenants)) return false;
    return this.selects(policy.spec.appliesTo, endpoint);
  }

  private peerMatches(peer: Peer, global: boolean, address: string, other: Endpoint): boolean {
    if (global && !this.tenantAdmitted(peer.tenants)) return false;
    const ip = parseIp(address)!;
    if (peer.cidr !== undefined) {
      const cidr = parseCidr(peer.cidr)!;
      return cidrContains(cidr, ip) && !(peer.except ?? []).some((e) => cidrContains(parseCidr(e)!, ip));
    }
    if (peer.network !== undefined) {
      const network = this.intent.networks.find((n) => n.metadata.name === peer.network);
      return !!network && network.spec.subnets.some((s) => cidrContains(parseCidr(s.cidr)!, ip));
    }
    return this.selects(peer, other);
  }

  private portMatches(port: PolicyPort, probe: Probe): boolean {
    const protocol = port.protocol ?? (typeof port.port === 'string' ? undefined : 'TCP');
    if (protocol === 'ICMP') return probe.protocol === 'icmp';
    if (protocol === 'ICMPv6') return probe.protocol === 'icmpv6';
    if (protocol !== undefined && protocol.toLowerCase() !== probe.protocol) return false;
    if (probe.port === undefined) return false;
    if (port.port === undefined) return true;
    if (typeof port.port === 'number') return port.port <= probe.port && probe.port <= (port.endPort ?? port.port);
    return (probe.to.spec.ports ?? []).some(
      (p) => p.name === port.port && p.port === probe.port && p.protocol.toLowerCase() === probe.protocol,
    );
  }

  private ruleMatches(rule: Rule, direction: 'ingress' | 'egress', global: boolean, probe: Probe): boolean {
    const other = direction === 'egress' ? probe.to : probe.from;
    const address = addressOf(other, probe.family)!;
    const peers = direction === 'egress' ? rule.to : rule.from;
    if (peers !== undefined && !peers.some((p) => this.peerMatches(p, global, address, other))) return false;
    if (rule.ports !== undefined && rule.ports.length > 0 && !rule.ports.some((p) => this.portMatches(p, probe))) return false;
    return true;
  }

  private order<T extends Policy | GlobalPolicy>(list: T[]): T[] {
    return [...list].sort((a, b) => (a.spec.priority ?? 1000) - (b.spec.priority ?? 1000) || (a.metadata.name < b.metadata.name ? -1 : 1));
  }

  private tierWalk(list: GlobalPolicy[], direction: 'ingress' | 'egress', probe: Probe): Outcome | undefined {
    for (const policy of this.order(list)) {
      for (const rule of policy.spec[direction] ?? []) {
        if (!this.ruleMatches(rule, direction, true, probe)) continue;
        if (rule.action === 'allow') return 'allow';
        if (rule.action === 'deny') return 'deny';
        if (rule.action === 'pass') return undefined;
      }
    }
    return undefined;
  }

  judge(direction: 'ingress' | 'egress', probe: Probe): Outcome {
    const endpoint = direction === 'egress' ? probe.from : probe.to;
    const globals = this.intent.globalPolicies.filter((p) => this.applies(p, endpoint));
    const admin = this.tierWalk(
      globals.filter((p) => p.spec.tier === 'admin'),
      direction,
      probe,
    );
    if (admin) return admin;
    const isolating = this.intent.policies.filter((p) => {
      if (!this.applies(p, endpoint)) return false;
      const types = p.spec.policyTypes ?? [...(p.spec.ingress ? ['Ingress'] : []), ...(p.spec.egress ? ['Egress'] : [])];
      return types.includes(direction === 'ingress' ? 'Ingress' : 'Egress');
    });
    if (isolating.length > 0) {
      const priorities = [...new Set(isolating.map((p) => p.spec.priority ?? 1000))].sort((a, b) => a - b);
      for (const priority of priorities) {
        const bucket = isolating.filter((p) => (p.spec.priority ?? 1000) === priority);
        const rules = bucket.flatMap((p) => p.spec[direction] ?? []);
        if (rules.some((rule) => rule.action === 'deny' && this.ruleMatches(rule, direction, false, probe))) return 'deny';
        if (rules.some((rule) => rule.action === 'allow' && this.ruleMatches(rule, direction, false, probe))) return 'allow';
      }
      return 'deny';
    }
    const baseline = this.tierWalk(
      globals.filter((p) => p.spec.tier === 'baseline'),
      direction,
      probe,
    );
    if (baseline) return baseline;
    return this.intent.tenants[0].spec.defaultPolicy ?? 'allow';
  }

  allowed(probe: Probe): boolean {
    return this.judge('egress', probe) === 'allow' && this.judge('ingress', probe) === 'allow';
  }
}

export function probesOf(intent: PolicyIntent): Probe[] {
  const probes: Probe[] = [];
  const kinds: Array<Pick<Probe, 'protocol' | 'port'>> = [
    { protocol: 'tcp', port: 80 },
    { protocol: 'tcp', port: 8080 },
    { protocol: 'tcp', port: 8050 },
    { protocol: 'udp', port: 53 },
    { protocol: 'tcp', port: 53 },
    { protocol: 'sctp', port: 80 },
    { protocol: 'udp', port: 9 },
  ];
  for (const from of intent.endpoints) {
    for (const to of intent.endpoints) {
      if (from === to) continue;
      for (const family of [4, 6] as const) {
        if (!addressOf(from, family) || !addressOf(to, family)) continue;
        for (const kind of kinds) probes.push({ from, to, family, ...kind });
        probes.push({ from, to, family, protocol: family === 4 ? 'icmp' : 'icmpv6' });
      }
    }
  }
  return probes;
}

export { addressOf };
