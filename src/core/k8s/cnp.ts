/**
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) -> GlobalPolicy (pure).
 *
 * Validation follows the upstream CRD (its OpenAPI bounds and CEL rules) so that an object the
 * API server would refuse is refused here too, each problem naming the field and the reason; an
 * object with any problem is left out whole (never half a policy). Tenet-specific refusals:
 * `domainNames` peers (no DNS-aware matching yet) and fields the schema does not know (the API
 * server's strict field validation refuses them too; silently dropping a peer would change what a
 * Deny rule covers).
 */
import type { GlobalPolicy, Peer, PolicyPort, Rule } from '../model/kinds/policy';
import type { LabelSelector, Labels } from '../model/selectors';
import { API_VERSION } from '../model/common';
import { formatCidr, parseCidr } from '../net/ip';

export const CNP_API_VERSION = 'policy.networking.k8s.io/v1alpha2';
const MAX_RULES = 25;
const MAX_PEERS = 25;
const MAX_PROTOCOLS = 25;
const MAX_NETWORKS = 25;
const NAMED_PORT_MESSAGE =
  'networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames';

type Raw = Record<string, unknown>;

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The names of the fields set (present and not null), as the API server counts properties. */
function setFields(value: Raw): string[] {
  return Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null);
}

/** Unknown fields, then "exactly one of" (MinProperties=1, MaxProperties=1 in the CRD). */
function oneOf(value: Raw, allowed: readonly string[], at: string, problems: string[]): string | undefined {
  const fields = setFields(value);
  const unknown = fields.filter((f) => !allowed.includes(f));
  if (unknown.length > 0) {
    problems.push(
      `${at}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => JSON.stringify(f)).join(', ')} (known: ${allowed.join(', ')})`,
    );
    return undefined;
  }
  if (fields.length !== 1) {
    problems.push(`${at}: exactly one of ${allowed.join(', ')} must be set (found ${fields.length === 0 ? 'none' : fields.join(', ')})`);
    return undefined;
  }
  return fields[0];
}

function unknownFields(value: Raw, allowed: readonly string[], at: string, problems: string[]): void {
  const unknown = setFields(value).filter((f) => !allowed.includes(f));
  if (unknown.length > 0)
    problems.push(
      `${at}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => JSON.stringify(f)).join(', ')} (known: ${allowed.join(', ')})`,
    );
}

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** A metav1.LabelSelector, checked as the API server checks one. */
export function labelSelector(value: unknown, at: string, problems: string[]): LabelSelector | undefined {
  if (!isObject(value)) {
    problems.push(`${at}: must be a label selector (a mapping with matchLabels and/or matchExpressions)`);
    return undefined;
  }
  const before = problems.length;
  unknownFields(value, ['matchLabels', 'matchExpressions'], at, problems);
  const out: LabelSelector = {};
  if (value.matchLabels !== undefined && value.matchLabels !== null) {
    if (!isObject(value.matchLabels) || Object.values(value.matchLabels).some((v) => typeof v !== 'string'))
      problems.push(`${at}.matchLabels: must map label keys to string values`);
    else out.matchLabels = { ...(value.matchLabels as Labels) };
  }
  if (value.matchExpressions !== undefined && value.matchExpressions !== null) {
    if (!Array.isArray(value.matchExpressions)) problems.push(`${at}.matchExpressions: must be a list`);
    else {
      out.matchExpressions = [];
      value.matchExpressions.forEach((e: unknown, i) => {
        const eAt = `${at}.matchExpressions[${i}]`;
        if (!isObject(e) || typeof e.key !== 'string' || e.key === '') return void problems.push(`${eAt}: needs a key`);
        const operator = String(e.operator);
        if (!OPERATORS.includes(operator))
          return void problems.push(`${eAt}.operator: ${JSON.stringify(e.operator)} is not one of ${OPERATORS.join(', ')}`);
        const values = Array.isArray(e.values) ? e.values.map(String) : [];
        const needsValues = operator === 'In' || operator === 'NotIn';
        if (needsValues && values.length === 0) return void problems.push(`${eAt}.values: must be non-empty for operator ${operator}`);
        if (!needsValues && values.length > 0) return void problems.push(`${eAt}.values: must be empty for operator ${operator}`);
        out.matchExpressions!.push({ key: e.key, operator: operator as 'In', ...(needsValues ? { values } : {}) });
      });
    }
  }
  return problems.length > before ? undefined : out;
}

