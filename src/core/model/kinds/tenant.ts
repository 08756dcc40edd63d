import { Type, type Static } from '@sinclair/typebox';
import { CidrText, IpText, Name, objectSchema } from '../common';

const QuotaCount = Type.Integer({ minimum: 0, maximum: 10_000_000 });

export const TenantSpec = Type.Object(
  {
    /** What happens to traffic that no policy decides. */
    defaultPolicy: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')], { default: 'allow' })),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    /**
     * Where the virtual IPs of the tenant's services come from (defaults: DEFAULT_SERVICE_RANGE in
     * src/core/services/vip.ts, documented in docs/services.md). Fixed while the tenant has services.
     */
    serviceRange: Type.Optional(
      Type.Object({ ipv4: Type.Optional(CidrText), ipv6: Type.Optional(CidrText) }, { additionalProperties: false }),
    ),
    /**
     * Outbound access to the world outside the cluster (docs/external.md). Absent: none. `nat`: the
     * endpoints' connections leave through the host they run on, source-translated to its underlay
     * address. Only admins change tenants, so a tenant cannot grant itself egress.
     */
    egress: Type.Optional(
      Type.Object(
        {
          mode: Type.Literal('nat'),
          /** Only these networks' endpoints egress; absent: every network of the tenant. */
          networks: Type.Optional(Type.Array(Name, { maxItems: 64, uniqueItems: true })),
          /**
           * The tenant's own egress address (the Antrea Egress / OpenShift EgressIP anchor): its
           * connections leave source-translated to it instead of the host's underlay address. An IPv4
           * address of a FloatingIPPool with `advertise: bgp`, unique cluster-wide (claimed like a
           * floating IP's). Needs `host`.
           */
          address: Type.Optional(IpText),
          /** The host that holds `address`: the tenant's connections from every host leave through it (docs/external.md). */
          host: Type.Optional(Name),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Routed (non-NAT) external access (docs/external.md, "Routed networks"): the listed networks
     * (absent: every network of the tenant) are reached from outside by their own addresses, each host
     * announcing its local endpoints' addresses over BGP, and their endpoints' connections leave
     * without NAT. Routed subnets are unique cluster-wide. Only admins change tenants.
     */
    routed: Type.Optional(
      Type.Object(
        {
          /** Only these networks are routed; absent: every network of the tenant. */
          networks: Type.Optional(Type.Array(Name, { maxItems: 64, uniqueItems: true })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Most objects of each kind the tenant may hold (defaults: docs/api.md, "Quotas"); only admins change tenants. */
    quota: Type.Optional(
      Type.Object(
        {
          networks: Type.Optional(QuotaCount),
          scopes: Type.Optional(QuotaCount),
          groups: Type.Optional(QuotaCount),
          policies: Type.Optional(QuotaCount),
          services: Type.Optional(QuotaCount),
          endpoints: Type.Optional(QuotaCount),
          floatingips: Type.Optional(QuotaCount),
        },
        { additionalProperties: false },
      ),
    ),
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
