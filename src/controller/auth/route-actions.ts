/**
 * What each API route does, in the terms of the authorization core: the verb, the kind and where
 * the tenant and name come from. Built from the same kind registry as the routes themselves, so a
 * new kind is covered without touching this file. Routes that are not objects are named here too.
 */
import { KINDS, type KindName } from '../../core/model/registry';
import type { Verb } from '../../core/auth/roles';

export type RouteAction =
  /** One kind: tenant from the path (`tenant` param), from `?tenant=` (all-tenant collections) or none. */
  | { type: 'object'; verb: Verb | 'list-or-watch'; kind: KindName; tenantFrom: 'param' | 'query' | 'none'; nameFrom: 'param-name' | 'param-tenant' | 'body' | 'none' }
  /** Several kinds named in `?kinds=`: snapshot or multi-kind watch. */
  | { type: 'kinds'; verb: 'list' | 'watch' }
  | { type: 'apply' }
  | { type: 'admin' }
  | { type: 'audit' }
  | { type: 'any' }
  | { type: 'public' };

export function routeActions(): Map<string, RouteAction> {
  const routes = new Map<string, RouteAction>();
  const set = (method: string, url: string, action: RouteAction) => {
    routes.set(`${method} ${url}`, action);
    // fastify answers HEAD on every GET route (exposeHeadRoutes) with the GET's handler: status and
    // content-length would tell existence and size, so a HEAD is authorized exactly as its GET.
    if (method === 'GET') routes.set(`HEAD ${url}`, action);
  };
  for (const info of KINDS) {
    const collection = info.tenantScoped ? `/api/v1/tenants/:tenant/${info.plural}` : `/api/v1/${info.plural}`;
    const isTenant = info.kind === 'Tenant';
    const item = isTenant ? `${collection}/:tenant` : `${collection}/:name`;
    const tenantFrom = info.tenantScoped ? 'param' : 'none';
    const nameFrom = isTenant ? 'param-tenant' : 'param-name';
    set('GET', collection, { type: 'object', verb: 'list-or-watch', kind: info.kind, tenantFrom, nameFrom: 'none' });
    if (info.tenantScoped) set('GET', `/api/v1/${info.plural}`, { type: 'object', verb: 'list-or-watch', kind: info.kind, tenantFrom: 'query', nameFrom: 'none' });
    set('POST', collection, { type: 'object', verb: 'create', kind: info.kind, tenantFrom, nameFrom: 'body' });
    set('GET', item, { type: 'object', verb: 'get', kind: info.kind, tenantFrom, nameFrom });
    set('PUT', item, { type: 'object', verb: 'update', kind: info.kind, tenantFrom, nameFrom });
    set('PATCH', item, { type: 'object', verb: 'patch', kind: info.kind, tenantFrom, nameFrom });
    set('DELETE', item, { type: 'object', verb: 'delete', kind: info.kind, tenantFrom, nameFrom });
    set('PUT', `${item}/status`, { type: 'object', verb: 'status', kind: info.kind, tenantFrom, nameFrom });
    if (info.kind === 'Network') set('GET', `${item}/addresses`, { type: 'object', verb: 'get', kind: info.kind, tenantFrom, nameFrom });
  }
  set('GET', '/healthz', { type: 'public' });
  set('GET', '/api/v1/openapi.json', { type: 'any' });
  set('GET', '/api/v1/whoami', { type: 'any' });
  set('POST', '/api/v1/apply', { type: 'apply' });
  set('GET', '/api/v1/history', { type: 'admin' });
  set('POST', '/api/v1/rollback', { type: 'admin' });
  set('GET', '/api/v1/snapshot', { type: 'kinds', verb: 'list' });
  set('GET', '/api/v1/watch', { type: 'kinds', verb: 'watch' });
  set('GET', '/metrics', { type: 'admin' });
  set('GET', '/api/v1/tokens', { type: 'admin' });
  set('POST', '/api/v1/tokens', { type: 'admin' });
  set('DELETE', '/api/v1/tokens/:id', { type: 'admin' });
  set('GET', '/api/v1/audit', { type: 'audit' });
  return routes;
}

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
