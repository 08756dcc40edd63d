/**
 * Access control and the audit trail as fastify hooks around the routes, in three modules:
 *
 * - onRequest (authenticate.ts): the bearer token -> principal (401 when missing or wrong; only
 *   routes whose rule is `public` need none); the audit entry of a mutating request is drafted first;
 * - preHandler (authorize.ts): the route's own access rule (its `config.access`, access.ts) + params
 *   + body -> 403 / 404 (hidden) / allow / narrowed view; a route without a rule is refused (fail closed);
 * - preSerialization: lists and snapshots narrowed to what the principal may see;
 * - onSend (audit.ts): every mutating request that did not already write its audit entry in the
 *   change's own txn (refused, failed, or nothing changed) records it here, before the answer leaves;
 *   so does a request whose URL never reached a route (it fails to decode).
 */
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../core/auth/roles';
import type { TenetObject } from '../../core/model/object';
import type { TokenStore } from '../../auth/token-store';
import { notFound, ServiceError } from '../errors';
import type { ObjectService } from '../object-service';
import { HostEndpoints } from './host-endpoints';
import { accessOf, MUTATING_METHODS } from './access';
import { registerAuthRoutes } from './routes';
import { authenticate, endWhenRevoked, unauthorized } from './authenticate';
import { authorizeRequest, forbidden, isOwnHeartbeat, isWatch } from './authorize';
import { auditSink, draftAudit, installAuditTrail, retentionFromEnv, type AuditFields } from './audit';

export { unauthorized } from './authenticate';
export { forbidden } from './authorize';
export { retentionFromEnv } from './audit';

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
    /** Flow records: the only tenant the caller may read (undefined: every tenant). */
    flowTenant: string | undefined;
  }
}

export interface AuthOptions {
  tokens: TokenStore;
  /** Audit entries older than this are pruned hourly (default 90 days; env TENET_AUDIT_RETENTION, e.g. 30d). */
  auditRetentionMs?: number;
}

export async function installAuth(app: FastifyInstance, service: ObjectService, options: AuthOptions): Promise<void> {
  const hostEndpoints = new HostEndpoints(service.store);
  await hostEndpoints.start();
  app.addHook('onClose', async () => hostEndpoints.stop());
  app.decorateRequest('principal', undefined);
  app.decorateRequest('auditFields', undefined);
  app.decorateRequest('narrowItems', undefined);
  app.decorateRequest('refusedByAuth', false);
  app.decorateRequest('auditOnlyFailure', false);
  app.decorateRequest('flowTenant', undefined);
  const trail = installAuditTrail(app, service.store, options.auditRetentionMs ?? retentionFromEnv());

  // A URL that fails to decode never reaches a route or a hook: the server hands it here after answering 400.
  app.badUrlRecorders.push(async (request, code, payload) => {
    if (!MUTATING_METHODS.has(request.method)) return;
    const fields = draftAudit(request, undefined);
    const principal = await authenticate(request, options.tokens).catch(() => undefined);
    if (principal) fields.role = roleText(principal);
    await trail.record(request, fields, code, payload);
  });

  app.addHook('onRequest', async (request) => {
    const action = accessOf(request);
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
      request.auditFields.role = roleText(principal);
    }
  });

  app.addHook('preHandler', async (request) => {
    const principal = request.principal;
    const action = accessOf(request);
    if (action?.type === 'public') return;
    // Fail closed: a request reaches a handler only with a principal and an access rule for its route.
    if (!principal) {
      request.refusedByAuth = true;
      throw unauthorized('a valid bearer token is required');
    }
    if (!action) {
      if (request.routeOptions.url === undefined || request.is404)
        throw notFound(`no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}`);
      request.refusedByAuth = true;
      request.log.error({ method: request.method, route: request.routeOptions.url }, 'route has no access rule (config.access): refused');
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
    if (request.auditFields && !request.auditOnlyFailure) request.audit = auditSink(request, request.auditFields, action);
  });

  app.addHook('preSerialization', async (request, _reply, payload: unknown) => {
    const narrow = request.narrowItems;
    if (!narrow || payload === null || typeof payload !== 'object') return payload;
    const items = (payload as { items?: unknown }).items;
    if (!Array.isArray(items)) return payload;
    return { ...(payload as Record<string, unknown>), items: narrow(items as TenetObject[]) };
  });

  registerAuthRoutes(app, service.store, options.tokens);
}

function roleText(principal: Principal): string {
  return principal.role + (principal.tenant ? `(${principal.tenant})` : principal.host ? `(${principal.host})` : '');
}
