/** Key layout in the store; every key is built here so the layout lives in one place. */
import type { KindName } from '../core/model/registry';

export const OBJECTS_PREFIX = '/objects/';

export function objectPrefix(kind: KindName, tenant?: string): string {
  return tenant === undefined ? `${OBJECTS_PREFIX}${kind}/` : `${OBJECTS_PREFIX}${kind}/${tenant}/`;
}

/** Cluster-scoped objects use '_' as their tenant segment. */
export function objectKey(kind: KindName, tenant: string, name: string): string {
  return `${OBJECTS_PREFIX}${kind}/${tenant || '_'}/${name}`;
}

export function parseObjectKey(key: string): { kind: KindName; tenant: string; name: string } | undefined {
  if (!key.startsWith(OBJECTS_PREFIX)) return undefined;
  const [kind, tenant, name] = key.slice(OBJECTS_PREFIX.length).split('/');
  if (!kind || !tenant || !name) return undefined;
  return { kind: kind as KindName, tenant: tenant === '_' ? '' : tenant, name };
}
