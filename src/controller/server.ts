/**
 * The controller's HTTP server: fastify with JSON errors for every failure, the object and
 * cluster routes, metrics, and a per-request `actor` that an auth preHandler can set later
 * (it defaults to "anonymous" and is recorded in history).
 */
import http from 'node:http';
import https from 'node:https';
import Fastify, {
  LogController,
  type FastifyBodyParser,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactoryHandler,
} from 'fastify';
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import { ObjectService } from './object-service';
import { invalid, ServiceError, type Reason } from './errors';
import { BODY_LIMIT, MAX_JSON_DEPTH, nestingBeyond } from './json-body';
import { installMetrics } from './metrics';
import { registerObjectRoutes } from './routes/objects';
import { registerClusterRoutes, storeRevision } from './routes/cluster';
import { registerUiRoutes } from './routes/ui';
import { registerPolicyRoutes } from './routes/policy';
import { FlowStore, registerFlowRoutes } from './flows';
import { registerTraceRoutes, TraceChannel } from './trace';
import { WatchStreams, type WatchGuard } from './watch-stream';
import type { AuditSink } from './object-service';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is making the request; auth sets it in a preHandler hook. */
    actor: string;
    /** The audit record of a mutating request; auth sets it, the object service writes it in the change's txn. */
    audit: AuditSink | undefined;
    /** Narrows watch streams to what the caller may see; set by auth. */
    watchGuard: WatchGuard | undefined;
  }
  interface FastifyInstance {
    /** Called with a request whose URL the router could not take (it fails to decode), before its 400 goes out (auth audits it). */
    badUrlRecorders: BadUrlRecorder[];
  }
}

export type BadUrlRecorder = (request: FastifyRequest, code: number, payload: string) => Promise<void>;

export { BODY_LIMIT };

export interface ControllerServerOptions {
  store: Store;
  logger: Logger;
  /** Seconds between watch BOOKMARK lines when nothing else was sent (default 10 s). */
  bookmarkMs?: number;
  /** Called with the app before routes are added (auth hooks go here). */
  beforeRoutes?: (app: FastifyInstance, service: ObjectService) => void | Promise<void>;
  /** Where the web console's built files are (default dist/console). */
  uiDir?: string;
  /** Cluster DNS domain (default cluster.local): services' status.dnsName, and what agents learn from /version. */
  clusterDomain?: string;
}

export interface ControllerServer {
  app: FastifyInstance;
  service: ObjectService;
  /** A new http.Server (https.Server when given a certificate) answering with this app (one per listener). */
  createServer(tls?: { cert: string; key: string }): http.Server | https.Server;
  /** Ends watch streams, closes the app and stops following the store (the store stays open). */
  close(): Promise<void>;
}

const REASONS: Record<number, Reason> = {
  400: 'Invalid',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  413: 'PayloadTooLarge',
};

/** How much of an oversized body is read (and dropped) before the 413 goes out; beyond it the connection is closed. */
const DISCARD_LIMIT = 128 * 1024 * 1024;
const DISCARD_MS = 10_000;

function discardBody(raw: http.IncomingMessage, limit: number, ms: number): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      raw.removeListener('data', onData);
      raw.removeListener('end', done);
      raw.removeListener('error', done);
      raw.removeListener('close', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > limit) done();
    };
    const timer = setTimeout(done, ms);
    raw.on('data', onData).once('end', done).once('error', done).once('close', done);
    raw.resume();
  });
}

