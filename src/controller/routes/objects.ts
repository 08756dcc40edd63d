/** CRUD, status and watch routes for every kind; handlers only translate HTTP to ObjectService calls. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KINDS, type KindInfo } from '../../core/model/registry';
import { describeNameRule, NAME_REGEX } from '../../core/model/names';
import { objectPrefix } from '../../store/keys';
import { parseSelectorParam, type LabelSelector } from '../../core/model/selectors';
import { invalid } from '../errors';
import type { ObjectService } from '../object-service';
import { withComputedStatus } from '../computed-status';
import { withServiceStatus } from '../service-status';
import { API_VERSION } from '../../core/model/common';
import type { List } from '../../core/model/wire';
import { access, type RouteAction } from '../auth/access';
import { startRevision, streamWatch, type WatchStreams } from '../watch-stream';
import { FieldSelectorError, fieldsMatch, parseFieldSelector, type FieldRequirement } from '../../core/model/field-selectors';
import { limitFrom, ListPages } from '../list-pages';

/** Query parameters of a collection GET (list or watch). */
const LIST_QUERY = ['labelSelector', 'fieldSelector', 'watch', 'resourceVersion', 'limit', 'continue'] as const;

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

/** `?dryRun=All` as in Kubernetes: every check, nothing written. Any other value is a mistake. */
export function dryRunFrom(text: string | undefined): boolean {
  if (text === undefined) return false;
  if (text !== 'All') throw invalid(`dryRun must be "All" (got ${JSON.stringify(text.slice(0, 40))})`, ['dryRun: must be All']);
  return true;
}

export function selectorFrom(text: string | undefined): LabelSelector | undefined {
  return parseSelectorParam(text, (message) => invalid(message, [message]));
}

export function registerObjectRoutes(app: FastifyInstance, service: ObjectService, streams: WatchStreams): void {
  const pages = new ListPages();
  for (const info of KINDS) {
    const collection = info.tenantScoped ? `/api/v1/tenants/:tenant/${info.plural}` : `/api/v1/${info.plural}`;
    // Tenants' own item path uses :tenant so it shares its parameter with the nested collections below it.
    const item = info.kind === 'Tenant' ? `${collection}/:tenant` : `${collection}/:name`;
    const tenantFrom = info.tenantScoped ? 'param' : 'none';
    const nameFrom = info.kind === 'Tenant' ? 'param-tenant' : 'param-name';
    const rule = (
      verb: Extract<RouteAction, { type: 'object' }>['verb'],
      from: 'param-name' | 'param-tenant' | 'body' | 'none' = nameFrom,
      query: readonly string[] = [],
    ) => access({ type: 'object', verb, kind: info.kind, tenantFrom, nameFrom: from }, query);
    const names = (request: FastifyRequest, withName = true) => {
      const params = request.params as Params;
      const tenant = info.tenantScoped ? checkName(params.tenant, 'tenant') : undefined;
      const name = withName ? checkName(info.kind === 'Tenant' ? params.tenant : params.name, 'name') : '';
      return { tenant, name };
    };

    app.get(collection, rule('list-or-watch', 'none', LIST_QUERY), async (request, reply) => {
      const { tenant } = names(request, false);
      return listOrWatch(request, reply, service, streams, pages, info, tenant);
    });
    if (info.tenantScoped) {
      // Across all tenants (?tenant=T narrows).
      const across = access({ type: 'object', verb: 'list-or-watch', kind: info.kind, tenantFrom: 'query', nameFrom: 'none' }, [
        'tenant',
        ...LIST_QUERY,
      ]);
      app.get(`/api/v1/${info.plural}`, across, async (request, reply) => {
        const narrowed = singleQuery(request.query as Query, 'tenant');
        return listOrWatch(
          request,
          reply,
          service,
          streams,
          pages,
          info,
          narrowed === undefined ? undefined : checkName(narrowed, 'tenant'),
        );
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
      const [object] = await withServiceStatus(
        service,
        await withComputedStatus(service, [await service.get(info.kind, tenant ?? '', name)]),
      );
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
    app.delete(item, rule('delete', nameFrom, info.kind === 'Tenant' ? ['cascade', 'dryRun'] : ['dryRun']), async (request) => {
      const { tenant, name } = names(request);
      const cascade = truthy(singleQuery(request.query as Query, 'cascade'));
      const dryRun = dryRunFrom(singleQuery(request.query as Query, 'dryRun'));
      return service.delete(
        info.kind,
        tenant,
        name,
        { cascade: info.kind === 'Tenant' && cascade },
        { actor: request.actor, verb: 'delete', audit: request.audit, dryRun },
      );
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
        return {
          apiVersion: 'tenet.dev/v1',
          kind: 'AddressList',
          metadata: { resourceVersion: String(used.revision) },
          addresses: used.addresses,
        };
      });
    }
  }
}

async function listOrWatch(
  request: FastifyRequest,
  reply: FastifyReply,
  service: ObjectService,
  streams: WatchStreams,
  pages: ListPages,
  info: KindInfo,
  tenant: string | undefined,
): Promise<unknown> {
  const query = request.query as Query;
  const labelSelector = singleQuery(query, 'labelSelector');
  const fieldText = singleQuery(query, 'fieldSelector');
  let fields: FieldRequirement[] = [];
  try {
    fields = fieldText === undefined ? [] : parseFieldSelector(fieldText);
  } catch (error) {
    if (error instanceof FieldSelectorError) throw invalid(error.message, [error.message]);
    throw error;
  }
  const limit = limitFrom(singleQuery(query, 'limit'));
  const token = singleQuery(query, 'continue');
  if (truthy(singleQuery(query, 'watch'))) {
    if (limit !== undefined || token !== undefined || fieldText !== undefined) {
      throw invalid('limit, continue and fieldSelector apply to lists, not to watch streams', [
        'watch: cannot be combined with limit, continue or fieldSelector',
      ]);
    }
    const selector = selectorFrom(labelSelector);
    const after = await startRevision(service.store, singleQuery(query, 'resourceVersion'));
    const prefix = info.tenantScoped && tenant !== undefined ? objectPrefix(info.kind, tenant) : objectPrefix(info.kind);
    await streamWatch(request, reply, service.store, streams, { prefix, kinds: new Set([info.kind]), tenant, selector }, after);
    return reply;
  }
  // A list's resourceVersion asks for a state at least that fresh (Kubernetes' default semantics); reading the latest always is.
  // The same request, as a continue token must repeat it.
  const signature = JSON.stringify([request.routeOptions.url, info.kind, tenant ?? null, labelSelector ?? null, fieldText ?? null]);
  let page;
  if (token !== undefined) {
    page = pages.next(token, limit, request.actor, signature);
  } else {
    const listed = await service.list(info.kind, { tenant, labelSelector });
    const matching = listed.items.filter((o) => fieldsMatch(fields, o.metadata));
    // Narrowed to what the caller may read before paging, so a page holds `limit` readable items.
    const visible = request.narrowItems ? request.narrowItems(matching) : matching;
    page = pages.first(visible, listed.revision, limit, request.actor, signature);
  }
  const items = await withServiceStatus(service, await withComputedStatus(service, page.items));
  const metadata: List['metadata'] = { resourceVersion: String(page.revision) };
  if (page.continueToken !== undefined) {
    metadata.continue = page.continueToken;
    metadata.remainingItemCount = page.remaining;
  }
  return { apiVersion: API_VERSION, kind: 'List', metadata, items } satisfies List;
}
