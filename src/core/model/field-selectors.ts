/**
 * Field selectors of list requests, the subset of Kubernetes' syntax Tenet supports:
 * `metadata.name=web`, `metadata.tenant!=acme`, `==` for `=`, comma for "and". Only the fields in
 * FIELD_SELECTOR_FIELDS are supported; anything else is refused by name, never silently ignored.
 */
export const FIELD_SELECTOR_FIELDS = ['metadata.name', 'metadata.tenant'] as const;
export type SelectableField = (typeof FIELD_SELECTOR_FIELDS)[number];

export interface FieldRequirement {
  field: SelectableField;
  operator: '=' | '!=';
  value: string;
}

export class FieldSelectorError extends Error {}

export function parseFieldSelector(text: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  if (text.trim() === '') return requirements;
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z0-9._-]+)\s*(==|=|!=)\s*([^\s=!,]*)\s*$/.exec(part);
    if (!match) throw new FieldSelectorError(`fieldSelector: "${part.slice(0, 80)}" is not FIELD=VALUE, FIELD==VALUE or FIELD!=VALUE`);
    const field = match[1];
    if (!(FIELD_SELECTOR_FIELDS as readonly string[]).includes(field)) {
      throw new FieldSelectorError(
        `fieldSelector: field "${field.slice(0, 80)}" is not supported; supported: ${FIELD_SELECTOR_FIELDS.join(', ')}`,
      );
    }
    requirements.push({ field: field as SelectableField, operator: match[2] === '!=' ? '!=' : '=', value: match[3] });
  }
  return requirements;
}

export function fieldsMatch(requirements: readonly FieldRequirement[], metadata: { name: string; tenant?: string }): boolean {
  return requirements.every((r) => {
    const actual = r.field === 'metadata.name' ? metadata.name : (metadata.tenant ?? '');
    return r.operator === '=' ? actual === r.value : actual !== r.value;
  });
}
