/**
 * Access control and the audit trail as fastify hooks around the existing routes:
 *
 * - onRequest: the bearer token -> principal (401 when missing or wrong; only /healthz is public);
 * - preHandler: route + params + body -> authorize() -> 403 / 404 (hidden) / allow / narrowed view;
 * - preSerialization: lists and snapshots narrowed to what the principal may see;
 * - onSend: every mutating request that did not already write its audit entry in the change's own
 *   txn (refused, failed, or nothing changed) records it here, before the answer leaves.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { authorize, type Action, type Decision, type Principal, type Verb } from '../../core/auth/roles';
import { visibilityOf, type Visibility } from '../../core/auth/visibility';
import { summaryScope, tenantOf } from '../../core/auth/change-summary';
import { kindInfo, type KindName } from '../../core/model/registry';
import type { TenetObject } from '../../core/model/object';
import { objectKey } from '../../store/keys';
import type { Store } from '../../store/store';
import { appendAudit, auditEntry, auditWrite, pruneAudit, type AuditEntry } from '../../auth/audit-log';
import { parseDuration, parseToken } from '../../auth/tokens';
import type { TokenStore } from '../../auth/token-store';
import { ServiceError, notFound } from '../errors';
import type { AuditSink, ObjectService } from '../object-service';
import type { WatchGuard } from '../watch-stream';
import { endpointHost, HostEndpoints } from './host-endpoints';
import { MUTATING_METHODS, routeActions, type RouteAction } from './route-actions';
import { registerAuthRoutes } from './routes';
import { agentWatchGuard } from './agent-watch';

type AuditFields = Omit<AuditEntry, 'id' | 'at' | 'outcome' | 'code' | 'summary'>;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    auditFields: AuditFields | undefined;
    /** Narrows the `items` of a list or snapshot answer. */
    narrowItems: ((items: TenetObject[]) => TenetObject[]) | undefined;
    /** A 401/403/404 decided by access control (a 404 from the service is a plain failure). */
    refusedByAuth: boolean;
    /** An agent's heartbeat to its own Host: audited only when it fails. */
    auditOnlyFailure: boolean;
  }
}

export const unauthorized = (message: string) => new ServiceError(401, 'Unauthorized', message);
export const forbidden = (message: string) => new ServiceError(403, 'Forbidden', message);

const MAX_FIELD = 128;
const clip = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value.slice(0, MAX_FIELD) : undefined);

export interface AuthOptions {
  tokens: TokenStore;
  /** Audit entries older than this are pruned hourly (default 90 days; env TENET_AUDIT_RETENTION, e.g. 30d). */
  auditRetentionMs?: number;
}

const DEFAULT_RETENTION_MS = 90 * 86_400_000;

export function retentionFromEnv(text = process.env.TENET_AUDIT_RETENTION): number {
  if (!text) return DEFAULT_RETENTION_MS;
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`TENET_AUDIT_RETENTION must be a duration like 30d (got "${text}")`);
  return ms;
}

