/**
 * Turning objects into intent a person keeps in git: server-managed fields dropped, keys in one
 * canonical order (the order of the kind's schema, so YAML reads like the docs and the same object
 * always prints the same text), objects sorted so that whatever a thing depends on comes first.
 * Pure functions: `diff`, `export` and their tests all rely on the exact same text.
 */
import type { TSchema } from '@sinclair/typebox';
import YAML from 'yaml';
import { kindInfo, kindOrder } from '../core/model/registry';
import { stripServerFields, type TenetObject } from '../core/model/object';

export { stripServerFields };

/**
 * The intent of an object in canonical form: server fields stripped, empty labels/annotations
 * dropped (absent and empty mean the same), keys ordered by the kind's schema.
 */
export function intentOf(object: TenetObject): TenetObject {
  const stripped = stripServerFields(object);
  const metadata: Record<string, unknown> = { ...stripped.metadata };
  for (const field of ['labels', 'annotations']) {
    const map = metadata[field];
    if (map !== undefined && typeof map === 'object' && map !== null && Object.keys(map).length === 0) delete metadata[field];
  }
  const info = kindInfo(object.kind);
  const ordered = { ...stripped, metadata };
  return (info ? orderBySchema(ordered, info.schema) : sortKeys(ordered)) as TenetObject;
}

/** Orders object keys as the schema declares them (unknown keys after, sorted); record keys sorted. */
export function orderBySchema(value: unknown, schema: TSchema | undefined): unknown {
  if (Array.isArray(value)) {
    const items = schema && typeof schema.items === 'object' ? (schema.items as TSchema) : undefined;
    return value.map((item) => orderBySchema(item, items));
  }
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const properties = schema?.properties as Record<string, TSchema> | undefined;
  if (!properties) {
    // Records (labels) and anything the schema does not describe: sorted keys, values recursively.
    const inner = recordValueSchema(schema);
    return Object.fromEntries(
      Object.keys(record)
        .sort(compareText)
        .map((key) => [key, orderBySchema(record[key], inner)]),
    );
  }
  const known = Object.keys(properties).filter((key) => key in record);
  const unknown = Object.keys(record)
    .filter((key) => !(key in properties))
    .sort(compareText);
  const result: Record<string, unknown> = {};
  for (const key of known) result[key] = orderBySchema(record[key], properties[key]);
  for (const key of unknown) result[key] = sortKeys(record[key]);
  return result;
}

function recordValueSchema(schema: TSchema | undefined): TSchema | undefined {
  const patterns = schema?.patternProperties as Record<string, TSchema> | undefined;
  if (!patterns) return undefined;
  return Object.values(patterns)[0];
}

function sortKeys(value: unknown): unknown {
  return orderBySchema(value, undefined);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Dependencies first: the registry order of kinds, then tenant, then name. */
export function compareByDependency(a: TenetObject, b: TenetObject): number {
  return (
    kindOrder(a.kind) - kindOrder(b.kind) ||
    compareText(a.metadata.tenant ?? '', b.metadata.tenant ?? '') ||
    compareText(a.metadata.name, b.metadata.name)
  );
}

export function sortByDependency<T extends TenetObject>(objects: readonly T[]): T[] {
  return [...objects].sort(compareByDependency);
}

/** One YAML document, no line folding (long strings stay on one line so diffs stay readable). */
export function toYaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0, minContentWidth: 0 });
}

/** Several objects as a multi-document YAML stream (`---` before each). */
export function toYamlStream(values: readonly unknown[]): string {
  return values.map((value) => `---\n${toYaml(value)}`).join('');
}
