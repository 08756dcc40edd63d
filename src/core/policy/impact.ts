/**
 * Impact preview: which flows change verdict between two versions of the intent. Endpoints are
 * grouped into classes (same tenant, labels, scope and declared ports behave the same under
 * selectors), and one representative pair per class pair is judged on every port the policies of
 * either version mention, plus one port no rule names. Both verdicts come from compile + explain.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import type { TenetObject } from '../model/object';
import type { PolicyPort } from '../model/kinds/policy';
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
}

const MAX_CLASSES = 200;

function classKey(endpoint: Endpoint): string {
  const labels = Object.entries(endpoint.metadata.labels ?? {}).sort();
  return JSON.stringify([labels, endpoint.spec.scope ?? null, endpoint.spec.ports ?? []]);
}

function probePorts(intents: PolicyIntent[]): Array<{ protocol: L4Name; port?: number }> {
  const seen = new Map<string, { protocol: L4Name; port?: number }>();
  const add = (protocol: L4Name, port?: number) => seen.set(`${protocol}/${port ?? ''}`, { protocol, port });
  const visit = (port: PolicyPort, intent: PolicyIntent) => {
    const protocol = (port.protocol ?? 'TCP').toLowerCase() as L4Name;
    if (protocol === 'icmp' || protocol === 'icmpv6') return add(protocol);
    if (typeof port.port === 'number') {
      add(protocol, port.port);
      if (port.endPort !== undefined) add(protocol, port.endPort);
    } else if (typeof port.port === 'string') {
      for (const e of intent.endpoints) for (const p of e.spec.ports ?? []) if (p.name === port.port) add(p.protocol.toLowerCase() as L4Name, p.port);
    }
  };
  for (const intent of intents) {
    for (const policy of [...intent.policies, ...intent.globalPolicies]) {
      for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])]) for (const port of rule.ports ?? []) visit(port, intent);
    }
  }
  // One port no rule names, per protocol, so "everything else" changes show too.
  add('tcp', 65000);
  add('udp', 65000);
  return [...seen.values()];
}

export function previewImpact(before: PolicyIntent, after: PolicyIntent): FlowChange[] {
  const tenants = new Set([...before.endpoints, ...after.endpoints].map((e) => e.metadata.tenant ?? ''));
  const ports = probePorts([before, after]);
  const changes: FlowChange[] = [];
  for (const tenant of [...tenants].filter(Boolean).sort()) {
    const judgeBefore = new FlowJudge(before, tenant);
    const judgeAfter = new FlowJudge(after, tenant);
    // Only endpoints present in both versions: a flow to something that does not exist has no verdict to change.
    const afterNames = new Set(after.endpoints.filter((e) => e.metadata.tenant === tenant).map((e) => e.metadata.name));
    const classes = new Map<string, { rep: Endpoint; count: number }>();
    for (const endpoint of before.endpoints) {
      if (endpoint.metadata.tenant !== tenant || !afterNames.has(endpoint.metadata.name) || endpointAddresses(endpoint).length === 0) continue;
      const key = classKey(endpoint);
      const entry = classes.get(key);
      if (entry) entry.count++;
      else if (classes.size < MAX_CLASSES) classes.set(key, { rep: endpoint, count: 1 });
    }
    const reps = [...classes.values()];
    for (const a of reps) {
      for (const b of reps) {
        if (a === b && a.count < 2) continue;
        const dst = a === b ? before.endpoints.find((e) => e !== a.rep && classKey(e) === classKey(a.rep) && e.metadata.tenant === tenant) : b.rep;
        if (!dst) continue;
        const src = a.rep;
        const srcAddress = endpointAddresses(src).find((x) => !x.includes(':')) ?? endpointAddresses(src)[0];
        const dstAddress = endpointAddresses(dst).find((x) => x.includes(':') === srcAddress.includes(':'));
        if (!dstAddress) continue;
        const dstAfter = after.endpoints.find((e) => e.metadata.tenant === tenant && e.metadata.name === dst.metadata.name) ?? dst;
        const srcAfter = after.endpoints.find((e) => e.metadata.tenant === tenant && e.metadata.name === src.metadata.name) ?? src;
        for (const { protocol, port } of ports) {
          if ((protocol === 'icmp') === srcAddress.includes(':') && (protocol === 'icmp' || protocol === 'icmpv6')) continue;
          const was = judgeBefore.judge({ endpoint: src, address: srcAddress }, { endpoint: dst, address: dstAddress }, protocol, port).allowed;
          const now = judgeAfter.judge({ endpoint: srcAfter, address: srcAddress }, { endpoint: dstAfter, address: dstAddress }, protocol, port).allowed;
          if (was !== now) {
            changes.push({
              tenant,
              from: src.metadata.name,
              to: dst.metadata.name,
              pairs: a === b ? a.count * (a.count - 1) : a.count * b.count,
              protocol,
              port,
              before: was,
              after: now,
            });
          }
        }
      }
    }
  }
  return changes;
}

export function describeChange(change: FlowChange): string {
  const what = `${change.protocol}${change.port !== undefined ? `/${change.port}` : ''}`;
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
  };
}
