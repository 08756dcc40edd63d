import { Type, type Static } from '@sinclair/typebox';
import { CidrText, IpText, Name, objectSchema } from '../common';

/**
 * Addresses an admin sets aside for floating IPs (cluster-scoped), and how the hosts make the outside
 * send them their way: `bgp` (each host announces the floating IPs bound on it to its BGP peers) or
 * `l2` (the host answers ARP for them on its underlay). docs/external.md.
 */
export const FloatingIPPoolSpec = Type.Object(
  {
    cidrs: Type.Array(CidrText, { minItems: 1, maxItems: 16 }),
    advertise: Type.Optional(Type.Union([Type.Literal('bgp'), Type.Literal('l2')], { default: 'bgp' })),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type FloatingIPPoolSpec = Static<typeof FloatingIPPoolSpec>;

export const FloatingIPPool = objectSchema('FloatingIPPool', FloatingIPPoolSpec, Type.Object({}, { additionalProperties: false }));
export type FloatingIPPool = Static<typeof FloatingIPPool>;

/** What a floating IP sends its traffic to: one endpoint or one service of the same tenant. */
export const FloatingIPTarget = Type.Object(
  { endpoint: Type.Optional(Name), service: Type.Optional(Name) },
  { additionalProperties: false },
);
export type FloatingIPTarget = Static<typeof FloatingIPTarget>;

export const FloatingIPSpec = Type.Object(
  {
    /** The pool the address comes from; absent: the pool holding `address`, else the first pool by name. */
    pool: Type.Optional(Name),
    /** A requested address (IPv4); absent: the controller picks a free one. Fixed once allocated. */
    address: Type.Optional(IpText),
    /** Absent: allocated but bound to nothing (no traffic). Changing it is the blue-green cut-over. */
    target: Type.Optional(FloatingIPTarget),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type FloatingIPSpec = Static<typeof FloatingIPSpec>;

export const FloatingIPStatus = Type.Object(
  {
    /** Allocated with the FloatingIP, released with it; server-owned. */
    address: Type.Optional(IpText),
    pool: Type.Optional(Name),
    /** Computed when read: the host the target's traffic enters by (the bound endpoint's host). */
    host: Type.Optional(Type.String({ maxLength: 63 })),
    /**
     * Computed when read: the hosts that report advertising the address (Host status.floatingIPs, read
     * back from BIRD or after the neighbour proxy entry is in place) and how. Absent: nobody announces it.
     */
    advertised: Type.Optional(
      Type.Array(
        Type.Object(
          { host: Type.String({ maxLength: 63 }), via: Type.Union([Type.Literal('bgp'), Type.Literal('l2')]) },
          { additionalProperties: false },
        ),
        { maxItems: 64 },
      ),
    ),
  },
  { additionalProperties: false },
);

export const FloatingIP = objectSchema('FloatingIP', FloatingIPSpec, FloatingIPStatus);
export type FloatingIP = Static<typeof FloatingIP>;
