/**
 * What `tenet export` writes: intent kinds only (not endpoints or hosts), server-managed fields
 * stripped, canonical key order, dependency order, optionally narrowed to one tenant.
 */
import { kindInfo } from '../core/model/registry';
import type { TenetObject } from '../core/model/object';
import { intentOf, sortByDependency } from './normalize';

export function exportIntent(objects: readonly TenetObject[], options: { tenant?: string } = {}): TenetObject[] {
  const wanted = objects.filter((object) => {
    if (!kindInfo(object.kind)?.intent) return false;
    if (options.tenant === undefined) return true;
    return object.kind === 'Tenant' ? object.metadata.name === options.tenant : object.metadata.tenant === options.tenant;
  });
  return sortByDependency(wanted).map(intentOf);
}
