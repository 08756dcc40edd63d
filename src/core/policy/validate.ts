/**
 * Meaning checks of Policy and GlobalPolicy specs that a schema cannot express,
 * and the cross-reference check the controller runs before storing one
 * (unknown group, network, tenant). Everything is reported in one round.
 */
import type { Peer, PolicyPort, PolicySpec, Rule } from '../model/kinds/policy';
import { selectorProblems } from '../model/selectors';
import { cidrsOverlap, isCanonicalCidr, parseCidr } from '../net/ip';

export type PolicyKind = 'Policy' | 'GlobalPolicy';

export function policyProblems(kind: PolicyKind, spec: PolicySpec): string[] {
  const problems: string[] = [];
  if (kind === 'Policy' && spec.tier !== undefined && spec.tier !== 'tenant') {
    problems.push(`spec.tier: a tenant Policy may only use tier "tenant" (got "${spec.tier}"); use a GlobalPolicy for admin and baseline`);
  }
  if (kind === 'GlobalPolicy' && spec.tier !== 'admin' && spec.tier !== 'baseline') {
    problems.push(`spec.tier: a GlobalPolicy needs tier "admin" or "baseline"`);
  }
  const applies = spec.appliesTo;
  if (applies.group !== undefined && applies.selector !== undefined)
    problems.push('spec.appliesTo: give either group or selector, not both');
  if (kind === 'Policy' && (applies.tenants || applies.tenantSelector)) {
    problems.push('spec.appliesTo: tenants and tenantSelector are only for GlobalPolicy');
  }
  if (applies.selector) problems.push(...selectorProblems(applies.selector, 'spec.appliesTo.selector'));
  if (applies.scopeSelector) problems.push(...selectorProblems(applies.scopeSelector, 'spec.appliesTo.scopeSelector'));
  if (applies.tenantSelector) problems.push(...selectorProblems(applies.tenantSelector, 'spec.appliesTo.tenantSelector'));
  const types = spec.policyTypes ?? [];
  if (new Set(types).size !== types.length) problems.push('spec.policyTypes: each of Ingress and Egress at most once');
  const checkRules = (rules: Rule[] | undefined, direction: 'ingress' | 'egress') => {
    (rules ?? []).forEach((rule, index) => {
      const at = `spec.${direction}[${index}]`;
      if (kind === 'Policy' && rule.action === 'pass')
        problems.push(`${at}.action: "pass" is only meaningful in the admin and baseline tiers`);
      const wrongSide = direction === 'ingress' ? rule.to : rule.from;
      if (wrongSide !== undefined) {
        problems.push(
          `${at}: ${direction} rules take "${direction === 'ingress' ? 'from' : 'to'}", not "${direction === 'ingress' ? 'to' : 'from'}"`,
        );
      }
      const peers = direction === 'ingress' ? rule.from : rule.to;
      (peers ?? []).forEach((peer, p) => {
        const peerAt = `${at}.${direction === 'ingress' ? 'from' : 'to'}[${p}]`;
        problems.push(...peerProblems(kind, peer, peerAt));
        // A host is a destination, never a source the router namespace can tell apart (see docs/policy.md).
        if (direction === 'ingress' && peer.hostSelector !== undefined) problems.push(`${peerAt}.hostSelector: only in egress rules`);
      });
      (rule.ports ?? []).forEach((port, p) => problems.push(...portProblems(port, `${at}.ports[${p}]`)));
    });
  };
  checkRules(spec.ingress, 'ingress');
  checkRules(spec.egress, 'egress');
  return problems;
}

