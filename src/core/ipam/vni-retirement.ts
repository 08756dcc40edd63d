/**
 * Retired VNIs: a deleted tenant's VNI stays taken until every host that existed when the tenant was
 * deleted has confirmed it no longer holds a namespace of that tenant (or that host was deleted). A host
 * whose agent was down at the deletion still carries the old router namespace, with a VXLAN device on
 * the VNI; handing the VNI to a new tenant at once would join the two tenants on the wire. Pure: the
 * controller keeps the record in the VNI's own store key, so allocation (a create-only compare on that
 * key) cannot take it on any controller, after any restart.
 */

export interface RetiredVni {
  vni: number;
  /** The deleted tenant's name: the router namespace hosts report is named after it. */
  tenant: string;
  uid?: string;
  /** When the tenant was deleted (ISO time), for operators. */
  at: string;
  /** Hosts that have not confirmed yet, sorted. */
  hosts: string[];
}

/** What a /vni/<n> key holds: the tenant using it (its name, plain text, as always) or a retirement record (JSON). */
export type VniHolder = { tenant: string } | { retired: RetiredVni };

export function encodeRetired(record: RetiredVni): string {
  return JSON.stringify({ retired: record });
}

export function decodeVniValue(value: string): VniHolder {
  if (!value.startsWith('{')) return { tenant: value };
  const parsed = JSON.parse(value) as { retired?: RetiredVni };
  if (!parsed.retired || !Array.isArray(parsed.retired.hosts) || typeof parsed.retired.tenant !== 'string') {
    throw new Error(`unreadable VNI record: ${value.slice(0, 200)}`);
  }
  return { retired: parsed.retired };
}

/** The record a tenant deletion writes; undefined when no host exists (nothing can carry the VNI: it is free at once). */
export function retireVni(
  vni: number,
  tenant: string,
  uid: string | undefined,
  hosts: readonly string[],
  at: string,
): RetiredVni | undefined {
  const pending = [...new Set(hosts)].sort();
  if (pending.length === 0) return undefined;
  return { vni, tenant, ...(uid ? { uid } : {}), at, hosts: pending };
}

/** The part of a Host status that speaks about carried tenants (written by the agent). */
export interface CarriedReport {
  /** Tenants that have a router namespace on the host, read from the kernel (namespace names). */
  tenantNamespaces?: readonly string[];
  /** The store revision the agent's view had reached before it read the namespaces. */
  observedRevision?: number;
}

/**
 * Whether a host's report confirms that it no longer carries the retired VNI. `retiredAt` is the store
 * revision of the deletion as the host sees it (the revision its pending marker was written at): a
 * report from a view older than that could come from an agent that has not seen the deletion yet and
 * may still make the namespace. A report without the fields (an older agent) never confirms. The test
 * is by tenant name, so a new tenant of the same name on that host holds the old VNI back until it
 * leaves the host too — conservative, never wrong.
 */
export function reportConfirms(record: RetiredVni, report: CarriedReport | undefined, retiredAt: number): boolean {
  if (!report || !Array.isArray(report.tenantNamespaces) || typeof report.observedRevision !== 'number') return false;
  if (report.observedRevision < retiredAt) return false;
  return !report.tenantNamespaces.includes(record.tenant);
}

/** The record after `host` confirmed (or was deleted); 'released' when no host is left. */
export function confirmHost(record: RetiredVni, host: string): RetiredVni | 'released' {
  const hosts = record.hosts.filter((h) => h !== host);
  return hosts.length === 0 ? 'released' : { ...record, hosts };
}
