/**
 * The audit trail of requests: the entry's fields are drafted when a mutating request arrives
 * (before anything can refuse it), narrowed as authorization learns what it touches, written in
 * the change's own txn when the change commits (the sink), and otherwise written here, before the
 * answer leaves (refused, failed, nothing changed, or a URL that never reached a route).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { summaryScope } from '../../core/auth/change-summary';
import { kindInfo } from '../../core/model/registry';
import type { Store } from '../../store/store';
import { appendAudit, auditEntry, auditWrite, pruneAudit, type AuditEntry } from '../../auth/audit-log';
import { parseDuration, parseToken } from '../../auth/tokens';
import type { AuditSink } from '../write-engine';
import type { RouteAction } from './access';

export type AuditFields = Omit<AuditEntry, 'id' | 'at' | 'outcome' | 'code' | 'summary'>;

const MAX_FIELD = 128;
const MAX_TENANTS = 100;
export const clip = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, MAX_FIELD) : undefined;

const DEFAULT_RETENTION_MS = 90 * 86_400_000;

export function retentionFromEnv(text = process.env.TENET_AUDIT_RETENTION): number {
  if (!text) return DEFAULT_RETENTION_MS;
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`TENET_AUDIT_RETENTION must be a duration like 30d (got "${text}")`);
  return ms;
}

/** What is known of a request before it is authenticated: its route's rule, its path parameters, the token id it claims. */
export function draftAudit(request: FastifyRequest, action: RouteAction | undefined): AuditFields {
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
    // A trace (POST .../tenants/T/trace) is the tenant's: its admins see who probed their endpoints.
    if (action?.type === 'policy-question') fields.tenant = clip(params.tenant);
  }
  return fields;
}

/**
 * A change confined to one tenant goes in `tenant`. Otherwise its tenants go in `tenants` (listed for
 * each of them), and a tenant's admins see the entry narrowed to their own objects: that includes a
 * change of one tenant together with cluster-scoped objects, whose names tenant roles may not read.
 */
export function setScope(fields: AuditFields, kinds: string[], tenants: string[], beyondTenants: boolean): void {
  fields.kind = kinds.join(',').slice(0, MAX_FIELD * 4);
  const named = [...new Set(tenants.map(clip).filter((t): t is string => t !== undefined))].sort().slice(0, MAX_TENANTS);
  delete fields.tenant;
  delete fields.tenants;
  if (named.length === 1 && !beyondTenants) fields.tenant = named[0];
  else if (named.length > 0) fields.tenants = named;
}

/** The sink the write engine puts into the change's txn: the entry of an allowed request, with the change's summary. */
export function auditSink(request: FastifyRequest, fields: AuditFields, action: RouteAction): AuditSink {
  const code = request.method === 'POST' && (action.type === 'object' || request.routeOptions.url === '/api/v1/tokens') ? 201 : 200;
  // A rollback's objects are known only once the service has planned it: its summary names them.
  const scoped = action.type === 'admin' && fields.verb === 'rollback';
  return {
    recorded: false,
    op: (summary, events) => {
      const entry = { ...fields };
      if (scoped) {
        const scope = summaryScope(summary);
        setScope(entry, scope.kinds, scope.tenants, scope.beyondTenants);
      }
      return auditWrite(auditEntry({ ...entry, outcome: 'allowed', code, summary, ...(events && events.length > 0 ? { events } : {}) }));
    },
  };
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

export interface AuditTrail {
  /** Records the entry of a request whose change did not write it: refused, failed or no change. */
  record(request: FastifyRequest, fields: AuditFields, code: number, payload: unknown): Promise<void>;
}

/** The onSend recorder, the hourly retention pass, and the counter of entries that could not be written. */
export function installAuditTrail(app: FastifyInstance, store: Store, retentionMs: number): AuditTrail {
  const prune = () =>
    void pruneAudit(store, retentionMs).catch((error: unknown) => app.log.warn({ err: error }, 'audit retention pass failed'));
  const pruneTimer = setInterval(prune, 3_600_000);
  pruneTimer.unref();
  prune();
  app.addHook('onClose', async () => clearInterval(pruneTimer));
  const auditRegistry = new Registry();
  const auditLost = new Counter({
    name: 'tenet_audit_entries_lost_total',
    help: 'Audit entries of requests that changed nothing (refused, failed, no change) that could not be written, by outcome',
    labelNames: ['outcome'] as const,
    registers: [auditRegistry],
  });
  for (const outcome of ['allowed', 'refused', 'failed']) auditLost.inc({ outcome }, 0);

  const trail: AuditTrail = {
    async record(request, fields, code, payload) {
      const outcome: AuditEntry['outcome'] = code < 300 ? 'allowed' : request.refusedByAuth ? 'refused' : 'failed';
      const summary = code < 300 ? 'no change' : errorMessage(payload);
      const entry = auditEntry({ ...fields, outcome, code, ...(summary ? { summary } : {}) });
      try {
        await appendAudit(store, entry);
      } catch (error) {
        // The request changed nothing and its answer stands; the entry is lost, so it must be visible
        // elsewhere: a counter to alert on, and the entry itself in the error log.
        auditLost.inc({ outcome });
        request.log.error({ err: error, entry }, 'could not record an audit entry: it is lost (tenet_audit_entries_lost_total)');
      }
    },
  };

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const fields = request.auditFields;
    if (!fields || request.audit?.recorded) return payload;
    const code = reply.statusCode;
    if (request.auditOnlyFailure && code < 300) return payload;
    await trail.record(request, fields, code, payload);
    return payload;
  });

  // The controller's metrics registry belongs to the server; this counter is added to its answer.
  app.addHook('onSend', async (request, reply, payload: unknown) => {
    if (request.routeOptions.url !== '/metrics' || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    return payload + (await auditRegistry.metrics());
  });
  return trail;
}