/** NamespacedPod: podSelector required, namespaceSelector optional (absent or empty: every namespace). */
function namespacedPod(value: unknown, at: string, problems: string[]): Peer | undefined {
  if (!isObject(value)) return void problems.push(`${at}: must be a mapping with podSelector and namespaceSelector`);
  unknownFields(value, ['namespaceSelector', 'podSelector'], at, problems);
  if (value.podSelector === undefined || value.podSelector === null)
    return void problems.push(`${at}.podSelector: is required (an empty selector selects every pod)`);
  const selector = labelSelector(value.podSelector, `${at}.podSelector`, problems);
  const scopeSelector =
    value.namespaceSelector === undefined || value.namespaceSelector === null
      ? {}
      : labelSelector(value.namespaceSelector, `${at}.namespaceSelector`, problems);
  return selector && scopeSelector ? { scopeSelector, selector } : undefined;
}

function subject(value: unknown, at: string, problems: string[]): { selector?: LabelSelector; scopeSelector?: LabelSelector } | undefined {
  if (!isObject(value)) return void problems.push(`${at}: is required (namespaces or pods)`);
  const field = oneOf(value, ['namespaces', 'pods'], at, problems);
  if (field === 'namespaces') {
    const scopeSelector = labelSelector(value.namespaces, `${at}.namespaces`, problems);
    return scopeSelector ? { scopeSelector } : undefined;
  }
  if (field === 'pods') return namespacedPod(value.pods, `${at}.pods`, problems);
  return undefined;
}

function list(value: unknown, at: string, min: number, max: number, problems: string[]): unknown[] | undefined {
  if (!Array.isArray(value)) return void problems.push(`${at}: must be a list`);
  if (value.length < min) return void problems.push(`${at}: needs at least ${min} item${min > 1 ? 's' : ''}`);
  if (value.length > max) return void problems.push(`${at}: at most ${max} items (found ${value.length})`);
  return value;
}

function peers(value: unknown, direction: 'ingress' | 'egress', at: string, problems: string[]): { peers: Peer[]; addressPeers: boolean } {
  const out: Peer[] = [];
  let addressPeers = false;
  const items = list(value, at, 1, MAX_PEERS, problems) ?? [];
  const allowed = direction === 'ingress' ? ['namespaces', 'pods'] : ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'];
  items.forEach((peer, i) => {
    const pAt = `${at}[${i}]`;
    if (!isObject(peer)) return void problems.push(`${pAt}: must be a mapping`);
    const field = oneOf(peer, allowed, pAt, problems);
    switch (field) {
      case 'namespaces': {
        const scopeSelector = labelSelector(peer.namespaces, `${pAt}.namespaces`, problems);
        if (scopeSelector) out.push({ scopeSelector });
        break;
      }
      case 'pods': {
        const p = namespacedPod(peer.pods, `${pAt}.pods`, problems);
        if (p) out.push(p);
        break;
      }
      case 'nodes': {
        addressPeers = true;
        const hostSelector = labelSelector(peer.nodes, `${pAt}.nodes`, problems);
        if (hostSelector) out.push({ hostSelector });
        break;
      }
      case 'networks': {
        addressPeers = true;
        const networks = list(peer.networks, `${pAt}.networks`, 1, MAX_NETWORKS, problems) ?? [];
        const seen = new Set<string>();
        networks.forEach((n, j) => {
          const nAt = `${pAt}.networks[${j}]`;
          if (typeof n !== 'string' || n.length > 43) return void problems.push(`${nAt}: must be a CIDR string of at most 43 characters`);
          const cidr = parseCidr(n);
          if (!cidr) return void problems.push(`${nAt}: Invalid CIDR format provided (${JSON.stringify(n)})`);
          if (seen.has(n)) return void problems.push(`${nAt}: duplicate value ${JSON.stringify(n)} (networks is a set)`);
          seen.add(n);
          // isCIDR accepts host bits (10.0.0.1/24); the network they name is the same.
          out.push({ cidr: formatCidr(cidr) });
        });
        break;
      }
      case 'domainNames':
        addressPeers = true;
        problems.push(
          `${pAt}.domainNames: domain-name peers are not supported yet: Tenet has no DNS for tenants, so it cannot learn which addresses a name stands for; refused rather than matching nothing`,
        );
        break;
      default:
        break;
    }
  });
  return { peers: out, addressPeers };
}

