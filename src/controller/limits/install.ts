/**
 * Noisy-neighbour limits as fastify hooks, installed after auth (they key on `request.principal`):
 *
 * - requests per token per window (@fastify/rate-limit, keyed by token id): 429 + Retry-After;
 * - concurrent watch streams per token: 429 for one more, naming the limit;
 * - per-tenant object quotas: a QuotaLedger handed to the object service, which asks it in the
 *   txn-planning of every write (403 "exceeded quota").
 *
 * Requests that fail authentication never reach these hooks (401 first), and /healthz (public) is
 * not limited.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { ServiceError } from '../errors';
import type { ObjectService } from '../object-service';
import { QuotaLedger } from './quota-ledger';
import type { QuotaOverrides } from '../../core/limits/quota';
import { DEFAULT_RATE_LIMITS, DEFAULT_WATCH_LIMITS, RATE_WINDOW_MS, type PerRole } from '../../core/limits/request-limits';

export interface LimitOptions {
  /** Requests per token per `rateWindowMs`, by role. */
  rateLimits?: PerRole;
  rateWindowMs?: number;
  /** Concurrent watch streams per token, by role. */
  watchLimits?: PerRole;
  /** Cluster-wide default quotas (a tenant's spec.quota overrides them per kind). */
  quotaDefaults?: QuotaOverrides;
}

export const tooMany = (message: string) => new ServiceError(429, 'TooManyRequests', message);

export async function installLimits(app: FastifyInstance, service: ObjectService, options: LimitOptions = {}): Promise<void> {
  const rates = options.rateLimits ?? DEFAULT_RATE_LIMITS;
  const windowMs = options.rateWindowMs ?? RATE_WINDOW_MS;
  const watches = options.watchLimits ?? DEFAULT_WATCH_LIMITS;

  const ledger = new QuotaLedger(service.store, options.quotaDefaults ?? {});
  await ledger.start();
  service.quotas = ledger;
  app.addHook('onClose', async () => ledger.stop());

  await app.register(rateLimit, {
    global: false,
    timeWindow: windowMs,
    // One bucket per token (not per address: many tenants may share a NAT, one token many hosts).
    keyGenerator: (request) => (request.principal ? `token:${request.principal.tokenId}` : `ip:${request.ip}`),
    max: async (request) => (request.principal ? rates[request.principal.role] : Math.min(...Object.values(rates))),
    errorResponseBuilder: (request, context) =>
      tooMany(
        `rate limit exceeded: ${request.principal ? `token ${request.principal.tokenId} (${request.principal.role})` : 'this client'} may send ${context.max} requests per ${windowMs / 1000} s; retry in ${context.after}`,
      ),
  });
  const limitRate = app.rateLimit();
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.principal) return; // public routes (auth answered 401 already for the rest)
    await limitRate.call(app, request, reply);
  });

  const open = new Map<string, number>();
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !isWatch(request)) return;
    const id = principal.tokenId;
    const limit = watches[principal.role];
    const count = open.get(id) ?? 0;
    if (count >= limit) {
      throw tooMany(
        `too many watches: token ${id} (${principal.role}) already holds ${count} open watch streams, the most allowed; close one first`,
      );
    }
    open.set(id, count + 1);
    // The response's close is the stream's end, whatever ended it (client, shutdown, 410 before start).
    reply.raw.once('close', () => {
      const left = (open.get(id) ?? 1) - 1;
      if (left <= 0) open.delete(id);
      else open.set(id, left);
    });
  });
}

function isWatch(request: FastifyRequest): boolean {
  if (request.method !== 'GET') return false;
  if (request.routeOptions.url === '/api/v1/watch') return true;
  const watch = (request.query as Record<string, unknown> | undefined)?.watch;
  return typeof watch === 'string' && ['1', 'true', 'yes'].includes(watch.toLowerCase());
}
