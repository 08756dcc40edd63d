/** CRUD, status and watch routes for every kind; handlers only translate HTTP to ObjectService calls. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KINDS, type KindInfo } from '../../core/model/registry';
import { describeNameRule, NAME_REGEX } from '../../core/model/names';
import { objectPrefix } from '../../store/keys';
import { parseSelectorParam, type LabelSelector } from '../../core/model/selectors';
import { invalid } from '../errors';
import type { ObjectService } from '../object-service';
import { withRuleHits } from '../policy-hits';
import { withServiceStatus } from '../service-status';
import { API_VERSION } from '../../core/model/common';
import type { List } from '../../core/model/wire';
import { access, type RouteAction } from '../auth/access';
import { startRevision, streamWatch, type WatchStreams } from '../watch-stream';

type Params = Record<string, string>;
type Query = Record<string, unknown>;

export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !NAME_REGEX.test(value) || value.length > 63) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
    throw invalid(`${what} ${shown} is not a valid name`, [`${what}: must be ${describeNameRule()}`]);
  }
  return value;
}

export function singleQuery(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`query parameter ${name} may be given once`, [`${name}: given more than once`]);
  return value;
}

function truthy(text: string | undefined): boolean {
  return text !== undefined && ['1', 'true', 'yes'].includes(text.toLowerCase());
}

export function selectorFrom(text: string | undefined): LabelSelector | undefined {
  return parseSelectorParam(text, (message) => invalid(message, [message]));
}

export function registerObjectRoutes(app: FastifyInstance, service: ObjectService, streams: WatchStreams): void {
  for (const info of KINDS) {
    const collection = info.tenantScoped ? `/api/v1/tenants/:tenant/${info.plural}` : `/api/v1/${info.plural}`;
    // Tenants' own item path uses :tenant so it shares its parameter with the nested collections below it.
    const item = info.kind === 'Tenant' ? `${collection}/:tenant` : `${collection}/:name`;
    const tenantFrom = info.tenantScoped ? 'param' : 'none';
    const nameFrom = info.kind === 'Tenant' ? 'param-tenant' : 'param-name';
    const rule = (verb: Extract<RouteAction, { type: 'object' }>['verb'], from: 'param-name' | 'param-tenant' | 'body' | 'none' = nameFrom) =>
      access({ type: 'object', verb, kind: info.kind, tenantFrom, nameFrom: from });
    const names = (request: FastifyRequest, withName = true) => {
      const params = request.params as Params;
      const tenant = info.tenantScoped ? checkName(params.tenant, 'tenant') : undefined;
      const name = withName ? checkName(info.kind === 'Tenant' ? params.tenant : params.name, 'name') : '';
      return { tenant, name };
    };

    app.get(collection, rule('list-or-watch', 'none'), async (request, reply) => {
      const { tenant } = names(request, false);
      return listOrWatch(request, reply, service, streams, info, tenant);
    });
    if (info.tenantScoped) {
      // Across all tenants (?tenant=T narrows).
      const across = access({ type: 'object', verb: 'list-or-watch', kind: info.kind, tenantFrom: 'query', nameFrom: 'none' });
      app.get(`/api/v1/${info.plural}`, across, async (request, reply) => {
        const narrowed = singleQuery(request.query as Query, 'tenant');
        return listOrWatch(request, reply, service, streams, info, narrowed === undefined ? undefined : checkName(narrowed, 'tenant'));
      });
    }
    app.post(collection, rule('create', 'body'), async (request, reply) => {
      const { tenant } = names(request, false);
      const created = await service.create(info.kind, tenant, request.body, { actor: request.actor, verb: 'create', audit: request.audit });
      reply.code(201);
      return created;
    });
    app.get(item, rule('get'), async (request) => {
      const { tenant, name } = names(request);
      const [object] = await withServiceStatus(service, await withRuleHits(service, [await service.get(info.kind, tenant ?? '', name)]));
      return object;
    });
    app.put(item, rule('update'), async (request) => {
      const { tenant, name } = names(request);
      return service.replace(info.kind, tenant, name, request.body, { actor: request.actor, verb: 'update', audit: request.audit });
    });
    app.patch(item, rule('patch'), async (request) => {
      const { tenant, name } = names(request);
      return service.patch(info.kind, tenant, name, request.body, { actor: request.actor, verb: 'patch', audit: request.audit });
    });
    app.delete(item, rule('delete'), async (request) => {
      const { tenant, name } = names(request);
      const cascade = truthy(singleQuery(request.query as Query, 'cascade'));
      return service.delete(info.kind, tenant, name, { cascade: info.kind === 'Tenant' && cascade }, { actor: request.actor, verb: 'delete', audit: request.audit });
    });
    app.put(`${item}/status`, rule('status'), async (request) => {
      const { tenant, name } = names(request);
      return service.replaceStatus(info.kind, tenant, name, request.body, { actor: request.actor, verb: 'status', audit: request.audit });
    });
    if (info.kind === 'Network') {
      // Read as the network itself is: whoever may get the network may see which addresses are taken.
      app.get(`${item}/addresses`, rule('get'), async (request) => {
        const { tenant, name } = names(request);
        const used = await service.usedAddresses(tenant ?? '', name);
        return { apiVersion: 'tenet.dev/v1', kind: 'AddressList', metadata: { resourceVersion: String(used.revision) }, addresses: used.addresses };
      });
    }
  }
}

async function listOrWatch(
  request: FastifyRequest,
  reply: FastifyReply,
  service: ObjectService,
  streams: WatchStreams,
  info: KindInfo,
  tenant: string | undefined,
): Promise<unknown> {
  const query = request.query as Query;
  const labelSelector = singleQuery(query, 'labelSelector');
  if (truthy(singleQuery(query, 'watch'))) {
    const selector = selectorFrom(labelSelector);
    const after = await startRevision(service.store, singleQuery(query, 'resourceVersion'));
    const prefix = info.tenantScoped && tenant !== undefined ? objectPrefix(info.kind, tenant) : objectPrefix(info.kind);
    await streamWatch(request, reply, service.store, streams, { prefix, kinds: new Set([info.kind]), tenant, selector }, after);
    return reply;
  }
  const listed = await service.list(info.kind, { tenant, labelSelector });
  const items = await withServiceStatus(service, await withRuleHits(service, listed.items));
  return { apiVersion: API_VERSION, kind: 'List', metadata: { resourceVersion: String(listed.revision) }, items } satisfies List;
}
