import { Type, type Static } from '@sinclair/typebox';
import { CidrText, IpText, objectSchema } from '../common';

export const AddressRange = Type.Object({ start: IpText, end: IpText }, { additionalProperties: false });

export const Subnet = Type.Object(
  {
    cidr: CidrText,
    /** Default: the first usable address of the subnet. */
    gateway: Type.Optional(IpText),
    /** Addresses never handed out (besides the gateway). */
    reserved: Type.Optional(Type.Array(AddressRange, { maxItems: 256 })),
  },
  { additionalProperties: false },
);
export type Subnet = Static<typeof Subnet>;

export const NetworkSpec = Type.Object(
  {
    subnets: Type.Array(Subnet, { minItems: 1, maxItems: 4 }),
    mtu: Type.Optional(Type.Integer({ minimum: 1280, maximum: 9000 })),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const NetworkStatus = Type.Object(
  {
    allocated: Type.Optional(Type.Integer({ minimum: 0 })),
    gateways: Type.Optional(Type.Array(IpText)),
  },
  { additionalProperties: false },
);

export const Network = objectSchema('Network', NetworkSpec, NetworkStatus);
export type Network = Static<typeof Network>;
