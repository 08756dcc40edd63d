/**
 * Token management (admins) and the audit trail (admins: all; tenant-admins: their tenant). The
 * audit trail has read routes only: entries are written by the hooks, never through the API.
 */
import { AUDIT_EVENT_NAMES } from '../../core/auth/audit-entry';
import type { FastifyInstance } from 'fastify';
import { ROLES, type Role } from '../../core/auth/roles';
import { NAME_REGEX } from '../../core/model/names';
import { narrowEntry, readAudit } from '../../auth/audit-log';
import { parseDuration, type TokenRecord } from '../../auth/tokens';
import type { TokenStore } from '../../auth/token-store';
import type { Store } from '../../store/store';
import { invalid, notFound } from '../errors';
import { access } from './access';

const MAX_AUDIT = 10_000;

export function publicRecord(record: TokenRecord): Omit<TokenRecord, 'secretHash'> {
  const { secretHash, ...rest } = record;
  void secretHash;
  return rest;
}

function nameField(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 63 || !NAME_REGEX.test(value))
    throw invalid(`${field} must be a valid name`, [`${field}: invalid`]);
  return value;
}

export function registerAuthRoutes(app: FastifyInstance, store: Store, tokens: TokenStore): void {
  app.get('/api/v1/whoami', access({ type: 'any' }), async (request) => {
    const p = request.principal!;
    return { tokenId: p.tokenId, role: p.role, ...(p.tenant ? { tenant: p.tenant } : {}), ...(p.host ? { host: p.host } : {}) };
  });

  app.get('/api/v1/tokens', access({ type: 'admin' }), async () => ({ items: (await tokens.list()).map(publicRecord) }));

  app.post('/api/v1/tokens', access({ type: 'admin' }), async (request, reply) => {
    const body = request.body as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw invalid('the body must be {"role": ..., "tenant"?: ..., "host"?: ..., "ttl"?: "24h", "description"?: ...}');
    const allowed = new Set(['role', 'tenant', 'host', 'ttl', 'description']);
    const unknown = Object.keys(body).filter((k) => !allowed.has(k));
    if (unknown.length > 0)
      throw invalid(
        'unknown fields in the token request',
        unknown.map((k) => `${k.slice(0, 40)}: unknown field`),
      );
    if (typeof body.role !== 'string' || !ROLES.includes(body.role as Role))
      throw invalid(`role must be one of ${ROLES.join(', ')}`, ['role: invalid']);
    const role = body.role as Role;
    const needsTenant = role === 'tenant-admin' || role === 'viewer';
    if (needsTenant !== (body.tenant !== undefined))
      throw invalid(needsTenant ? `a ${role} token needs a tenant` : `only tenant-admin and viewer tokens have a tenant`, [
        'tenant: invalid',
      ]);
    if ((role === 'agent') !== (body.host !== undefined))
      throw invalid(role === 'agent' ? 'an agent token needs a host' : 'only agent tokens have a host', ['host: invalid']);
    const tenant = body.tenant === undefined ? undefined : nameField(body.tenant, 'tenant');
    const host = body.host === undefined ? undefined : nameField(body.host, 'host');
    let ttlMs: number | undefined;
    if (body.ttl !== undefined) {
      ttlMs = typeof body.ttl === 'string' ? parseDuration(body.ttl) : undefined;
      if (ttlMs === undefined) throw invalid('ttl must be a duration like 90s, 30m, 24h or 7d', ['ttl: invalid']);
    }
    if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 200)) {
      throw invalid('description must be a string of at most 200 characters', ['description: invalid']);
    }
    const description = body.description as string | undefined;
    if (request.auditFields && tenant) request.auditFields.tenant = tenant;
    const { token, record } = await tokens.create({ role, tenant, host, ttlMs, description }, new Date(), request.audit);
    reply.code(201);
    return { token, ...publicRecord(record) };
  });

  app.delete('/api/v1/tokens/:id', access({ type: 'admin' }), async (request) => {
    const id = (request.params as { id: string }).id;
    if (!/^[a-z0-9]{12}$/.test(id)) throw notFound(`token ${JSON.stringify(id.slice(0, 40))} not found`);
    if (!(await tokens.revoke(id, request.audit))) throw notFound(`token ${id} not found`);
    return { id, revoked: true };
  });

  app.get('/api/v1/audit', access({ type: 'audit' }, ['tenant', 'since', 'limit', 'event']), async (request) => {
    const query = request.query as Record<string, unknown>;
    const principal = request.principal!;
    for (const key of Object.keys(query)) {
      if (!['tenant', 'since', 'limit', 'event'].includes(key) || typeof query[key] !== 'string')
        throw invalid(`unknown or repeated query parameter ${key.slice(0, 40)}`);
    }
    let tenant = query.tenant === undefined ? undefined : nameField(query.tenant, 'tenant');
    if (principal.role !== 'admin') {
      if (tenant !== undefined && tenant !== principal.tenant) throw notFound(`tenant "${tenant}" not found`);
      tenant = principal.tenant;
    }
    let sinceMs: number | undefined;
    if (query.since !== undefined) {
      sinceMs = parseDuration(query.since as string);
      if (sinceMs === undefined) throw invalid('since must be a duration like 90s, 30m, 24h or 7d', ['since: invalid']);
    }
    let limit = MAX_AUDIT;
    if (query.limit !== undefined) {
      limit = Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT) throw invalid(`limit must be 1..${MAX_AUDIT}`, ['limit: invalid']);
    }
    const event = query.event as string | undefined;
    const families = new Set(AUDIT_EVENT_NAMES.map((name) => name.split('.')[0]));
    if (event !== undefined && !(AUDIT_EVENT_NAMES as readonly string[]).includes(event) && !families.has(event))
      throw invalid(`event must be one of ${[...families, ...AUDIT_EVENT_NAMES].join(', ')}`, ['event: invalid']);
    const items = await readAudit(store, { tenant, sinceMs, limit, event });
    return { items: principal.role === 'admin' ? items : items.map((entry) => narrowEntry(entry, principal.tenant ?? '')) };
  });
}
