/**
 * What a principal may do with a request: its route's access rule + params + body -> authorize()
 * -> 403 / 404 (hidden) / allow / narrowed view (lists, snapshots and watches filtered to what the
 * principal may see).
 */
import type { FastifyRequest } from 'fastify';
import { authorize, type Action, type Decision, type Principal, type Verb } from '../../core/auth/roles';
import { visibilityOf, type Visibility } from '../../core/auth/visibility';
import { tenantOf } from '../../core/auth/change-summary';
import { kindInfo, type KindName } from '../../core/model/registry';
import type { TenetObject } from '../../core/model/object';
import { objectKey } from '../../store/keys';
import type { Store } from '../../store/store';
import { ServiceError, notFound } from '../errors';
import type { WatchGuard } from '../watch-stream';
import { endpointHost, type HostEndpoints } from './host-endpoints';
import type { RouteAction } from './access';
import { agentWatchGuard } from './agent-watch';
import { clip, setScope } from './audit';

export const forbidden = (message: string) => new ServiceError(403, 'Forbidden', message);

/**
 * An agent writing the status of its own Host is its heartbeat (every 10 s, with the rule counters):
 * an entry for each would bury the changes people look for. Refused or failed ones are still recorded.
 */
export function isOwnHeartbeat(principal: Principal, action: RouteAction, request: FastifyRequest): boolean {
  // Its flow reports likewise (every second while records come).
  if (principal.role === 'agent' && action.type === 'flows' && action.verb === 'report') return true;
  // And its trace reports (the route refuses any other host's).
  if (principal.role === 'agent' && action.type === 'trace-channel') return true;
  if (principal.role !== 'agent' || action.type !== 'object' || action.kind !== 'Host' || action.verb !== 'status') return false;
  return (request.params as Record<string, unknown> | undefined)?.name === principal.host;
}

export function isWatch(request: FastifyRequest): boolean {
  return request.routeOptions.url === '/api/v1/watch' || truthy((request.query as Record<string, unknown>).watch);
}

function refuse(decision: Decision, what: string): void {
  if (decision.outcome === 'forbidden') throw forbidden(decision.reason);
  if (decision.outcome === 'hidden') throw notFound(`${what} not found`);
}

/** The revision a watch starts after (what its client's snapshot saw); invalid values fail later in the handler. */
function watchStart(request: FastifyRequest): number | undefined {
  const text = (request.query as Record<string, unknown>).resourceVersion;
  return typeof text === 'string' && /^[0-9]{1,15}$/.test(text) ? Number(text) : undefined;
}

function truthy(value: unknown): boolean {
  return typeof value === 'string' && ['1', 'true', 'yes'].includes(value.toLowerCase());
}

function objectFacts(item: TenetObject) {
  return { kind: item.kind, tenant: item.metadata?.tenant ?? '', name: item.metadata?.name ?? '', host: endpointHost(item) };
}

function narrowWith(visible: Visibility): (items: TenetObject[]) => TenetObject[] {
  return (items) => items.filter((item) => visible(objectFacts(item)));
}

function staticGuard(visible: Visibility): WatchGuard {
  return {
    visible: (ref, object) => visible({ kind: ref.kind, tenant: ref.tenant, name: ref.name, host: endpointHost(object) }),
    mustRelist: () => false,
  };
}

export async function authorizeRequest(
  request: FastifyRequest,
  principal: Principal,
  action: RouteAction,
  hostEndpoints: HostEndpoints,
  store: Store,
): Promise<void> {
  const role = principal.role;
  switch (action.type) {
    case 'any':
      return;
    case 'admin':
      if (role !== 'admin') throw forbidden(`only admins may ${request.method} ${request.routeOptions.url}`);
      return;
    case 'audit':
      if (role !== 'admin' && role !== 'tenant-admin') throw forbidden(`${role} tokens cannot read the audit trail`);
      return;
    case 'apply':
      return authorizeApply(request, principal);
    case 'policy-question': {
      if (role === 'agent') throw forbidden('agents do not ask policy questions');
      const tenant = String((request.params as Record<string, unknown> | undefined)?.tenant ?? '');
      refuse(authorize(principal, { verb: 'list', kind: 'Policy', tenant }), `tenant ${tenant}`);
      return;
    }
    case 'flows':
      return authorizeFlows(request, principal, action.verb);
    case 'trace-channel': {
      // Trace jobs arm and inject in the kernel: only the agent of that very host takes them or reports on them.
      const host = (request.params as Record<string, unknown> | undefined)?.name;
      if (role === 'agent' && principal.host === host) return;
      throw forbidden(`only the agent of host "${String(host).slice(0, 63)}" may use its trace channel`);
    }
    case 'kinds':
      return authorizeKinds(request, principal, action.verb, hostEndpoints);
    case 'object':
      return authorizeObject(request, principal, action, hostEndpoints, store);
    case 'public':
      return;
  }
}

