/**
 * Unified diffs between live objects and the files, on their canonical intent (server-managed
 * fields stripped, keys in schema order) so only real differences show.
 */
import { structuredPatch, formatPatch, FILE_HEADERS_ONLY } from 'diff';
import type { TenetObject } from '../core/model/object';
import { intentOf, toYaml } from './normalize';
import { refPath } from './manifests';

/** The diff of one object, `--- live/<ref>` against `+++ file/<ref>`; '' when the intent is the same. */
export function renderObjectDiff(live: TenetObject | undefined, desired: TenetObject): string {
  const before = live ? toYaml(intentOf(live)) : '';
  const after = toYaml(intentOf(desired));
  if (before === after) return '';
  const ref = refPath(desired);
  const patch = structuredPatch(live ? `live/${ref}` : '/dev/null', `file/${ref}`, before, after, undefined, undefined, { context: 3 });
  return formatPatch(patch, FILE_HEADERS_ONLY);
}

/** A live object the files no longer hold (an apply set's prune candidate): all its lines removed. */
export function renderRemovalDiff(live: TenetObject): string {
  const ref = refPath(live);
  const patch = structuredPatch(`live/${ref}`, '/dev/null', toYaml(intentOf(live)), '', undefined, undefined, { context: 3 });
  return formatPatch(patch, FILE_HEADERS_ONLY);
}