export async function installAuth(app: FastifyInstance, service: ObjectService, options: AuthOptions): Promise<void> {
  const routes = routeActions();
  const hostEndpoints = new HostEndpoints(service.store);
  await hostEndpoints.start();
  const retention = options.auditRetentionMs ?? retentionFromEnv();
  const prune = () =>
    void pruneAudit(service.store, retention).catch((error: unknown) => app.log.warn({ err: error }, 'audit retention pass failed'));
  const pruneTimer = setInterval(prune, 3_600_000);
  pruneTimer.unref();
  prune();
  app.addHook('onClose', async () => {
    clearInterval(pruneTimer);
    hostEndpoints.stop();
  });
  const auditRegistry = new Registry();
  const auditLost = new Counter({
    name: 'tenet_audit_entries_lost_total',
    help: 'Audit entries of requests that changed nothing (refused, failed, no change) that could not be written, by outcome',
    labelNames: ['outcome'] as const,
    registers: [auditRegistry],
  });
  for (const outcome of ['allowed', 'refused', 'failed']) auditLost.inc({ outcome }, 0);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('auditFields', undefined);
  app.decorateRequest('narrowItems', undefined);
  app.decorateRequest('refusedByAuth', false);
  app.decorateRequest('auditOnlyFailure', false);

  const actionOf = (request: FastifyRequest): RouteAction | undefined => {
    const url = request.routeOptions.url;
    return url === undefined ? undefined : routes.get(`${request.method} ${url}`);
  };

  app.addHook('onRequest', async (request) => {
    const action = actionOf(request);
    if (action?.type === 'public') return;
    if (MUTATING_METHODS.has(request.method)) request.auditFields = draftAudit(request, action);
    const principal = await authenticate(request, options.tokens);
    if (!principal) {
      request.refusedByAuth = true;
      throw unauthorized('a valid bearer token is required: set TENET_TOKEN, --token or a config file context');
    }
    request.principal = principal;
    request.actor = `${principal.role}:${principal.tokenId}`;
    if (request.auditFields) {
      request.auditFields.tokenId = principal.tokenId;
      request.auditFields.role = principal.role + (principal.tenant ? `(${principal.tenant})` : principal.host ? `(${principal.host})` : '');
    }
  });

  app.addHook('preHandler', async (request) => {
    const principal = request.principal;
    const action = actionOf(request);
    if (action?.type === 'public') return;
    // Fail closed: a request reaches a handler only with a principal and an access rule for its route.
    if (!principal) {
      request.refusedByAuth = true;
      throw unauthorized('a valid bearer token is required');
    }
    if (!action) {
      if (request.routeOptions.url === undefined || request.is404) throw notFound(`no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}`);
      request.refusedByAuth = true;
      request.log.error({ method: request.method, route: request.routeOptions.url }, 'route has no access rule in routeActions(): refused');
      throw forbidden(`${request.method} ${request.routeOptions.url} has no access rule`);
    }
    try {
      await authorizeRequest(request, principal, action, hostEndpoints, service.store);
    } catch (error) {
      if (error instanceof ServiceError) request.refusedByAuth = true;
      throw error;
    }
    if (request.watchGuard || isWatch(request)) endWhenRevoked(request, options.tokens);
    request.auditOnlyFailure = isOwnHeartbeat(principal, action, request);
    if (request.auditFields && !request.auditOnlyFailure) {
      const fields = request.auditFields;
      const code = request.method === 'POST' && (action.type === 'object' || request.routeOptions.url === '/api/v1/tokens') ? 201 : 200;
      // A rollback's objects are known only once the service has planned it: its summary names them.
      const scoped = action.type === 'admin' && fields.verb === 'rollback';
      request.audit = {
        recorded: false,
        op: (summary) => {
          const entry = { ...fields };
          if (scoped) {
            const scope = summaryScope(summary);
            setScope(entry, scope.kinds, scope.tenants, scope.beyondTenants);
          }
          return auditWrite(auditEntry({ ...entry, outcome: 'allowed', code, summary }));
        },
      } satisfies AuditSink;
    }
  });

  app.addHook('preSerialization', async (request, _reply, payload: unknown) => {
    const narrow = request.narrowItems;
    if (!narrow || payload === null || typeof payload !== 'object') return payload;
    const items = (payload as { items?: unknown }).items;
    if (!Array.isArray(items)) return payload;
    return { ...(payload as Record<string, unknown>), items: narrow(items as TenetObject[]) };
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const fields = request.auditFields;
    if (!fields || request.audit?.recorded) return payload;
    const code = reply.statusCode;
    if (request.auditOnlyFailure && code < 300) return payload;
    const outcome: AuditEntry['outcome'] = code < 300 ? 'allowed' : request.refusedByAuth ? 'refused' : 'failed';
    const summary = code < 300 ? 'no change' : errorMessage(payload);
    const entry = auditEntry({ ...fields, outcome, code, ...(summary ? { summary } : {}) });
    try {
      await appendAudit(service.store, entry);
    } catch (error) {
      // The request changed nothing and its answer stands; the entry is lost, so it must be visible
      // elsewhere: a counter to alert on, and the entry itself in the error log.
      auditLost.inc({ outcome });
      request.log.error({ err: error, entry }, 'could not record an audit entry: it is lost (tenet_audit_entries_lost_total)');
    }
    return payload;
  });

  // The controller's metrics registry belongs to the server; this counter is added to its answer.
  app.addHook('onSend', async (request, reply, payload: unknown) => {
    if (request.routeOptions.url !== '/metrics' || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    return payload + (await auditRegistry.metrics());
  });

  registerAuthRoutes(app, service.store, options.tokens);
}

const RECHECK_MS = 5000;

/**
 * An agent writing the status of its own Host is its heartbeat (every 10 s, with the rule counters):
 * an entry for each would bury the changes people look for. Refused or failed ones are still recorded.
 */
function isOwnHeartbeat(principal: Principal, action: RouteAction, request: FastifyRequest): boolean {
  if (principal.role !== 'agent' || action.type !== 'object' || action.kind !== 'Host' || action.verb !== 'status') return false;
  return (request.params as Record<string, unknown> | undefined)?.name === principal.host;
}

function isWatch(request: FastifyRequest): boolean {
  return request.routeOptions.url === '/api/v1/watch' || truthy((request.query as Record<string, unknown>).watch);
}

/** A watch outlives its first check: it is cut when its token is revoked or expires. */
function endWhenRevoked(request: FastifyRequest, tokens: TokenStore): void {
  const bearer = bearerOf(request);
  if (!bearer) return;
  const timer = setInterval(() => {
    tokens.authenticate(bearer).then(
      (principal) => {
        if (!principal) request.raw.destroy();
      },
      () => undefined,
    );
  }, RECHECK_MS);
  timer.unref();
  request.raw.on('close', () => clearInterval(timer));
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length > 512) return undefined;
  return /^Bearer ([!-~]+)$/i.exec(header.trim())?.[1];
}