/**
 * Flow records: an admin reads every tenant's, a tenant-admin or viewer only its own tenant's (the
 * handler filters by request.flowTenant; asking for another tenant is refused), an agent none. Only
 * the agent of the host named in the path (or an admin) reports that host's records.
 */
function authorizeFlows(request: FastifyRequest, principal: Principal, verb: 'read' | 'report'): void {
  const role = principal.role;
  if (verb === 'report') {
    const host = (request.params as Record<string, unknown> | undefined)?.name;
    if (role === 'admin' || (role === 'agent' && principal.host === host)) return;
    throw forbidden(`only the agent of host "${String(host).slice(0, 63)}" may report its flows`);
  }
  if (role === 'admin') return;
  if (role === 'agent') throw forbidden('agents cannot read flow records');
  const own = principal.tenant ?? '';
  const asked = (request.query as Record<string, unknown>).tenant;
  if (asked !== undefined && asked !== own) throw forbidden(`${role} of tenant "${own}" may only read the flows of its own tenant`);
  request.flowTenant = own;
}

function authorizeApply(request: FastifyRequest, principal: Principal): void {
  if (principal.role === 'agent') throw forbidden('agents cannot apply');
  const objects = (request.body as { objects?: unknown } | null)?.objects;
  if (!Array.isArray(objects)) return; // the service answers 400 and changes nothing
  const kinds = new Set<string>();
  const tenants = new Set<string>();
  let beyondTenants = false;
  // The audit fields come first, for every role: an admin's apply must reach the trail of each
  // tenant it names, and a refused one is filed under the tenants it tried.
  const checks: (() => void)[] = [];
  for (const raw of objects) {
    const kind = kindInfo(String((raw as { kind?: unknown } | null)?.kind));
    if (!kind) continue; // invalid: the service rejects the whole apply
    const metadata = (raw as { metadata?: { tenant?: unknown; name?: unknown } }).metadata;
    const tenant = kind.tenantScoped && typeof metadata?.tenant === 'string' ? metadata.tenant : '';
    const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
    kinds.add(kind.kind);
    const auditTenant = tenantOf({ kind: kind.kind, tenant, name: name ?? '' });
    if (auditTenant !== '') tenants.add(auditTenant);
    else beyondTenants = true;
    checks.push(() =>
      refuse(
        authorize(principal, { verb: 'create', kind: kind.kind, tenant, name }),
        kind.tenantScoped ? `tenant "${tenant}"` : `${kind.kind} "${name}"`,
      ),
    );
  }
  if (request.auditFields) setScope(request.auditFields, [...kinds], [...tenants], beyondTenants);
  if (principal.role === 'admin') return;
  for (const check of checks) check();
}

function authorizeKinds(request: FastifyRequest, principal: Principal, verb: 'list' | 'watch', hostEndpoints: HostEndpoints): void {
  if (principal.role === 'admin') return;
  const text = (request.query as Record<string, unknown>).kinds;
  const kinds =
    typeof text === 'string'
      ? text
          .split(',')
          .map((k) => kindInfo(k.trim()))
          .filter((k) => k !== undefined)
      : [];
  for (const info of kinds) refuse(authorize(principal, { verb, kind: info.kind, tenant: '' }), `${info.plural}`);
  if (principal.role === 'agent') {
    const host = principal.host ?? '';
    const endpointsListed = kinds.some((k) => k.kind === 'Endpoint');
    if (verb === 'watch') request.watchGuard = agentWatchGuard(host, hostEndpoints.endpointsOn(host, watchStart(request)));
    // A snapshot that holds the endpoints is its own exact answer to "which tenants does this host need".
    request.narrowItems = (items) => {
      const tenants = endpointsListed
        ? new Set(items.filter((i) => i.kind === 'Endpoint' && endpointHost(i) === host).map((i) => i.metadata.tenant ?? ''))
        : hostEndpoints.tenantsOn(host);
      return narrowWith(visibilityOf(principal, tenants))(items);
    };
    return;
  }
  const visible = visibilityOf(principal);
  request.narrowItems = narrowWith(visible);
  request.watchGuard = staticGuard(visible);
}

