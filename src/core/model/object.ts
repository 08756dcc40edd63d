import type { KindName } from './registry';
import type { Tenant } from './kinds/tenant';
import type { Network } from './kinds/network';
import type { Group } from './kinds/group';
import type { Scope } from './kinds/scope';
import type { GlobalPolicy, Policy } from './kinds/policy';
import type { Service } from './kinds/service';
import type { Endpoint } from './kinds/endpoint';
import type { Host } from './kinds/host';
import type { FloatingIP, FloatingIPPool } from './kinds/floating-ip';
import type { ObjectMeta } from './common';

/** An object of one kind, typed by its schema; `kind` tells which. */
export type TenetObject =
  Tenant | Network | Group | Scope | Policy | GlobalPolicy | Service | Endpoint | Host | FloatingIPPool | FloatingIP;

/** The object of one kind: `ObjectOf<'Network'>` is a Network. */
export type ObjectOf<K extends KindName> = Extract<TenetObject, { kind: K }>;

/** Any object before its kind matters (what generic code handles): the envelope, spec and status loosely typed. */
export interface AnyObject {
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

/** The one map key of an object identity: `kind/tenant/name` (tenant empty for cluster-scoped kinds). */
const SERVER_METADATA = ['uid', 'resourceVersion', 'createdAt'];

/** A copy without uid, resourceVersion, createdAt and status: the object as intent. Leaves anything that is not an object alone. */
export function stripServerFields<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  delete copy.status;
  const metadata = copy.metadata;
  if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
    const meta: Record<string, unknown> = { ...(metadata as Record<string, unknown>) };
    for (const field of SERVER_METADATA) delete meta[field];
    copy.metadata = meta;
  }
  return copy as T;
}

export function refKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.tenant}/${ref.name}`;
}
