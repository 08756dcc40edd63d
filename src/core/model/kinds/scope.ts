import { Type, type Static } from '@sinclair/typebox';
import { objectSchema } from '../common';

/**
 * A named label scope inside a tenant (what a Kubernetes namespace becomes on import).
 * Its metadata.labels are what a peer's scopeSelector matches; endpoints join it with spec.scope.
 */
export const ScopeSpec = Type.Object({ description: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false });
export const Scope = objectSchema('Scope', ScopeSpec, Type.Object({}, { additionalProperties: false }));
export type Scope = Static<typeof Scope>;
