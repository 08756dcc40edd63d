import { Type, type Static } from '@sinclair/typebox';
import { IpText, LabelSelector, objectSchema, PortName, PortNumber } from '../common';

export const ServicePort = Type.Object(
  {
    name: Type.Optional(PortName),
    protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')]),
    port: PortNumber,
    /** Port on the backends; a number or a named container port. Default: port. */
    targetPort: Type.Optional(Type.Union([PortNumber, PortName])),
  },
  { additionalProperties: false },
);

export const ServiceSpec = Type.Object(
  {
    selector: LabelSelector,
    ports: Type.Array(ServicePort, { minItems: 1, maxItems: 64 }),
    network: Type.Optional(Type.String({ maxLength: 63 })),
  },
  { additionalProperties: false },
);

export const ServiceStatus = Type.Object(
  {
    virtualIPs: Type.Optional(Type.Array(IpText)),
    dnsName: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const Service = objectSchema('Service', ServiceSpec, ServiceStatus);
export type Service = Static<typeof Service>;