function port(value: unknown, protocol: 'TCP' | 'UDP' | 'SCTP', at: string, problems: string[]): PolicyPort | undefined {
  if (!isObject(value)) return void problems.push(`${at}: must be a mapping with destinationPort`);
  const field = oneOf(value, ['destinationPort'], at, problems);
  if (field !== 'destinationPort') return undefined;
  const dAt = `${at}.destinationPort`;
  const dest = value.destinationPort;
  if (!isObject(dest)) return void problems.push(`${dAt}: must be a mapping with number or range`);
  const kind = oneOf(dest, ['number', 'range'], dAt, problems);
  const valid = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
  if (kind === 'number') {
    if (!valid(dest.number))
      return void problems.push(`${dAt}.number: must be an integer from 1 to 65535 (found ${JSON.stringify(dest.number)})`);
    return { protocol, port: dest.number };
  }
  if (kind === 'range') {
    const range = dest.range;
    if (!isObject(range)) return void problems.push(`${dAt}.range: must be a mapping with start and end`);
    unknownFields(range, ['start', 'end'], `${dAt}.range`, problems);
    if (!valid(range.start))
      return void problems.push(`${dAt}.range.start: must be an integer from 1 to 65535 (found ${JSON.stringify(range.start)})`);
    if (!valid(range.end))
      return void problems.push(`${dAt}.range.end: must be an integer from 1 to 65535 (found ${JSON.stringify(range.end)})`);
    if (!(range.start < range.end))
      return void problems.push(`${dAt}.range: Start port must be less than End port (${range.start} >= ${range.end})`);
    return { protocol, port: range.start, endPort: range.end };
  }
  return undefined;
}

const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function protocols(value: unknown, at: string, problems: string[]): { ports: PolicyPort[]; named: boolean } {
  const out: PolicyPort[] = [];
  let named = false;
  const items = list(value, at, 1, MAX_PROTOCOLS, problems) ?? [];
  items.forEach((item, i) => {
    const pAt = `${at}[${i}]`;
    if (!isObject(item)) return void problems.push(`${pAt}: must be a mapping`);
    const field = oneOf(item, ['tcp', 'udp', 'sctp', 'destinationNamedPort'], pAt, problems);
    if (field === 'destinationNamedPort') {
      named = true;
      const name = item.destinationNamedPort;
      if (typeof name !== 'string' || name.length > 15 || !PORT_NAME.test(name)) {
        return void problems.push(
          `${pAt}.destinationNamedPort: ${JSON.stringify(name)} is not a container port name (lowercase letters, digits and '-', at most 15)`,
        );
      }
      // No protocol: whatever protocol the destination pod declares under that name.
      out.push({ port: name });
    } else if (field) {
      const p = port(item[field], field.toUpperCase() as 'TCP', `${pAt}.${field}`, problems);
      if (p) out.push(p);
    }
  });
  return { ports: out, named };
}

/** A Tenet rule name (the plain alphabet explain and nft comments allow) from the upstream one. */
function ruleName(text: string): string | undefined {
  const cleaned = text
    .replace(/[^-A-Za-z0-9_. ]/g, '_')
    .slice(0, 100)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned || undefined;
}

const ACTIONS: Record<string, Rule['action']> = { Accept: 'allow', Deny: 'deny', Pass: 'pass' };

