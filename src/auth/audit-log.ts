/**
 * The audit trail: one entry per mutating request, allowed or refused, stored under
 * /audit/ in the Store. Entries are only ever added (the API has no way to change them).
 */
import { randomBytes } from 'node:crypto';
import { summaryParts } from '../core/auth/change-summary';
import type { Store, WriteOp } from '../store/store';

const AUDIT_PREFIX = '/audit/';

export type { AuditEntry } from '../core/auth/audit-entry';
import type { AuditEntry } from '../core/auth/audit-entry';

/** Keys sort by time, then by a random suffix so two controllers never collide. */
export function auditEntry(fields: Omit<AuditEntry, 'id' | 'at'>, now = new Date()): AuditEntry {
  const at = now.toISOString();
  return { id: `${at}-${randomBytes(4).toString('hex')}`, at, ...fields };
}

/** The write that records an entry, to put in the same txn as the change it describes. */
export function auditWrite(entry: AuditEntry): WriteOp {
  return { type: 'put', key: AUDIT_PREFIX + entry.id, value: JSON.stringify(entry) };
}

export async function appendAudit(store: Store, entry: AuditEntry): Promise<void> {
  await store.txn([], [auditWrite(entry)]);
}

export interface AuditQuery {
  tenant?: string;
  /** Only entries carrying this event (`floatingip.move`) or an event of this family (`floatingip`). */
  event?: string;
  sinceMs?: number;
  limit?: number;
}

export async function readAudit(store: Store, query: AuditQuery, now = new Date()): Promise<AuditEntry[]> {
  const { items } = await store.range(AUDIT_PREFIX);
  const since = query.sinceMs ? now.getTime() - query.sinceMs : 0;
  const entries = items
    .map((item) => JSON.parse(item.value) as AuditEntry)
    .filter((entry) => (query.tenant === undefined || isAbout(entry, query.tenant)) && Date.parse(entry.at) >= since)
    .filter((entry) => query.event === undefined || hasEvent(entry, query.event));
  return query.limit ? entries.slice(-query.limit) : entries;
}

/** `name` is an event's full name (`floatingip.move`) or its family (`floatingip`, `floatingippool`). */
export function hasEvent(entry: AuditEntry, name: string): boolean {
  return (entry.events ?? []).some((e) => e.event === name || e.event.startsWith(`${name}.`));
}

export function isAbout(entry: AuditEntry, tenant: string): boolean {
  return entry.tenant === tenant || (entry.tenants?.includes(tenant) ?? false);
}

/**
 * An entry as a tenant's own admins see it: an entry of several tenants names only theirs, and its
 * summary keeps only the parts about their objects (the rest would disclose other tenants).
 */
export function narrowEntry(entry: AuditEntry, tenant: string): AuditEntry {
  if (entry.tenants === undefined) return entry;
  const { tenants, summary, events, ...rest } = entry;
  void tenants;
  // Only the events about the tenant's own objects (a pool's are cluster-scoped: never a tenant's to see).
  const ownEvents = events?.filter((event) => event.tenant === tenant) ?? [];
  const own = summary === undefined ? [] : summaryParts(summary).filter((part) => part.tenant === tenant);
  const kinds = [...new Set(own.map((part) => part.kind))];
  return {
    ...rest,
    tenant,
    kind: kinds.length > 0 ? kinds.join(',') : rest.kind,
    summary:
      own.length > 0
        ? own.map((part) => part.text).join('; ')
        : summary === 'no change'
          ? summary
          : 'details about other tenants not shown',
    ...(ownEvents.length > 0 ? { events: ownEvents } : {}),
  };
}

/**
 * Removes entries older than `retainMs` (keys sort by time, so this stops at the first young one).
 * Not reachable through the API: retention is the controller's, never a client's, decision.
 */
export async function pruneAudit(store: Store, retainMs: number, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retainMs).toISOString();
  const { items } = await store.range(AUDIT_PREFIX);
  const old = items.filter((item) => item.key.slice(AUDIT_PREFIX.length) < cutoff).map((item) => item.key);
  for (let i = 0; i < old.length; i += 500) {
    await store.txn(
      [],
      old.slice(i, i + 500).map((key) => ({ type: 'delete' as const, key })),
    );
  }
  return old.length;
}
