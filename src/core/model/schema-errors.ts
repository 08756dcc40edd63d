/**
 * Schema errors in words a user can act on: the path, what is wrong, what is allowed. TypeBox's own
 * messages name its internals ("Expected union value"); this reads the failing schema instead
 * (`anyOf` of literals becomes "one of TCP, UDP, ...", an integer's bounds "a whole number from 1
 * to 65535"), keeps one problem per path, and names unknown fields with the fields allowed there.
 */
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { describeNameRule, NAME_PATTERN } from './names';

type Schema = TSchema & Record<string, unknown>;

/** What a schema accepts, as a phrase: "a whole number from 1 to 65535", "one of allow, deny". */
export function describeExpected(schema: Schema | undefined, depth = 0): string {
  if (!schema || depth > 4) return 'a valid value';
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const variants = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(variants)) {
    if (variants.every((v) => v.const !== undefined)) return `one of ${variants.map((v) => String(v.const)).join(', ')}`;
    return variants.map((v) => describeExpected(v, depth + 1)).join(', or ');
  }
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const noun = schema.type === 'integer' ? 'a whole number' : 'a number';
      const min = schema.minimum as number | undefined;
      const max = schema.maximum as number | undefined;
      if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
      if (min !== undefined) return `${noun} of at least ${min}`;
      if (max !== undefined) return `${noun} of at most ${max}`;
      return noun;
    }
    case 'string': {
      if (schema.pattern === NAME_PATTERN) return `a name: ${describeNameRule()}`;
      // A schema that says in words what it takes is better than its pattern.
      if (typeof schema.description === 'string') return schema.description;
      const parts: string[] = [];
      if (typeof schema.pattern === 'string') parts.push(`matching ${schema.pattern}`);
      if (schema.minLength !== undefined && schema.maxLength !== undefined)
        parts.push(`${String(schema.minLength)} to ${String(schema.maxLength)} characters`);
      else if (schema.maxLength !== undefined) parts.push(`at most ${String(schema.maxLength)} characters`);
      else if (schema.minLength !== undefined && schema.minLength !== 0) parts.push(`at least ${String(schema.minLength)} characters`);
      return parts.length > 0 ? `a string (${parts.join(', ')})` : 'a string';
    }
    case 'boolean':
      return 'true or false';
    case 'array': {
      const items = schema.items as Schema | undefined;
      const bound =
        schema.maxItems !== undefined
          ? ` (at most ${String(schema.maxItems)})`
          : schema.minItems
            ? ` (at least ${String(schema.minItems)})`
            : '';
      return `a list${bound}${items && depth < 2 ? ` of ${describeExpected(items, depth + 1)}` : ''}`;
    }
    case 'object': {
      const keys = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
      return keys.length > 0 && depth === 0 ? `a mapping with fields ${keys.join(', ')}` : 'a mapping';
    }
    case 'null':
      return 'null';
    default:
      return 'a valid value';
  }
}

/** One readable problem for a TypeBox error; `where` is its path as the user writes it. */
export function describeSchemaError(error: ValueError, where: string, preview: (value: unknown) => string): string {
  const schema = error.schema as Schema;
  const got = error.value === undefined ? '' : ` (got ${preview(error.value)})`;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `${where}: required: ${describeExpected(schema)}`;
    case ValueErrorType.ObjectAdditionalProperties: {
      const allowed = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
      return `${where}: unknown field${allowed.length > 0 ? `; allowed here: ${allowed.join(', ')}` : ''}`;
    }
    case ValueErrorType.ArrayMaxItems:
      return `${where}: at most ${String(schema.maxItems)} items${Array.isArray(error.value) ? ` (got ${error.value.length})` : ''}`;
    case ValueErrorType.ArrayMinItems:
      return `${where}: at least ${String(schema.minItems)} item${schema.minItems === 1 ? '' : 's'}${Array.isArray(error.value) ? ` (got ${error.value.length})` : ''}`;
    case ValueErrorType.ArrayUniqueItems:
      return `${where}: items must not repeat`;
    case ValueErrorType.ObjectMaxProperties:
      return `${where}: at most ${String(schema.maxProperties)} entries`;
    case ValueErrorType.StringMaxLength:
      return `${where}: at most ${String(schema.maxLength)} characters${typeof error.value === 'string' ? ` (got ${error.value.length})` : ''}`;
    default:
      return `${where}: must be ${describeExpected(schema)}${got}`;
  }
}