function rules(value: unknown, direction: 'ingress' | 'egress', at: string, problems: string[]): Rule[] {
  const items = list(value, at, 0, MAX_RULES, problems) ?? [];
  const side = direction === 'ingress' ? 'from' : 'to';
  const out: Rule[] = [];
  items.forEach((raw, r) => {
    const rAt = `${at}[${r}]`;
    if (!isObject(raw)) return void problems.push(`${rAt}: must be a mapping`);
    unknownFields(raw, ['name', 'action', side, 'protocols'], rAt, problems);
    const action = ACTIONS[String(raw.action)];
    if (!action) problems.push(`${rAt}.action: ${JSON.stringify(raw.action)} is not one of Accept, Deny, Pass`);
    if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name.length > 100))
      problems.push(`${rAt}.name: must be a string of at most 100 characters`);
    if (raw[side] === undefined || raw[side] === null) problems.push(`${rAt}.${side}: is required (at least one peer)`);
    const { peers: list, addressPeers } =
      raw[side] === undefined || raw[side] === null
        ? { peers: [], addressPeers: false }
        : peers(raw[side], direction, `${rAt}.${side}`, problems);
    const rule: Rule = { action: action ?? 'deny', [side]: list };
    if (typeof raw.name === 'string') {
      const name = ruleName(raw.name);
      if (name) rule.name = name;
    }
    if (raw.protocols !== undefined && raw.protocols !== null) {
      const { ports, named } = protocols(raw.protocols, `${rAt}.protocols`, problems);
      if (direction === 'egress' && named && addressPeers) problems.push(`${rAt}: ${NAMED_PORT_MESSAGE}`);
      rule.ports = ports;
    }
    out.push(rule);
  });
  return out;
}

/**
 * One ClusterNetworkPolicy as a GlobalPolicy restricted to the tenant (cluster-wide there is
 * tenant-wide here). Both tiers keep the upstream priority (0-1000, lower first).
 */
export function importClusterNetworkPolicy(
  object: Raw,
  name: string,
  policyName: string,
  tenant: string,
  problems: string[],
): GlobalPolicy | undefined {
  const at = `ClusterNetworkPolicy ${name}`;
  const local: string[] = [];
  if (object.apiVersion !== CNP_API_VERSION) local.push(`${at}: apiVersion ${JSON.stringify(object.apiVersion)} is not ${CNP_API_VERSION}`);
  const spec = object.spec;
  if (!isObject(spec)) {
    problems.push(`${at}: spec is required`);
    return undefined;
  }
  unknownFields(spec, ['tier', 'priority', 'subject', 'ingress', 'egress'], `${at}: spec`, local);
  const tier = spec.tier === 'Admin' ? 'admin' : spec.tier === 'Baseline' ? 'baseline' : undefined;
  if (!tier)
    local.push(
      `${at}: spec.tier: ${spec.tier === undefined ? 'is required' : `${JSON.stringify(spec.tier)} is not`} (one of Admin, Baseline)`,
    );
  const priority = spec.priority;
  if (!Number.isInteger(priority) || (priority as number) < 0 || (priority as number) > 1000) {
    local.push(
      `${at}: spec.priority: ${priority === undefined ? 'is required' : `${JSON.stringify(priority)} is not allowed`} (an integer from 0 to 1000)`,
    );
  }
  const applies = subject(spec.subject, `${at}: spec.subject`, local);
  const ingress =
    spec.ingress === undefined || spec.ingress === null ? undefined : rules(spec.ingress, 'ingress', `${at}: spec.ingress`, local);
  const egress = spec.egress === undefined || spec.egress === null ? undefined : rules(spec.egress, 'egress', `${at}: spec.egress`, local);
  problems.push(...local);
  if (local.length > 0 || !tier || !applies) return undefined;
  const policy: GlobalPolicy = {
    apiVersion: API_VERSION,
    kind: 'GlobalPolicy',
    metadata: { name: policyName, annotations: { 'k8s.tenet.dev/source': `ClusterNetworkPolicy ${name}` } },
    spec: { tier, priority: priority as number, appliesTo: { tenants: [tenant], ...applies } },
  };
  // No rules in a direction: the policy does not affect that direction (nothing to isolate in these tiers).
  if (ingress && ingress.length > 0) policy.spec.ingress = ingress;
  if (egress && egress.length > 0) policy.spec.egress = egress;
  return policy;
}
