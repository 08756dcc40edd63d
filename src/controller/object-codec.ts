/** How objects are kept in the store and compared. */
import type { KeyValue } from '../store/store';
import type { TenetObject } from '../core/model/object';

/** resourceVersion is the key's modRevision, so it is never stored inside the value. */
export function encodeObject(object: TenetObject): string {
  const { resourceVersion: _ignored, ...metadata } = object.metadata;
  return JSON.stringify({ ...object, metadata });
}

export function decodeObject(kv: Pick<KeyValue, 'value' | 'modRevision'>): TenetObject {
  const object = JSON.parse(kv.value) as TenetObject;
  object.metadata.resourceVersion = String(kv.modRevision);
  return object;
}

/** Copy without the store-derived resourceVersion (what history records). */
export function withoutRevision(object: TenetObject): TenetObject {
  const { resourceVersion: _ignored, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** Order-independent JSON, so equal values compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as Record<string, unknown>).sort()) {
      const inner = (value as Record<string, unknown>)[key];
      if (inner !== undefined) out[key] = sortKeys(inner);
    }
    return out;
  }
  return value;
}

function emptyToUndefined(record: Record<string, string> | undefined): Record<string, string> | undefined {
  return record && Object.keys(record).length > 0 ? record : undefined;
}

/** "Unchanged" in the sense of apply: spec, labels and annotations are equal (status and server fields do not count). */
export function sameIntent(a: TenetObject, b: TenetObject): boolean {
  return (
    canonicalJson(a.spec) === canonicalJson(b.spec) &&
    canonicalJson(emptyToUndefined(a.metadata.labels) ?? {}) === canonicalJson(emptyToUndefined(b.metadata.labels) ?? {}) &&
    canonicalJson(emptyToUndefined(a.metadata.annotations) ?? {}) === canonicalJson(emptyToUndefined(b.metadata.annotations) ?? {})
  );
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}
