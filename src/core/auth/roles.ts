/**
 * Who may do what. A pure decision over (principal, action); the HTTP layer asks it for
 * every request and turns the answer into 2xx / 403 / 404. Another tenant's objects
 * answer 404 rather than 403 so that their existence is never disclosed.
 */
import type { KindName } from '../model/registry';

export type Role = 'admin' | 'tenant-admin' | 'viewer' | 'agent';

export const ROLES: readonly Role[] = ['admin', 'tenant-admin', 'viewer', 'agent'];

export interface Principal {
  tokenId: string;
  role: Role;
  /** For tenant-admin and viewer. */
  tenant?: string;
  /** For agent. */
  host?: string;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'status';

export const READ_VERBS: ReadonlySet<Verb> = new Set<Verb>(['get', 'list', 'watch']);

export interface Action {
  verb: Verb;
  kind: KindName;
  /** Tenant of the object or collection; '' for cluster-scoped kinds and for all-tenant lists. */
  tenant: string;
  /** Name of the object for item requests. */
  name?: string;
  /** For endpoint writes by agents: the host the endpoint is (or would be) on. */
  endpointHost?: string;
}

/**
 * allow: go ahead. filter: allowed, but the answer must be narrowed to what the principal may see
 * (lists across tenants). forbidden: 403. hidden: 404, as if the object did not exist.
 */
export type Decision =
  { outcome: 'allow' } | { outcome: 'filter'; tenant: string } | { outcome: 'forbidden'; reason: string } | { outcome: 'hidden' };

const ALLOW: Decision = { outcome: 'allow' };

const TENANT_KINDS: ReadonlySet<KindName> = new Set<KindName>(['Network', 'Scope', 'Group', 'Policy', 'Service', 'Endpoint', 'FloatingIP']);

export function authorize(principal: Principal, action: Action): Decision {
  switch (principal.role) {
    case 'admin':
      return ALLOW;
    case 'tenant-admin':
    case 'viewer':
      return authorizeTenantRole(principal, action);
    case 'agent':
      return authorizeAgent(principal, action);
  }
}

function authorizeTenantRole(principal: Principal, action: Action): Decision {
  const own = principal.tenant ?? '';
  const readOnly = principal.role === 'viewer';
  const reading = READ_VERBS.has(action.verb);
  if (action.kind === 'Tenant') {
    // A tenant's members may read their own Tenant object; nobody but admins creates or changes tenants.
    if (action.verb === 'create') return { outcome: 'forbidden', reason: `${principal.role} of tenant "${own}" cannot create tenants` };
    if (action.name !== undefined && action.name !== own) return { outcome: 'hidden' };
    if (!reading) return { outcome: 'forbidden', reason: `${principal.role} of tenant "${own}" cannot ${action.verb} tenants` };
    return action.name === undefined ? { outcome: 'filter', tenant: own } : ALLOW;
  }
  if (!TENANT_KINDS.has(action.kind)) {
    return { outcome: 'forbidden', reason: `${principal.role} of tenant "${own}" has no access to ${action.kind} objects` };
  }
  if (action.tenant === '') {
    // A list or watch across all tenants: allowed, narrowed to the principal's own tenant.
    if (!reading) return { outcome: 'forbidden', reason: `${action.verb} needs a tenant` };
    return { outcome: 'filter', tenant: own };
  }
  if (action.tenant !== own) return { outcome: 'hidden' };
  if (readOnly && !reading) return { outcome: 'forbidden', reason: `viewer of tenant "${own}" may only read` };
  return ALLOW;
}

/**
 * Agents read what a host needs and write only their own host's objects. What "needs" means for
 * lists and watches (the tenants with endpoints on the host) is applied by the HTTP layer, which
 * knows the endpoints; here an agent's reads are allowed and its writes are checked.
 */
function authorizeAgent(principal: Principal, action: Action): Decision {
  const host = principal.host ?? '';
  const reading = READ_VERBS.has(action.verb);
  if (reading) return ALLOW;
  if (action.kind === 'Host') {
    if (action.name !== host) return { outcome: 'forbidden', reason: `agent of host "${host}" may only write its own Host` };
    return action.verb === 'delete' ? { outcome: 'forbidden', reason: 'agents cannot delete hosts' } : ALLOW;
  }
  if (action.kind === 'Endpoint') {
    if (action.endpointHost !== undefined && action.endpointHost !== host) {
      return { outcome: 'forbidden', reason: `agent of host "${host}" may only manage endpoints on its host` };
    }
    return ALLOW;
  }
  return { outcome: 'forbidden', reason: `agents cannot ${action.verb} ${action.kind} objects` };
}
