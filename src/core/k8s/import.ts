/**
 * Kubernetes -> Tenet translation (pure). One Kubernetes cluster becomes one tenant:
 *  - Namespace -> Scope (labels kept, plus kubernetes.io/metadata.name as the API server adds it);
 *  - Pod -> Endpoint labels and scope (the caller decides whether endpoints are created);
 *  - NetworkPolicy -> Policy (tenant tier) whose appliesTo and peers are scoped to its namespace;
 *  - AdminNetworkPolicy -> GlobalPolicy tier admin, BaselineAdminNetworkPolicy -> tier baseline,
 *    both restricted to the tenant (appliesTo.tenants = [tenant]): cluster-wide there means
 *    tenant-wide here, since a tenant is the isolation domain;
 *  - ClusterNetworkPolicy (v1alpha2, ./cnp.ts) -> GlobalPolicy of its tier (Admin or Baseline),
 *    restricted to the tenant the same way.
 * Problems are collected, never thrown; objects with problems are left out.
 *
 * Only a Namespace object says what a namespace's labels are. A namespace that Pods or
 * NetworkPolicies merely name becomes a *referenced* scope: created where it is missing (with the
 * name label the policies select it by), never written where it exists — its labels may be what
 * an AdminNetworkPolicy selects, and overwriting them would switch that policy off.
 */
import type { Endpoint } from '../model/kinds/endpoint';
import type { GlobalPolicy, Peer, Policy, PolicyPort, Rule } from '../model/kinds/policy';
import type { Scope } from '../model/kinds/scope';
import type { LabelSelector, Labels } from '../model/selectors';
import { API_VERSION } from '../model/common';
import { NAME_REGEX } from '../model/names';
import { formatCidr, parseCidr } from '../net/ip';
import { stableHash } from '../policy/names';
import { importClusterNetworkPolicy } from './cnp';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Labels };
  spec?: Record<string, unknown>;
}

export interface ImportResult {
  /** Scopes of the Namespace objects in the input: their labels are the input's. */
  scopes: Scope[];
  /** Scopes of namespaces only named by Pods or NetworkPolicies: to create where missing, never to update. */
  referencedScopes: Scope[];
  endpoints: Endpoint[];
  policies: Policy[];
  globalPolicies: GlobalPolicy[];
  problems: string[];
  /** Kubernetes object -> Tenet object name, for reports. */
  names: Record<string, string>;
}

export interface PodInfo {
  namespace: string;
  name: string;
  labels?: Labels;
  ip?: string;
  ips?: string[];
  containerPorts?: Array<{ name?: string; port: number; protocol?: string }>;
}

/** A Tenet name (DNS label) from Kubernetes parts; long or odd ones get a stable hash suffix. */
export function tenetName(...parts: string[]): string {
  const joined = parts.join('-').toLowerCase();
  const cleaned = joined
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/--+/g, '-');
  if (cleaned === joined && cleaned.length <= 63 && NAME_REGEX.test(cleaned)) return cleaned;
  const hash = stableHash(joined).slice(0, 8);
  const head = cleaned.slice(0, 63 - 9).replace(/-+$/, '');
  return `${head || 'x'}-${hash}`;
}

function ruleName(text: unknown): string | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const cleaned = text
    .replace(/[^-A-Za-z0-9_. ]/g, '_')
    .slice(0, 100)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned || undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function selector(value: unknown, at: string, problems: string[]): LabelSelector | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    problems.push(`${at}: must be a label selector`);
    return undefined;
  }
  const out: LabelSelector = {};
  if (value.matchLabels !== undefined) out.matchLabels = { ...(value.matchLabels as Labels) };
  if (value.matchExpressions !== undefined) {
    out.matchExpressions = (value.matchExpressions as Array<Record<string, unknown>>).map((e) => ({
      key: String(e.key),
      operator: e.operator as 'In' | 'NotIn' | 'Exists' | 'DoesNotExist',
      ...(Array.isArray(e.values) && (e.operator === 'In' || e.operator === 'NotIn')
        ? { values: (e.values as unknown[]).map(String) }
        : {}),
    }));
  }
  return out;
}