export async function buildControllerServer(options: ControllerServerOptions): Promise<ControllerServer> {
  const service = new ObjectService(options.store, { clusterDomain: options.clusterDomain });
  await service.start();
  const streams = new WatchStreams(options.bookmarkMs ?? 10_000);
  let handler: FastifyServerFactoryHandler | undefined;
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Over-long names reach the handlers and get a 400 that names the rule, not the router's bare 414.
    routerOptions: { maxParamLength: 8192 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // A URL that fails to decode (`%FF`) or a parameter beyond maxParamLength is refused before any
    // route or hook: answered here in the API's error shape, after the recorders (the audit trail) saw it.
    frameworkErrors: (error, request, reply) => {
      const code = (error as { code?: string }).code;
      // The router's own statuses stay (400 bad URL, 414 parameter too long); anything else is ours to explain.
      const given = (error as { statusCode?: number }).statusCode;
      const status = given === 400 || given === 414 ? given : 500;
      const message =
        code === 'FST_ERR_BAD_URL'
          ? 'the request URL is not valid (a percent-escape does not decode)'
          : status === 500
            ? 'internal error; see the controller log'
            : (error as Error).message;
      if (status === 500) request.log.error({ err: error }, 'router error');
      const payload = JSON.stringify({ error: { code: status, reason: status === 500 ? 'Internal' : 'Invalid', message, details: [] } });
      void Promise.allSettled(app.badUrlRecorders.map((record) => record(request as FastifyRequest, status, payload))).then(() =>
        (reply as FastifyReply).code(status).type('application/json; charset=utf-8').send(payload),
      );
    },
    serverFactory: (h) => {
      handler = h;
      return http.createServer(h);
    },
  }) as unknown as FastifyInstance;
  app.decorate('badUrlRecorders', [] as BadUrlRecorder[]);
  app.decorateRequest('actor', 'anonymous');
  app.decorateRequest('audit', undefined);
  app.decorateRequest('watchGuard', undefined);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const parseGuarded: FastifyBodyParser<string> = (request, body, done) => {
    if (nestingBeyond(body) !== undefined) {
      const message = `request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`;
      done(invalid(message, [`body: ${message}`]), undefined);
      return;
    }
    void parseJson(request, body, done);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, parseGuarded);
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, parseGuarded);

  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof ServiceError) return reply.code(error.status).send(error.toBody());
    const given = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    // An unsupported Content-Type is just invalid input here (the API speaks JSON only).
    const status = given === 415 ? 400 : given;
    if (status >= 400 && status < 500) {
      const message =
        status === 413 ? `request body is larger than ${request.routeOptions.bodyLimit ?? BODY_LIMIT} bytes` : (error as Error).message;
      // Answering while the client still writes makes it see a broken pipe instead of the 413: read the rest first (bounded).
      if (status === 413) await discardBody(request.raw, DISCARD_LIMIT, DISCARD_MS);
      return reply.code(status).send({ error: { code: status, reason: REASONS[status] ?? 'Invalid', message, details: [] } });
    }
    request.log.error({ err: error, url: request.url, method: request.method }, 'request failed');
    return reply
      .code(500)
      .send({ error: { code: 500, reason: 'Internal', message: 'internal error; see the controller log', details: [] } });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: {
        code: 404,
        reason: 'NotFound',
        message: `no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}`,
        details: [],
      },
    });
  });

  // Every route names the query parameters it takes (config.query, set with its access rule): any
  // other is a mistake worth a 400 — a misspelt `labelSelectr` silently ignored returns everything.
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.url === undefined || request.is404) return;
    const allowed = request.routeOptions.config?.query ?? [];
    const unknown = Object.keys((request.query ?? {}) as Record<string, unknown>).filter((key) => !allowed.includes(key));
    if (unknown.length === 0) return;
    const shown = unknown.map((key) => JSON.stringify(key.slice(0, 40))).join(', ');
    throw invalid(
      `unknown query parameter${unknown.length > 1 ? 's' : ''} ${shown}; this route takes ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
      unknown.map((key) => `${key.slice(0, 40)}: unknown query parameter (allowed: ${allowed.length > 0 ? allowed.join(', ') : 'none'})`),
    );
  });
  installMetrics(app, service.index, service, async () => {
    await storeRevision(service);
    return true;
  });
  if (options.beforeRoutes) await options.beforeRoutes(app, service);
  registerObjectRoutes(app, service, streams);
  registerClusterRoutes(app, service, streams);
  registerPolicyRoutes(app, service);
  registerUiRoutes(app, options.uiDir);
  registerFlowRoutes(app, new FlowStore());
  registerTraceRoutes(app, service, new TraceChannel());
  app.addHook('preClose', async () => streams.endAll());
  await app.ready();

  return {
    app,
    service,
    createServer: (tls) => (tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler!) : http.createServer(handler!)),
    close: async () => {
      streams.endAll();
      await app.close();
      service.stop();
    },
  };
}
