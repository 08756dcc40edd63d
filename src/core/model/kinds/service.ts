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
export type ServicePort = Static<typeof ServicePort>;

export const ServiceSpec = Type.Object(
  {
    selector: LabelSelector,
    ports: Type.Array(ServicePort, { minItems: 1, maxItems: 64 }),
    /** Only endpoints of this network are backends (default: every network of the tenant). */
    network: Type.Optional(Type.String({ maxLength: 63 })),
    /** ClientIP: one client address keeps landing on one backend (for sessionAffinityTimeoutSeconds of silence). */
    sessionAffinity: Type.Optional(Type.Union([Type.Literal('None'), Type.Literal('ClientIP')])),
    sessionAffinityTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    /** Requested virtual IPs (at most one per family), from the tenant's service range; the rest are allocated. */
    virtualIPs: Type.Optional(Type.Array(IpText, { maxItems: 2 })),
  },
  { additionalProperties: false },
);
export type ServiceSpec = Static<typeof ServiceSpec>;

export const ServiceStatus = Type.Object(
  {
    /** Allocated with the Service, released with it; server-owned. */
    virtualIPs: Type.Optional(Type.Array(IpText, { maxItems: 2 })),
    /** `<service>.<tenant>.svc.<cluster-domain>`; server-owned. */
    dnsName: Type.Optional(Type.String({ maxLength: 253 })),
    /** Computed when read: ready endpoints the selector matches. */
    readyBackends: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Computed when read: hosts whose agent reported the service programmed. */
    realizedHosts: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const Service = objectSchema('Service', ServiceSpec, ServiceStatus);
export type Service = Static<typeof Service>;

/** Default idle time after which a ClientIP affinity is forgotten (as in Kubernetes: 3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;