function namespaceScope(namespace: string): LabelSelector {
  return { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } };
}

function canonicalCidr(text: unknown, at: string, problems: string[]): string | undefined {
  const cidr = typeof text === 'string' ? parseCidr(text) : undefined;
  if (!cidr) {
    problems.push(`${at}: ${JSON.stringify(text)} is not a CIDR`);
    return undefined;
  }
  return formatCidr(cidr);
}

function protocolOf(value: unknown): PolicyPort['protocol'] {
  const text = typeof value === 'string' ? value.toUpperCase() : 'TCP';
  return text === 'UDP' ? 'UDP' : text === 'SCTP' ? 'SCTP' : 'TCP';
}

// ---------------------------------------------------------------- NetworkPolicy

function npPeer(peer: Record<string, unknown>, namespace: string, at: string, problems: string[]): Peer | undefined {
  if (peer.ipBlock !== undefined) {
    const block = peer.ipBlock as Record<string, unknown>;
    const cidr = canonicalCidr(block.cidr, `${at}.ipBlock.cidr`, problems);
    if (!cidr) return undefined;
    const except = ((block.except as unknown[]) ?? [])
      .map((e, i) => canonicalCidr(e, `${at}.ipBlock.except[${i}]`, problems))
      .filter((e): e is string => !!e);
    return except.length > 0 ? { cidr, except } : { cidr };
  }
  const pods = selector(peer.podSelector, `${at}.podSelector`, problems);
  const namespaces = selector(peer.namespaceSelector, `${at}.namespaceSelector`, problems);
  if (pods === undefined && namespaces === undefined) {
    problems.push(`${at}: a peer needs podSelector, namespaceSelector or ipBlock`);
    return undefined;
  }
  // podSelector alone means pods of the policy's own namespace; with namespaceSelector, both must hold.
  return { selector: pods ?? {}, scopeSelector: namespaces ?? namespaceScope(namespace) };
}

function npPorts(ports: unknown, at: string, problems: string[]): PolicyPort[] | undefined {
  if (!Array.isArray(ports) || ports.length === 0) return undefined;
  return ports.map((p: Record<string, unknown>, i) => {
    const out: PolicyPort = { protocol: protocolOf(p.protocol) };
    if (typeof p.port === 'number') out.port = p.port;
    else if (typeof p.port === 'string') {
      if (/^[0-9]+$/.test(p.port)) out.port = Number(p.port);
      else out.port = p.port;
    }
    if (typeof p.endPort === 'number') {
      if (typeof out.port !== 'number') problems.push(`${at}[${i}].endPort: needs a numeric port`);
      else out.endPort = p.endPort;
    }
    return out;
  });
}

export function importNetworkPolicy(object: K8sObject, tenant: string, problems: string[]): Policy | undefined {
  const namespace = object.metadata?.namespace ?? 'default';
  const name = object.metadata?.name ?? '';
  const at = `NetworkPolicy ${namespace}/${name}`;
  const spec = object.spec ?? {};
  const local: string[] = [];
  const podSelector = selector(spec.podSelector ?? {}, `${at}: spec.podSelector`, local);
  const hasEgress = spec.egress !== undefined;
  const types = Array.isArray(spec.policyTypes) ? (spec.policyTypes as string[]) : hasEgress ? ['Ingress', 'Egress'] : ['Ingress'];
  const translateRules = (list: unknown, direction: 'ingress' | 'egress'): Rule[] =>
    ((list as Array<Record<string, unknown>>) ?? []).map((rule, r) => {
      const side = direction === 'ingress' ? 'from' : 'to';
      const peers = rule[side] as Array<Record<string, unknown>> | undefined;
      const out: Rule = { action: 'allow' };
      // Absent or empty peer list: every source/destination, inside or outside the cluster.
      if (peers !== undefined && peers.length > 0) {
        out[side] = peers
          .map((p, i) => npPeer(p, namespace, `${at}: spec.${direction}[${r}].${side}[${i}]`, local))
          .filter((p): p is Peer => !!p);
      }
      const ports = npPorts(rule.ports, `${at}: spec.${direction}[${r}].ports`, local);
      if (ports) out.ports = ports;
      return out;
    });
  const policy: Policy = {
    apiVersion: API_VERSION,
    kind: 'Policy',
    metadata: {
      name: tenetName('np', namespace, name),
      tenant,
      annotations: { 'k8s.tenet.dev/source': `NetworkPolicy ${namespace}/${name}` },
    },
    spec: {
      tier: 'tenant',
      appliesTo: { selector: podSelector ?? {}, scopeSelector: namespaceScope(namespace) },
      policyTypes: types.filter((t) => t === 'Ingress' || t === 'Egress') as Array<'Ingress' | 'Egress'>,
    },
  };
  if (types.includes('Ingress')) policy.spec.ingress = translateRules(spec.ingress, 'ingress');
  if (types.includes('Egress')) policy.spec.egress = translateRules(spec.egress, 'egress');
  problems.push(...local);
  return local.length > 0 ? undefined : policy;
}