async function authenticate(request: FastifyRequest, tokens: TokenStore): Promise<Principal | undefined> {
  const bearer = bearerOf(request);
  if (!bearer) return undefined;
  try {
    return await tokens.authenticate(bearer);
  } catch (error) {
    request.log.error({ err: error }, 'token lookup failed');
    throw new ServiceError(503, 'Internal', 'cannot check the token now; try again');
  }
}

function draftAudit(request: FastifyRequest, action: RouteAction | undefined): AuditFields {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const fields: AuditFields = { tokenId: '-', role: 'unauthenticated', verb: request.method.toLowerCase(), kind: '' };
  const header = request.headers.authorization;
  const claimed = typeof header === 'string' ? parseToken(header.replace(/^Bearer\s+/i, '')) : undefined;
  if (claimed) fields.tokenId = claimed.id;
  if (action?.type === 'object') {
    fields.verb = action.verb;
    fields.kind = action.kind;
    const info = kindInfo(action.kind);
    // A Tenant's own entries count as that tenant's, so its admins see who changed it.
    if (info?.tenantScoped || action.kind === 'Tenant') fields.tenant = clip(params.tenant);
    const name = action.nameFrom === 'param-tenant' ? params.tenant : action.nameFrom === 'param-name' ? params.name : undefined;
    if (name !== undefined) fields.name = clip(name);
  } else if (action?.type === 'apply') {
    fields.verb = 'apply';
  } else if (action?.type === 'admin') {
    const url = request.routeOptions.url ?? '';
    if (url.endsWith('/rollback')) fields.verb = 'rollback';
    if (url.startsWith('/api/v1/tokens')) {
      fields.kind = 'Token';
      fields.verb = request.method === 'POST' ? 'create' : 'delete';
      if (params.id !== undefined) fields.name = clip(params.id);
    }
  } else {
    fields.kind = clip(request.url.split('?')[0]) ?? '';
  }
  return fields;
}

