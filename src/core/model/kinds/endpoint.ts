import { Type, type Static } from '@sinclair/typebox';
import { ATTACHED_BY_PATTERN, CONTAINER_ID_PATTERN, IFNAME_PATTERN, MAC_PATTERN } from '../names';
import { IpText, Labels, Name, objectSchema, PortName, PortNumber } from '../common';

export const ContainerPort = Type.Object(
  {
    name: Type.Optional(PortName),
    port: PortNumber,
    protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')]),
  },
  { additionalProperties: false },
);

export const EndpointSpec = Type.Object(
  {
    network: Name,
    host: Type.Optional(Name),
    containerId: Type.Optional(Type.String({ pattern: CONTAINER_ID_PATTERN })),
    ifName: Type.Optional(Type.String({ pattern: IFNAME_PATTERN })),
    /** Label scope (Kubernetes namespace) this endpoint belongs to. */
    scope: Type.Optional(Name),
    /** Requested addresses; each is honoured or the request is refused with 409. */
    ips: Type.Optional(Type.Array(IpText, { maxItems: 2 })),
    mac: Type.Optional(Type.String({ pattern: MAC_PATTERN })),
    ports: Type.Optional(Type.Array(ContainerPort, { maxItems: 64 })),
    /** The attach client that made it (cni/<network configuration name>, docker, lab): a CNI GC collects only its own. */
    attachedBy: Type.Optional(Type.String({ pattern: ATTACHED_BY_PATTERN })),
  },
  { additionalProperties: false },
);
export type EndpointSpec = Static<typeof EndpointSpec>;

export const EndpointStatus = Type.Object(
  {
    ipv4: Type.Optional(IpText),
    ipv6: Type.Optional(IpText),
    mac: Type.Optional(Type.String({ pattern: MAC_PATTERN })),
    phase: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('error')])),
    reason: Type.Optional(Type.String({ maxLength: 2048 })),
    /** Host-side interface name chosen by the agent. */
    hostIfName: Type.Optional(Type.String({ maxLength: 15 })),
  },
  { additionalProperties: false },
);

export const Endpoint = objectSchema('Endpoint', EndpointSpec, EndpointStatus);
export type Endpoint = Static<typeof Endpoint>;
export { Labels };