// ---------------------------------------------------------------- Admin / Baseline

function anpSubject(
  subject: Record<string, unknown> | undefined,
  at: string,
  problems: string[],
): { selector?: LabelSelector; scopeSelector?: LabelSelector } {
  if (!subject) {
    problems.push(`${at}: spec.subject is required`);
    return {};
  }
  if (subject.namespaces !== undefined)
    return { scopeSelector: selector(namespacesSelector(subject.namespaces), `${at}: subject.namespaces`, problems) ?? {} };
  if (subject.pods !== undefined) {
    const sel = podsSelectors(subject.pods as Record<string, unknown>);
    return {
      scopeSelector: selector(sel.namespaces, `${at}: subject.pods.namespaceSelector`, problems) ?? {},
      selector: selector(sel.pods, `${at}: subject.pods.podSelector`, problems) ?? {},
    };
  }
  problems.push(`${at}: subject needs namespaces or pods`);
  return {};
}

/** v1alpha1 wrote `namespaces: {namespaceSelector: S}` early and `namespaces: S` later; both mean S. */
function namespacesSelector(value: unknown): unknown {
  return isObject(value) && isObject(value.namespaceSelector) ? value.namespaceSelector : value;
}

function podsSelectors(value: Record<string, unknown>): { namespaces: unknown; pods: unknown } {
  const namespaces = value.namespaceSelector ?? (isObject(value.namespaces) ? namespacesSelector(value.namespaces) : undefined);
  return { namespaces: namespaces ?? {}, pods: value.podSelector ?? {} };
}

function anpPeers(list: unknown, at: string, problems: string[]): Peer[] {
  const out: Peer[] = [];
  ((list as Array<Record<string, unknown>>) ?? []).forEach((peer, i) => {
    if (peer.namespaces !== undefined)
      out.push({ scopeSelector: selector(namespacesSelector(peer.namespaces), `${at}[${i}].namespaces`, problems) ?? {} });
    else if (peer.pods !== undefined) {
      const sel = podsSelectors(peer.pods as Record<string, unknown>);
      out.push({
        scopeSelector: selector(sel.namespaces, `${at}[${i}].pods.namespaceSelector`, problems) ?? {},
        selector: selector(sel.pods, `${at}[${i}].pods.podSelector`, problems) ?? {},
      });
    } else if (Array.isArray(peer.networks)) {
      (peer.networks as unknown[]).forEach((n, j) => {
        const cidr = canonicalCidr(n, `${at}[${i}].networks[${j}]`, problems);
        if (cidr) out.push({ cidr });
      });
    }
    // nodes and domainNames select nothing inside a tenant: the rule simply does not match them.
  });
  return out;
}

function anpPorts(list: unknown): PolicyPort[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return (list as Array<Record<string, unknown>>).map((p) => {
    if (isObject(p.portNumber)) return { protocol: protocolOf(p.portNumber.protocol), port: Number(p.portNumber.port) };
    if (isObject(p.portRange))
      return { protocol: protocolOf(p.portRange.protocol), port: Number(p.portRange.start), endPort: Number(p.portRange.end) };
    // A named port in ANP carries no protocol: whatever the destination declares under that name.
    return { port: String(p.namedPort) };
  });
}

