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
}
