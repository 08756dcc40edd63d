import { Type, type Static } from '@sinclair/typebox';
import { LabelSelector, objectSchema } from '../common';

export const GroupSpec = Type.Object(
  {
    selector: LabelSelector,
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const GroupStatus = Type.Object({ members: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false });

export const Group = objectSchema('Group', GroupSpec, GroupStatus);
export type Group = Static<typeof Group>;