export function importAdminPolicy(object: K8sObject, tenant: string, problems: string[]): GlobalPolicy | undefined {
  const baseline = object.kind === 'BaselineAdminNetworkPolicy';
  const name = object.metadata?.name ?? '';
  const at = `${object.kind} ${name}`;
  const spec = object.spec ?? {};
  const local: string[] = [];
  const subject = anpSubject(spec.subject as Record<string, unknown> | undefined, at, local);
  const actions: Record<string, Rule['action']> = { Allow: 'allow', Deny: 'deny', Pass: 'pass' };
  const rules = (list: unknown, direction: 'ingress' | 'egress'): Rule[] =>
    ((list as Array<Record<string, unknown>>) ?? []).map((rule, r) => {
      const action = actions[String(rule.action)];
      if (!action || (baseline && action === 'pass'))
        local.push(`${at}: spec.${direction}[${r}].action: ${JSON.stringify(rule.action)} is not allowed`);
      const side = direction === 'ingress' ? 'from' : 'to';
      const out: Rule = { action: action ?? 'deny', [side]: anpPeers(rule[side], `${at}: spec.${direction}[${r}].${side}`, local) };
      const name = ruleName(rule.name);
      if (name) out.name = name;
      const ports = anpPorts(rule.ports);
      if (ports) out.ports = ports;
      return out;
    });
  if (!baseline && typeof spec.priority !== 'number') local.push(`${at}: spec.priority is required`);
  const policy: GlobalPolicy = {
    apiVersion: API_VERSION,
    kind: 'GlobalPolicy',
    metadata: {
      name: tenetName(tenant, baseline ? 'banp' : 'anp', name),
      annotations: { 'k8s.tenet.dev/source': `${object.kind} ${name}` },
    },
    spec: {
      tier: baseline ? 'baseline' : 'admin',
      priority: baseline ? 0 : Number(spec.priority),
      appliesTo: { tenants: [tenant], ...subject },
    },
  };
  if (spec.ingress !== undefined) policy.spec.ingress = rules(spec.ingress, 'ingress');
  if (spec.egress !== undefined) policy.spec.egress = rules(spec.egress, 'egress');
  problems.push(...local);
  return local.length > 0 ? undefined : policy;
}

// ---------------------------------------------------------------- namespaces and pods

export function importNamespace(name: string, labels: Labels | undefined, tenant: string): Scope {
  return {
    apiVersion: API_VERSION,
    kind: 'Scope',
    metadata: { name: tenetName(name), tenant, labels: { ...(labels ?? {}), [NAMESPACE_NAME_LABEL]: name } },
    spec: {},
  };
}

export function importPod(pod: PodInfo, tenant: string, network: string): Endpoint {
  const ips = [...(pod.ips ?? []), ...(pod.ip ? [pod.ip] : [])];
  const endpoint: Endpoint = {
    apiVersion: API_VERSION,
    kind: 'Endpoint',
    metadata: { name: tenetName(pod.namespace, pod.name), tenant, labels: { ...(pod.labels ?? {}) } },
    spec: { network, scope: tenetName(pod.namespace) },
  };
  if (ips.length > 0) endpoint.spec.ips = [...new Set(ips)].slice(0, 2);
  const ports = (pod.containerPorts ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: p.port,
    protocol: protocolOf(p.protocol) as 'TCP' | 'UDP' | 'SCTP',
  }));
  if (ports.length > 0) endpoint.spec.ports = ports;
  return endpoint;
}

