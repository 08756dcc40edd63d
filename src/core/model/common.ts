import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ANNOTATION_KEY_PATTERN, LABEL_KEY_MAX_LENGTH, LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, NAME_PATTERN } from './names';

export const API_VERSION = 'tenet.dev/v1';

export const Name = Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 63 });

export const LabelKey = Type.String({ pattern: LABEL_KEY_PATTERN, maxLength: LABEL_KEY_MAX_LENGTH });
export const LabelValue = Type.String({ pattern: LABEL_VALUE_PATTERN, maxLength: 63 });

/**
 * A record's key pattern only becomes patternProperties; without additionalProperties: false a key
 * that fails the pattern is simply not checked, so any text would pass as a label key.
 */
export const Labels = Type.Record(LabelKey, LabelValue, { maxProperties: 64, additionalProperties: false });

export const SelectorRequirement = Type.Object(
  {
    key: LabelKey,
    operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')]),
    values: Type.Optional(Type.Array(LabelValue, { maxItems: 256 })),
  },
  { additionalProperties: false },
);

export const LabelSelector = Type.Object(
  {
    matchLabels: Type.Optional(Labels),
    matchExpressions: Type.Optional(Type.Array(SelectorRequirement, { maxItems: 64 })),
  },
  { additionalProperties: false },
);

/** A named container port (IANA service-name style, as in Kubernetes): at most 15 characters. */
export const PortName = Type.String({
  pattern: '^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$',
  description: 'a port name: lower-case letters, digits and "-", at most 15 characters',
});
export const PortNumber = Type.Integer({ minimum: 1, maximum: 65535 });

/** Address text; the exact family and syntax are checked by the semantic validators. */
export const IpText = Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9a-fA-F:.]+$' });
export const CidrText = Type.String({ minLength: 4, maxLength: 49, pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$' });

export const ObjectMeta = Type.Object(
  {
    name: Name,
    tenant: Type.Optional(Name),
    labels: Type.Optional(Labels),
    annotations: Type.Optional(
      Type.Record(Type.String({ pattern: ANNOTATION_KEY_PATTERN, maxLength: 253 }), Type.String({ maxLength: 4096 }), {
        maxProperties: 1024,
        additionalProperties: false,
      }),
    ),
    uid: Type.Optional(Type.String({ maxLength: 64 })),
    resourceVersion: Type.Optional(Type.String({ maxLength: 32 })),
    createdAt: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type ObjectMeta = Static<typeof ObjectMeta>;

/** Envelope shared by every kind: apiVersion, kind, metadata, spec, status. */
export function objectSchema<K extends string, S extends TSchema, St extends TSchema>(kind: K, spec: S, status: St) {
  return Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION),
      kind: Type.Literal(kind),
      metadata: ObjectMeta,
      spec,
      status: Type.Optional(status),
    },
    { additionalProperties: false, $id: kind },
  );
}
