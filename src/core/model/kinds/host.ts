import { Type, type Static } from '@sinclair/typebox';
import { IpText, objectSchema } from '../common';

export const HostSpec = Type.Object(
  {
    underlayIP: IpText,
  },
  { additionalProperties: false },
);

export const HostStatus = Type.Object(
  {
    heartbeatAt: Type.Optional(Type.String()),
    ready: Type.Optional(Type.Boolean()),
    agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
    message: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);

export const Host = objectSchema('Host', HostSpec, HostStatus);
export type Host = Static<typeof Host>;