function errorMessage(payload: unknown): string | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const parsed = JSON.parse(payload) as { error?: { message?: unknown } };
    return clip(parsed.error?.message);
  } catch {
    return undefined;
  }
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

async function authorizeRequest(request: FastifyRequest, principal: Principal, action: RouteAction, hostEndpoints: HostEndpoints, store: Store): Promise<void> {
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
    case 'kinds':
      return authorizeKinds(request, principal, action.verb, hostEndpoints);
    case 'object':
      return authorizeObject(request, principal, action, hostEndpoints, store);
    case 'public':
      return;
  }
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
    checks.push(() => refuse(authorize(principal, { verb: 'create', kind: kind.kind, tenant, name }), kind.tenantScoped ? `tenant "${tenant}"` : `${kind.kind} "${name}"`));
  }
  if (request.auditFields) setScope(request.auditFields, [...kinds], [...tenants], beyondTenants);
  if (principal.role === 'admin') return;
  for (const check of checks) check();
}

const MAX_TENANTS = 100;

/**
 * A change confined to one tenant goes in `tenant`. Otherwise its tenants go in `tenants` (listed for
 * each of them), and a tenant's admins see the entry narrowed to their own objects: that includes a
 * change of one tenant together with cluster-scoped objects, whose names tenant roles may not read.
 */
function setScope(fields: AuditFields, kinds: string[], tenants: string[], beyondTenants: boolean): void {
  fields.kind = kinds.join(',').slice(0, MAX_FIELD * 4);
  const named = [...new Set(tenants.map(clip).filter((t): t is string => t !== undefined))].sort().slice(0, MAX_TENANTS);
  delete fields.tenant;
  delete fields.tenants;
  if (named.length === 1 && !beyondTenants) fields.tenant = named[0];
  else if (named.length > 0) fields.tenants = named;
}

function authorizeKinds(request: FastifyRequest, principal: Principal, verb: 'list' | 'watch', hostEndpoints: HostEndpoints): void {
  if (principal.role === 'admin') return;
  const text = (request.query as Record<string, unknown>).kinds;
  const kinds = typeof text === 'string' ? text.split(',').map((k) => kindInfo(k.trim())).filter((k) => k !== undefined) : [];
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
  const nameValue = action.nameFrom === 'param-name' ? params.name : action.nameFrom === 'param-tenant' ? params.tenant : action.nameFrom === 'body' ? body?.metadata?.name : undefined;
  const name = typeof nameValue === 'string' ? nameValue : action.nameFrom === 'none' ? undefined : '';
  const request_: Action = { verb, kind: action.kind, tenant: action.kind === 'Tenant' ? '' : tenant, ...(name !== undefined ? { name } : {}) };
  if (request.auditFields && action.nameFrom === 'body' && name) {
    request.auditFields.name = clip(name);
    if (action.kind === 'Tenant') request.auditFields.tenant = clip(name);
  }
  const what = `${action.kind} ${tenant ? `${tenant}/` : ''}${name ?? ''}`.trim();

  if (principal.role === 'agent') {
    await authorizeAgentObject(request, principal, request_, hostEndpoints, store, body, what);
    return;
  }
  const decision = authorize(principal, request_);
  refuse(decision, what);
  if (decision.outcome === 'filter') {
    const visible = visibilityOf(principal);
    request.narrowItems = narrowWith(visible);
    request.watchGuard = staticGuard(visible);
  }
}

const AGENT_SCOPED: ReadonlySet<KindName> = new Set<KindName>(['Scope', 'Group', 'Policy', 'Service', 'Endpoint']);

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
    if ((action.verb === 'update' || (action.verb === 'patch' && body?.spec !== undefined && 'host' in (body.spec ?? {}))) && wanted !== host) {
      throw forbidden(`agent of host "${host}" may only place endpoints on its host`);
    }
    return;
  }
  refuse(authorize(principal, action), what);
}
