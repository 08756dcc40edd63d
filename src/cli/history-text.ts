/** Rows of `tenet history`: one per revision, with a short summary of what changed. */
import type { HistoryEntry } from '../client/api-client';
import { refPath } from './manifests';

/** `2 created, 1 deleted: network/acme/web, tenant/acme, +1 more` (refs capped so rows stay one line). */
export function changesSummary(changes: HistoryEntry['changes'], maxRefs = 3): string {
  if (changes.length === 0) return '<none>';
  const counts = new Map<string, number>();
  for (const change of changes) counts.set(change.action, (counts.get(change.action) ?? 0) + 1);
  const totals = ['created', 'configured', 'deleted']
    .filter((action) => counts.has(action))
    .map((action) => `${counts.get(action)} ${action}`)
    .join(', ');
  const refs = changes.slice(0, maxRefs).map((c) => refPath(c));
  const more = changes.length > maxRefs ? `, +${changes.length - maxRefs} more` : '';
  return `${totals}: ${refs.join(', ')}${more}`;
}

export function historyRows(entries: readonly HistoryEntry[], wide: boolean): { headers: string[]; rows: string[][] } {
  const headers = ['REVISION', 'TIME', 'ACTOR', 'VERB', 'CHANGES', ...(wide ? ['MESSAGE'] : [])];
  const rows = [...entries]
    .sort((a, b) => a.revision - b.revision)
    .map((e) => [String(e.revision), e.at, e.actor, e.verb, changesSummary(e.changes, wide ? 10 : 3), ...(wide ? [e.message ?? ''] : [])]);
  return { headers, rows };
}
