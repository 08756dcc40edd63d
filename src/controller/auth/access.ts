/**
 * Each route carries its own access rule in its fastify route `config` (`access`): what it does in
 * the terms of the authorization core — the verb, the kind and where the tenant and name come
 * from — or one of the rules for routes that are not objects. The authorize hook reads the rule of
 * the route a request matched; a route registered without one is refused for every caller (fail
 * closed). fastify copies a GET route's config to the HEAD route it exposes, so a HEAD is
 * authorized exactly as its GET (status and content-length would tell existence and size).
 */
import type { FastifyRequest } from 'fastify';
import type { KindName } from '../../core/model/registry';
import type { Verb } from '../../core/auth/roles';

export type RouteAction =
  /** One kind: tenant from the path (`tenant` param), from `?tenant=` (all-tenant collections) or none. */
  | {
      type: 'object';
      verb: Verb | 'list-or-watch';
      kind: KindName;
      tenantFrom: 'param' | 'query' | 'none';
      nameFrom: 'param-name' | 'param-tenant' | 'body' | 'none';
    }
  /** Several kinds named in `?kinds=`: snapshot or multi-kind watch. */
  | { type: 'kinds'; verb: 'list' | 'watch' }
  | { type: 'apply' }
  /**
   * A question about the policy of the tenant in the path (`tenant` param): explain, the policy matrix.
   * Admins, and that tenant's tenant-admins and viewers (another tenant is 404); not agents.
   */
  | { type: 'policy-question' }
  | { type: 'admin' }
  | { type: 'audit' }
  /** Flow and deny records (src/controller/flows.ts): `read` narrowed to the caller's tenant; `report` by the agent of the host in the path. */
  | { type: 'flows'; verb: 'read' | 'report' }
  /** The trace channel of the host in the path (`name` param): its agent only (src/controller/trace.ts). */
  | { type: 'trace-channel' }
  /** Any authenticated caller. */
  | { type: 'any' }
  /** No token needed (/healthz). */
  | { type: 'public' };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's access rule; a route without one is refused for everyone. */
    access?: RouteAction;
    /** Query parameters the route takes; any other is answered 400 (server.ts checks, before the handler). */
    query?: readonly string[];
  }
}

/**
 * Route options carrying an access rule and the query parameters the route takes (none unless
 * listed): `app.get(url, access({ type: 'admin' }, ['since']), handler)`.
 */
export function access(action: RouteAction, query: readonly string[] = []): { config: { access: RouteAction; query: readonly string[] } } {
  return { config: { access: action, query } };
}

/** The access rule of the route a request matched (undefined: no route, or a route without a rule). */
export function accessOf(request: FastifyRequest): RouteAction | undefined {
  return request.routeOptions.config?.access;
}

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
