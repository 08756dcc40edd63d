/**
 * Which objects a principal may see in lists, snapshots and watch streams (the "filter" answer of
 * authorize(), and an agent's host scope). Pure: the caller supplies the tenants an agent's host needs.
 *
 * Agents see every Tenant, Network, Host and GlobalPolicy (attach reads tenants and networks by
 * name before the host has an endpoint there; every host's data plane needs all hosts and global
 * policies) but the groups, scopes, policies, services and endpoints only of tenants that have an
 * endpoint on their host, plus their own endpoints.
 */
import type { KindName } from '../model/registry';
import type { Principal } from './roles';

export const AGENT_SCOPED_KINDS: ReadonlySet<KindName> = new Set<KindName>([
  'Scope',
  'Group',
  'Policy',
  'Service',
  'Endpoint',
  'FloatingIP',
]);

export interface ObjectFacts {
  kind: KindName;
  /** '' for cluster-scoped kinds. */
  tenant: string;
  name: string;
  /** spec.host of an endpoint. */
  host?: string;
}

export type Visibility = (object: ObjectFacts) => boolean;

export function visibilityOf(principal: Principal, agentTenants: ReadonlySet<string> = new Set()): Visibility {
  switch (principal.role) {
    case 'admin':
      return () => true;
    case 'tenant-admin':
    case 'viewer': {
      const own = principal.tenant ?? '';
      return (o) => (o.kind === 'Tenant' ? o.name === own : o.tenant !== '' && o.tenant === own);
    }
    case 'agent': {
      const host = principal.host ?? '';
      return (o) => !AGENT_SCOPED_KINDS.has(o.kind) || agentTenants.has(o.tenant) || (o.kind === 'Endpoint' && o.host === host);
    }
  }
}