/** Translates a list of Kubernetes objects (Namespace, Pod, NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy). */
export function importKubernetes(objects: readonly unknown[], tenant: string, options: { network?: string } = {}): ImportResult {
  const result: ImportResult = {
    scopes: [],
    referencedScopes: [],
    endpoints: [],
    policies: [],
    globalPolicies: [],
    problems: [],
    names: {},
  };
  const namespaces = new Map<string, Labels>();
  const referenced = new Set<string>();
  objects.forEach((raw, index) => {
    if (!isObject(raw)) {
      result.problems.push(`object ${index}: not a mapping`);
      return;
    }
    const object = raw as K8sObject;
    const name = object.metadata?.name;
    if (typeof name !== 'string' || name === '') {
      result.problems.push(`object ${index} (${object.kind}): metadata.name is required`);
      return;
    }
    switch (object.kind) {
      case 'Namespace':
        namespaces.set(name, object.metadata?.labels ?? {});
        break;
      case 'Pod': {
        const ns = object.metadata?.namespace ?? 'default';
        referenced.add(ns);
        const spec = object.spec ?? {};
        // A host-network pod is its node, no endpoint: no pod selector selects it upstream either.
        if (spec.hostNetwork === true) break;
        const containers = (spec.containers as Array<{ ports?: Array<{ name?: string; containerPort: number; protocol?: string }> }>) ?? [];
        const status = (raw as { status?: { podIP?: string } }).status;
        result.endpoints.push(
          importPod(
            {
              namespace: ns,
              name,
              labels: object.metadata?.labels,
              ip: status?.podIP,
              containerPorts: containers.flatMap((c) =>
                (c.ports ?? []).map((p) => ({ name: p.name, port: p.containerPort, protocol: p.protocol })),
              ),
            },
            tenant,
            options.network ?? 'default',
          ),
        );
        break;
      }
      case 'NetworkPolicy': {
        const ns = object.metadata?.namespace ?? 'default';
        referenced.add(ns);
        const policy = importNetworkPolicy(object, tenant, result.problems);
        if (policy) {
          result.policies.push(policy);
          result.names[`NetworkPolicy ${ns}/${name}`] = policy.metadata.name;
        }
        break;
      }
      case 'AdminNetworkPolicy':
      case 'BaselineAdminNetworkPolicy': {
        const policy = importAdminPolicy(object, tenant, result.problems);
        if (policy) {
          result.globalPolicies.push(policy);
          result.names[`${object.kind} ${name}`] = policy.metadata.name;
        }
        break;
      }
      case 'ClusterNetworkPolicy': {
        const policy = importClusterNetworkPolicy(raw, name, tenetName(tenant, 'cnp', name), tenant, result.problems);
        if (policy) {
          result.globalPolicies.push(policy);
          result.names[`ClusterNetworkPolicy ${name}`] = policy.metadata.name;
        }
        break;
      }
      default:
        result.problems.push(
          `object ${index}: kind ${JSON.stringify(object.kind)} is not imported (Namespace, Pod, NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy)`,
        );
    }
  });
  for (const [name, labels] of namespaces) result.scopes.push(importNamespace(name, labels, tenant));
  for (const name of referenced) if (!namespaces.has(name)) result.referencedScopes.push(importNamespace(name, undefined, tenant));
  return result;
}

export interface ScopePlan {
  /** Referenced scopes that do not exist yet: created with only the name label. */
  create: Scope[];
  /** Referenced scopes that exist without the name label policies select them by (left as they are). */
  unlabelled: string[];
}

/**
 * What to do with referenced scopes given the tenant's existing ones: create the missing, leave
 * every existing one alone (its labels belong to whoever set them), and say which existing ones the
 * imported policies will not select because they lack the `kubernetes.io/metadata.name` label.
 */
export function planReferencedScopes(referenced: readonly Scope[], existing: readonly Scope[]): ScopePlan {
  const byName = new Map(existing.map((s) => [s.metadata.name, s]));
  const plan: ScopePlan = { create: [], unlabelled: [] };
  for (const scope of referenced) {
    const live = byName.get(scope.metadata.name);
    if (!live) {
      plan.create.push(scope);
      continue;
    }
    const wanted = scope.metadata.labels?.[NAMESPACE_NAME_LABEL];
    if (live.metadata.labels?.[NAMESPACE_NAME_LABEL] !== wanted)
      plan.unlabelled.push(`${scope.metadata.name} (${NAMESPACE_NAME_LABEL}=${wanted ?? ''})`);
  }
  return plan;
}
