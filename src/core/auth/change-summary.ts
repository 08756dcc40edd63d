/**
 * The one-line "what changed" of an audit entry: each object's action and, for updates, which
 * fields differ. Pure: it reads the before/after the object service already holds for history.
 */

export interface ChangedObject {
  kind: string;
  tenant?: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged' | 'deleted';
}

export interface ObjectDiff {
  kind: string;
  tenant?: string;
  name: string;
  before?: unknown;
  after?: unknown;
}

const MAX_OBJECTS = 20;
const MAX_PATHS = 8;

/** Dotted paths (spec.x, metadata.labels.y) whose values differ, at most `limit` of them. */
export function changedPaths(before: unknown, after: unknown, prefix = '', limit = MAX_PATHS): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, at: string): void => {
    if (out.length >= limit) return;
    // A mapping that appears or disappears is compared with an empty one, so the leaves are named.
    if ((isRecord(a) || a === undefined) && (isRecord(b) || b === undefined) && (a !== undefined || b !== undefined)) {
      const left = a ?? {};
      const right = b ?? {};
      for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
        if (at === '' && (key === 'status' || key === 'apiVersion' || key === 'kind')) continue;
        if (at === 'metadata' && ['resourceVersion', 'uid', 'createdAt'].includes(key)) continue;
        walk(left[key], right[key], at ? `${at}.${key}` : key);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(at || '(value)');
  };
  walk(before, after, prefix);
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function ref(object: { kind: string; tenant?: string; name: string }): string {
  return `${object.kind} ${object.tenant ? `${object.tenant}/` : ''}${object.name}`;
}

/** e.g. `created Network shop/web; configured Policy shop/p (spec.rules)`. */
export function summarizeChanges(
  results: readonly ChangedObject[],
  diffs: readonly ObjectDiff[],
  status?: Record<string, unknown>,
): string {
  const changed = results.filter((r) => r.action !== 'unchanged');
  if (changed.length === 0) return 'no change';
  const byRef = new Map(diffs.map((d) => [ref(d), d]));
  const parts = changed.slice(0, MAX_OBJECTS).map((r) => {
    const diff = byRef.get(ref(r));
    const paths = r.action === 'configured' && diff ? changedPaths(diff.before, diff.after) : [];
    return `${r.action} ${ref(r)}${paths.length > 0 ? ` (${paths.join(', ')})` : ''}`;
  });
  if (changed.length > MAX_OBJECTS) {
    // The tenants of the objects not listed still decide who may see the entry (summaryScope below).
    const rest = [
      ...new Set(
        changed
          .slice(MAX_OBJECTS)
          .map(tenantOf)
          .filter((t) => t !== ''),
      ),
    ].sort();
    parts.push(`and ${changed.length - MAX_OBJECTS} more${rest.length > 0 ? ` (tenants ${rest.join(', ')})` : ''}`);
  }
  if (status) {
    const addresses = ['ipv4', 'ipv6'].map((f) => status[f]).filter((v): v is string => typeof v === 'string');
    if (addresses.length > 0) parts[0] += ` [${addresses.join(', ')}]`;
  }
  return parts.join('; ');
}

/** The tenant an object counts for in the audit trail: a Tenant counts for itself. */
export function tenantOf(object: { kind: string; tenant?: string; name: string }): string {
  return object.kind === 'Tenant' ? object.name : (object.tenant ?? '');
}

export interface SummaryPart {
  /** '' for cluster-scoped objects and for the "and N more" tail. */
  tenant: string;
  kind: string;
  text: string;
}

// One part as summarizeChanges writes it: names and tenants are DNS labels, so neither holds a space, '/' or ';'.
const PART = /^(?:created|configured|deleted) ([A-Za-z]+) (?:([a-z0-9-]+)\/)?([a-z0-9-]+)(?: |$)/;
const TAIL = /^and \d+ more(?: \(tenants ([a-z0-9, -]+)\))?$/;

/** The parts of a summary written by summarizeChanges, with the tenant each is about. */
export function summaryParts(summary: string): SummaryPart[] {
  if (summary === 'no change') return [];
  return summary.split('; ').map((text) => {
    const part = PART.exec(text);
    if (part) return { kind: part[1], tenant: part[1] === 'Tenant' ? part[3] : (part[2] ?? ''), text };
    return { kind: '', tenant: '', text };
  });
}

/**
 * Which kinds and tenants a summary written by summarizeChanges is about, including the tenants of
 * the objects it did not list, and whether it may be about more than tenants' objects. This is how a
 * change whose objects are only known once it is planned (a rollback) gets the tenants its audit
 * entry is filed under.
 */
export function summaryScope(summary: string): { kinds: string[]; tenants: string[]; beyondTenants: boolean } {
  const kinds = new Set<string>();
  const tenants = new Set<string>();
  let beyondTenants = false;
  for (const part of summaryParts(summary)) {
    if (part.kind) kinds.add(part.kind);
    if (part.tenant) tenants.add(part.tenant);
    else if (part.kind) beyondTenants = true; // a cluster-scoped object (GlobalPolicy, Host)
    const tail = TAIL.exec(part.text);
    if (tail) {
      // Objects not listed may be cluster-scoped too: assume they are.
      beyondTenants = true;
      if (tail[1]) for (const t of tail[1].split(', ')) tenants.add(t);
    }
  }
  return { kinds: [...kinds], tenants: [...tenants].sort(), beyondTenants };
}
