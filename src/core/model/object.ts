import type { KindName } from './registry';
import type { ObjectMeta } from './common';

/** Any stored object, typed loosely at the envelope; use the per-kind types for spec and status. */
export interface TenetObject {
  apiVersion: string;
  kind: KindName;
  metadata: ObjectMeta;
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** Identity of an object: kind, tenant ('' for cluster-scoped kinds) and name. */
export interface ObjectRef {
  kind: KindName;
  tenant: string;
  name: string;
}

export function refOf(object: Pick<TenetObject, 'kind' | 'metadata'>): ObjectRef {
  return { kind: object.kind, tenant: object.metadata.tenant ?? '', name: object.metadata.name };
}

export function refText(ref: ObjectRef): string {
  return ref.tenant ? `${ref.kind} ${ref.tenant}/${ref.name}` : `${ref.kind} ${ref.name}`;
}
