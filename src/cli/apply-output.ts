/** How `apply` (and `k8s import`) print an apply's answer: one line per object, then a dry run's impact. */
import type { ApplyResult } from '../core/model/wire';
import { describeChange } from '../core/policy/impact';
import { refPath } from './manifests';

/** Flow changes printed after a dry run; the rest are counted. */
const IMPACT_LINES = 40;

export function applyLines(result: ApplyResult, dryRun: boolean): string {
  const suffix = dryRun ? ' (dry run)' : '';
  return result.results.map((item) => `${refPath(item)} ${item.action}${suffix}\n`).join('');
}

/** The controller computes the impact (from the whole intent, whatever the token may read) and sends it with a dry run's answer. */
export function impactText(result: ApplyResult): string {
  const impact = (result.impact ?? []).map(describeChange);
  if (impact.length === 0) return '';
  const more = impact.length - IMPACT_LINES;
  const shown =
    more > 0 ? [...impact.slice(0, IMPACT_LINES), `... and ${more}${result.impactTruncated ? '+' : ''} more flow changes`] : impact;
  return `\nflows that would change verdict:\n${shown.map((l) => `  ${l}\n`).join('')}`;
}
