/** Routes over several kinds at once: apply, history, rollback, snapshot, multi-kind watch, health, OpenAPI. */
import type { FastifyInstance } from 'fastify';
import { kindInfo, type KindName } from '../../core/model/registry';
import { OBJECTS_PREFIX } from '../../store/keys';
import { invalid } from '../errors';
import type { ObjectService } from '../object-service';
import { buildOpenApi } from '../openapi';
import { APPLY_BODY_LIMIT } from '../json-body';
import { startRevision, streamWatch, type WatchStreams } from '../watch-stream';
import { singleQuery } from './objects';
import { access } from '../auth/access';
import { TENET_VERSION } from '../../version';
import { API_VERSION } from '../../core/model/common';

const READY_MS = 2000;

function kindsFrom(text: string | undefined): KindName[] {
  if (!text) throw invalid('kinds is required, e.g. ?kinds=Tenant,Network,Endpoint', ['kinds: required']);
  const kinds: KindName[] = [];
  const problems: string[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const info = kindInfo(part);
    if (info) kinds.push(info.kind);
    else problems.push(`kinds: unknown kind "${part.slice(0, 40)}"`);
  }
  if (problems.length > 0 || kinds.length === 0)
    throw invalid('kinds must be a comma-separated list of kinds', problems.length ? problems : ['kinds: empty']);
  return kinds;
}

/** The store's revision within READY_MS, or why not: what readiness (/readyz, tenet_controller_ready) follows. */
export async function storeRevision(service: Pick<ObjectService, 'store'>): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      service.store.currentRevision(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the store did not answer within 2 s')), READY_MS))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function registerClusterRoutes(app: FastifyInstance, service: ObjectService, streams: WatchStreams): void {
  const openapi = buildOpenApi();
  app.get('/healthz', access({ type: 'public' }), async () => ({ ok: true }));
  // Readiness follows the store: a controller whose store does not answer (etcd stopped, unreachable)
  // cannot serve a read or a write, so a load balancer should stop sending it requests. Liveness
  // (/healthz) stays up: restarting the controller would not bring the store back.
  app.get('/readyz', access({ type: 'public' }), async (_request, reply) => {
    try {
      return { ready: true, revision: await storeRevision(service) };
    } catch (error) {
      return reply.code(503).send({ ready: false, reason: (error as Error).message.slice(0, 200) });
    }
  });
  app.get('/api/v1/openapi.json', access({ type: 'any' }), async () => openapi);
  // Like Kubernetes' /version: any authenticated caller may ask which build answers.
  // clusterDomain: agents serve DNS under the domain the controller names services with.
  app.get('/version', access({ type: 'any' }), async () => ({
    version: TENET_VERSION,
    apiVersion: API_VERSION,
    node: process.version,
    clusterDomain: service.clusterDomain,
  }));

  app.post('/api/v1/apply', { bodyLimit: APPLY_BODY_LIMIT, ...access({ type: 'apply' }) }, async (request) =>
    service.apply(request.body, { actor: request.actor, verb: 'apply', audit: request.audit }),
  );
  app.get('/api/v1/history', access({ type: 'admin' }), async () => ({ items: await service.history() }));
  app.get('/api/v1/history/:revision', access({ type: 'admin' }), async (request) => {
    const text = (request.params as { revision: string }).revision;
    if (!/^[0-9]{1,12}$/.test(text))
      throw invalid(`history revision ${JSON.stringify(text.slice(0, 40))} is not a number`, ['revision: not a number']);
    return service.historyRecord(Number(text));
  });
  app.post('/api/v1/rollback', access({ type: 'admin' }), async (request) =>
    service.rollback(request.body, { actor: request.actor, verb: 'rollback', audit: request.audit }),
  );

  app.get('/api/v1/snapshot', access({ type: 'kinds', verb: 'list' }, ['kinds']), async (request) => {
    const kinds = kindsFrom(singleQuery(request.query as Record<string, unknown>, 'kinds'));
    return service.snapshot(kinds);
  });
  app.get('/api/v1/watch', access({ type: 'kinds', verb: 'watch' }, ['kinds', 'resourceVersion']), async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const kinds = kindsFrom(singleQuery(query, 'kinds'));
    const after = await startRevision(service.store, singleQuery(query, 'resourceVersion'));
    await streamWatch(request, reply, service.store, streams, { prefix: OBJECTS_PREFIX, kinds: new Set(kinds) }, after);
    return reply;
  });
}
