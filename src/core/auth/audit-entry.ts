/** One audit trail entry, as stored (src/auth/audit-log.ts) and as the API, CLI and console read it. Pure: the console imports it too. */
export interface AuditEntry {
  id: string;
  at: string;
  tokenId: string;
  role: string;
  verb: string;
  kind: string;
  /** The one tenant the request was about (a Tenant's own requests count for it). */
  tenant?: string;
  /**
   * An apply or rollback not confined to one tenant (several tenants, or tenants' and cluster-scoped
   * objects): its tenants, sorted; `tenant` is then unset. The entry is listed for each of them, and
   * shown to a tenant's admins narrowed to that tenant.
   */
  tenants?: string[];
  name?: string;
  /** allowed: the change was made; refused: 401/403/404 by access control; failed: rejected by validation or conflict. */
  outcome: 'allowed' | 'refused' | 'failed';
  code: number;
  summary?: string;
  /**
   * Named events the change is, beside its summary (src/core/auth/audit-events.ts): a floating IP
   * bound, moved (from, to), unbound or deleted, a pool created, changed or deleted. The entry's
   * token and role say who.
   */
  events?: AuditEvent[];
}

/** The names of the audit trail's own events. */
export const AUDIT_EVENT_NAMES = [
  'floatingip.allocate',
  'floatingip.bind',
  'floatingip.move',
  'floatingip.unbind',
  'floatingip.delete',
  'floatingippool.create',
  'floatingippool.update',
  'floatingippool.delete',
] as const;
export type AuditEventName = (typeof AUDIT_EVENT_NAMES)[number];

export interface AuditEvent {
  event: AuditEventName;
  /** The object's tenant (absent: a cluster-scoped pool). */
  tenant?: string;
  name: string;
  /** The floating IP's address. */
  address?: string;
  /** The target before (`endpoint/NAME`, `service/NAME`), or the pool's before (`CIDRS ADVERTISE`). */
  from?: string;
  /** The target after, or the pool's after. */
  to?: string;
}
