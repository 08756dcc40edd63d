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
export function summarizeChanges(results: readonly ChangedObject[], diffs: readonly ObjectDiff[], status?: Record<string, unknown>): string {
  const changed = results.filter((r) => r.action !== 'unchanged');
  if (changed.length === 0) return 'no change';
  const byRef = new Map(diffs.map((d) => [ref(d), d]));
  const parts = changed.slice(0, MAX_OBJECTS).map((r) => {
    const diff = byRef.get(ref(r));
    const paths = r.action === 'configured' && diff ? changedPaths(diff.before, diff.after) : [];
    return `${r.action} ${ref(r)}${paths.length > 0 ? ` (${paths.join(', ')})` : ''}`;
  });
  if (changed.length > MAX_OBJECTS) parts.push(`and ${changed.length - MAX_OBJECTS} more`);
  if (status) {
    const addresses = ['ipv4', 'ipv6'].map((f) => status[f]).filter((v): v is string => typeof v === 'string');
    if (addresses.length > 0) parts[0] += ` [${addresses.join(', ')}]`;
  }
  return parts.join('; ');
}