export function peerProblems(kind: PolicyKind, peer: Peer, at: string): string[] {
  const problems: string[] = [];
  const forms = [
    peer.group !== undefined,
    peer.selector !== undefined || peer.scopeSelector !== undefined,
    peer.network !== undefined,
    peer.cidr !== undefined,
    peer.hostSelector !== undefined,
  ];
  const tenantForm = peer.tenants !== undefined || peer.tenantSelector !== undefined;
  const count = forms.filter(Boolean).length;
  if (count === 0 && !tenantForm) {
    problems.push(
      `${at}: a peer needs one of group, selector, scopeSelector, network, cidr${kind === 'GlobalPolicy' ? ', hostSelector, tenants, tenantSelector' : ''}`,
    );
  }
  if (count > 1) problems.push(`${at}: give only one of group, selector/scopeSelector, network, cidr, hostSelector`);
  if (kind === 'Policy' && peer.hostSelector !== undefined) problems.push(`${at}.hostSelector: only for GlobalPolicy`);
  if (peer.hostSelector) problems.push(...selectorProblems(peer.hostSelector, `${at}.hostSelector`));
  if (kind === 'Policy' && tenantForm) problems.push(`${at}: tenants and tenantSelector are only for GlobalPolicy`);
  if (peer.selector) problems.push(...selectorProblems(peer.selector, `${at}.selector`));
  if (peer.scopeSelector) problems.push(...selectorProblems(peer.scopeSelector, `${at}.scopeSelector`));
  if (peer.tenantSelector) problems.push(...selectorProblems(peer.tenantSelector, `${at}.tenantSelector`));
  if (peer.except !== undefined && peer.cidr === undefined) problems.push(`${at}.except: only allowed together with cidr`);
  if (peer.cidr !== undefined) {
    const cidr = parseCidr(peer.cidr);
    if (!cidr) problems.push(`${at}.cidr: "${peer.cidr}" is not a valid CIDR`);
    else if (!isCanonicalCidr(peer.cidr)) problems.push(`${at}.cidr: "${peer.cidr}" has host bits set`);
    (peer.except ?? []).forEach((text, e) => {
      const inner = parseCidr(text);
      if (!inner) problems.push(`${at}.except[${e}]: "${text}" is not a valid CIDR`);
      else if (cidr && (inner.family !== cidr.family || inner.prefix < cidr.prefix || !cidrsOverlap(inner, cidr))) {
        problems.push(`${at}.except[${e}]: ${text} must lie inside ${peer.cidr}`);
      }
    });
  }
  return problems;
}

export function portProblems(port: PolicyPort, at: string): string[] {
  const problems: string[] = [];
  const icmp = port.protocol === 'ICMP' || port.protocol === 'ICMPv6';
  if (icmp && (port.port !== undefined || port.endPort !== undefined)) problems.push(`${at}: ${port.protocol} takes no port`);
  if (typeof port.port === 'number' && (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535)) {
    problems.push(`${at}.port: ${port.port} is not a port (1-65535)`);
  }
  if (port.endPort !== undefined) {
    if (typeof port.port !== 'number') problems.push(`${at}.endPort: needs a numeric port`);
    else if (port.endPort < port.port) problems.push(`${at}.endPort: ${port.endPort} is below port ${port.port}`);
  }
  return problems;
}

/** What the controller knows, asked by name. */
export interface ReferenceLookup {
  group(tenant: string, name: string): boolean;
  network(tenant: string, name: string): boolean;
  tenant(name: string): boolean;
}

interface PolicyLike {
  kind: string;
  metadata: { name: string; tenant?: string };
  spec: PolicySpec;
}

/**
 * Cross-object references of a Policy (groups and networks of its tenant) or a GlobalPolicy
 * (named tenants; groups and networks must exist in every tenant it names, or — with no tenant list — may be
 * missing in some, where they simply select nothing).
 */
export function policyReferenceProblems(policy: PolicyLike, lookup: ReferenceLookup): string[] {
  const problems: string[] = [];
  const spec = policy.spec;
  const tenants = policy.kind === 'Policy' ? [policy.metadata.tenant ?? ''] : (spec.appliesTo.tenants ?? []);
  const check = (what: 'group' | 'network', name: string | undefined, at: string, scopeTenants: string[]) => {
    if (name === undefined) return;
    for (const tenant of scopeTenants) {
      if (!lookup[what](tenant, name)) problems.push(`${at}.${what}: ${what} "${name}" does not exist in tenant "${tenant}"`);
    }
  };
  if (policy.kind === 'GlobalPolicy') {
    (spec.appliesTo.tenants ?? []).forEach((t, i) => {
      if (!lookup.tenant(t)) problems.push(`spec.appliesTo.tenants[${i}]: tenant "${t}" does not exist`);
    });
  }
  check('group', spec.appliesTo.group, 'spec.appliesTo', tenants);
  for (const direction of ['ingress', 'egress'] as const) {
    (spec[direction] ?? []).forEach((rule, r) => {
      const side = direction === 'ingress' ? 'from' : 'to';
      (rule[side] ?? []).forEach((peer, p) => {
        const at = `spec.${direction}[${r}].${side}[${p}]`;
        const peerTenants = policy.kind === 'Policy' ? tenants : (peer.tenants ?? tenants);
        if (policy.kind === 'GlobalPolicy') {
          (peer.tenants ?? []).forEach((t, i) => {
            if (!lookup.tenant(t)) problems.push(`${at}.tenants[${i}]: tenant "${t}" does not exist`);
          });
        }
        check('group', peer.group, at, peerTenants);
        check('network', peer.network, at, peerTenants);
      });
    });
  }
  return problems;
}