async function authorizeObject(
  request: FastifyRequest,
  principal: Principal,
  action: Extract<RouteAction, { type: 'object' }>,
  hostEndpoints: HostEndpoints,
  store: Store,
): Promise<void> {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const body = request.body as { metadata?: { name?: unknown }; spec?: { host?: unknown } } | null | undefined;
  const verb: Verb = action.verb === 'list-or-watch' ? (truthy(query.watch) ? 'watch' : 'list') : action.verb;
  const tenant = String((action.tenantFrom === 'param' ? params.tenant : action.tenantFrom === 'query' ? query.tenant : '') ?? '');
  const nameValue =
    action.nameFrom === 'param-name'
      ? params.name
      : action.nameFrom === 'param-tenant'
        ? params.tenant
        : action.nameFrom === 'body'
          ? body?.metadata?.name
          : undefined;
  const name = typeof nameValue === 'string' ? nameValue : action.nameFrom === 'none' ? undefined : '';
  const request_: Action = {
    verb,
    kind: action.kind,
    tenant: action.kind === 'Tenant' ? '' : tenant,
    ...(name !== undefined ? { name } : {}),
  };
  if (request.auditFields && action.nameFrom === 'body' && name) {
    request.auditFields.name = clip(name);
    if (action.kind === 'Tenant') request.auditFields.tenant = clip(name);
  }
  // What a 404 names: the object when the request names one, else the tenant the caller may not see
  // (a list of another tenant's networks is "tenant blue not found", not "Network blue/").
  const what = name ? `${action.kind} ${tenant ? `${tenant}/` : ''}${name}` : tenant ? `tenant ${tenant}` : `${action.kind}`;

  if (principal.role === 'agent') {
    await authorizeAgentObject(request, principal, request_, hostEndpoints, store, body, what);
    return;
  }
  const decision = authorize(principal, request_);
  refuse(decision, what);
  if (action.kind === 'Endpoint' && (verb === 'update' || verb === 'patch') && principal.role !== 'admin') {
    await refuseEndpointMove(store, tenant, name ?? '', verb, body, what);
  }
  if (decision.outcome === 'filter') {
    const visible = visibilityOf(principal);
    request.narrowItems = narrowWith(visible);
    request.watchGuard = staticGuard(visible);
  }
}

/**
 * Only admins move an endpoint to another host (and only once its container is gone: the endpoint
 * strategy checks that). Anyone else who changes spec.host of a placed endpoint gets a 403.
 */
async function refuseEndpointMove(
  store: Store,
  tenant: string,
  name: string,
  verb: 'update' | 'patch',
  body: { spec?: unknown } | null | undefined,
  what: string,
): Promise<void> {
  const spec = body?.spec;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return; // no spec: the service answers 400 (PUT) or keeps it (PATCH)
  const names = 'host' in spec;
  if (verb === 'patch' && !names) return; // a merge patch that does not name spec.host keeps it
  const existing = await store.get(objectKey('Endpoint', tenant, name));
  if (!existing) return; // the service answers 404
  const wanted = names ? (spec as { host?: unknown }).host : undefined;
  const current = endpointHost(existing.value);
  if (current !== undefined && wanted !== current) {
    throw forbidden(
      `only admins may move ${what} to another host (spec.host "${current}" -> ${typeof wanted === 'string' ? `"${wanted.slice(0, 63)}"` : 'none'}), and only once its container is gone`,
    );
  }
}

const AGENT_SCOPED: ReadonlySet<KindName> = new Set<KindName>(['Scope', 'Group', 'Policy', 'Service', 'Endpoint', 'FloatingIP']);

async function authorizeAgentObject(
  request: FastifyRequest,
  principal: Principal,
  action: Action,
  hostEndpoints: HostEndpoints,
  store: Store,
  body: { spec?: { host?: unknown } } | null | undefined,
  what: string,
): Promise<void> {
  const host = principal.host ?? '';
  const needed = () => hostEndpoints.tenantsOn(host);
  if (action.verb === 'list' || action.verb === 'watch') {
    if (action.verb === 'watch') request.watchGuard = agentWatchGuard(host, hostEndpoints.endpointsOn(host, watchStart(request)));
    else request.narrowItems = (items) => narrowWith(visibilityOf(principal, needed()))(items);
    return;
  }
  if (action.verb === 'get') {
    if (AGENT_SCOPED.has(action.kind) && !needed().has(action.tenant)) throw notFound(`${what} not found`);
    return;
  }
  if (action.kind === 'Endpoint') {
    if (action.verb === 'create') {
      const wanted = body?.spec?.host;
      refuse(authorize(principal, { ...action, endpointHost: typeof wanted === 'string' ? wanted : '' }), what);
      return;
    }
    const existing = await store.get(objectKey('Endpoint', action.tenant, action.name ?? ''));
    if (!existing) return; // the service answers 404
    const current = endpointHost(existing.value) ?? '';
    if (current !== host) {
      if (!needed().has(action.tenant)) throw notFound(`${what} not found`);
      refuse(authorize(principal, { ...action, endpointHost: current }), what);
    }
    const wanted = body?.spec?.host;
    if (
      (action.verb === 'update' || (action.verb === 'patch' && body?.spec !== undefined && 'host' in (body.spec ?? {}))) &&
      wanted !== host
    ) {
      throw forbidden(`agent of host "${host}" may only place endpoints on its host`);
    }
    return;
  }
  refuse(authorize(principal, action), what);
}
