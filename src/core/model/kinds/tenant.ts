import { Type, type Static } from '@sinclair/typebox';
import { objectSchema } from '../common';

export const TenantSpec = Type.Object(
  {
    /** What happens to traffic that no policy decides. */
    defaultPolicy: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')], { default: 'allow' })),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const TenantStatus = Type.Object(
  {
    /** VXLAN network identifier allocated from the cluster pool; returned on deletion. */
    vni: Type.Optional(Type.Integer({ minimum: 1, maximum: 16777215 })),
  },
  { additionalProperties: false },
);

export const Tenant = objectSchema('Tenant', TenantSpec, TenantStatus);
export type Tenant = Static<typeof Tenant>;
