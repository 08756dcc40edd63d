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

export const EndpointAttachment = Type.Object(
  {
    /** The container's namespace path as the attach gave it (CNI_NETNS). */
    netns: Type.String({ pattern: '^/(?!.*/\\.\\.?(/|$))[A-Za-z0-9_./-]{1,255}$' }), // as NETNS_PATH_REGEX (src/kernel/ip.ts)
    /** Device and inode of that namespace at attach time: a re-attach goes only into the same namespace. */
    netnsId: Type.String({ pattern: '^[0-9]{1,20}:[0-9]{1,20}$' }),
    /** The interface's name inside the container. */
    ifName: Type.String({ pattern: IFNAME_PATTERN }),
  },
  { additionalProperties: false },
);
export type EndpointAttachment = Static<typeof EndpointAttachment>;

export const EndpointStatus = Type.Object(
  {
    ipv4: Type.Optional(IpText),
    ipv6: Type.Optional(IpText),
    mac: Type.Optional(Type.String({ pattern: MAC_PATTERN })),
    /** `lost`: the interface was attached and is gone (its veth or the router namespace was deleted); see `reason`. */
    phase: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('error'), Type.Literal('lost')])),
    reason: Type.Optional(Type.String({ maxLength: 2048 })),
    /** Host-side interface name chosen by the agent. */
    hostIfName: Type.Optional(Type.String({ maxLength: 15 })),
    /** When the agent last found the attached interface gone (kept after a re-attach). */
    lostAt: Type.Optional(Type.String({ maxLength: 40 })),
    /** When the agent last made the lost interface again in the container's namespace. */
    reattachedAt: Type.Optional(Type.String({ maxLength: 40 })),
    /**
     * Where the agent attached the interface, so it can re-attach it after a restart. Written only by
     * agents (and admins): a status write by anyone else keeps it as it is (src/controller/kinds/endpoint.ts).
     */
    attachment: Type.Optional(EndpointAttachment),
  },
  { additionalProperties: false },
);

export const Endpoint = objectSchema('Endpoint', EndpointSpec, EndpointStatus);
export type Endpoint = Static<typeof Endpoint>;
export { Labels };
