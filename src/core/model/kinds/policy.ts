import { Type, type Static } from '@sinclair/typebox';
import { CidrText, LabelSelector, Name, objectSchema, PortName, PortNumber } from '../common';

export const Protocol = Type.Union([
  Type.Literal('TCP'),
  Type.Literal('UDP'),
  Type.Literal('SCTP'),
  Type.Literal('ICMP'),
  Type.Literal('ICMPv6'),
]);

export const PolicyPort = Type.Object(
  {
    /** Default TCP for numeric ports; for a named port, absent means whatever protocol the destination declares under that name. */
    protocol: Type.Optional(Protocol),
    /** A number, or the name of a port the destination endpoint declares. */
    port: Type.Optional(Type.Union([PortNumber, PortName])),
    endPort: Type.Optional(PortNumber),
  },
  { additionalProperties: false },
);
export type PolicyPort = Static<typeof PolicyPort>;

export const Peer = Type.Object(
  {
    group: Type.Optional(Name),
    selector: Type.Optional(LabelSelector),
    /** Selects scopes (Kubernetes-namespace-like label groups of endpoints) by their labels. */
    scopeSelector: Type.Optional(LabelSelector),
    network: Type.Optional(Name),
    cidr: Type.Optional(CidrText),
    except: Type.Optional(Type.Array(CidrText, { maxItems: 64 })),
    /**
     * GlobalPolicy egress only: the Hosts whose labels match, by their underlay addresses (what a
     * Kubernetes ClusterNetworkPolicy `nodes` peer means in Tenet; see docs/policy.md).
     */
    hostSelector: Type.Optional(LabelSelector),
    /** GlobalPolicy only: restrict the peer to these tenants. */
    tenants: Type.Optional(Type.Array(Name, { maxItems: 256 })),
    tenantSelector: Type.Optional(LabelSelector),
  },
  { additionalProperties: false },
);
export type Peer = Static<typeof Peer>;

export const Action = Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('pass'), Type.Literal('log')]);

export const Rule = Type.Object(
  {
    /** Shown by explain and in logs; a plain alphabet so it can never break out of an nft comment. */
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]([-A-Za-z0-9_. ]{0,98}[A-Za-z0-9])?$' })),
    action: Action,
    /** Absent: any peer. Present and empty: no peer (the rule never matches). */
    from: Type.Optional(Type.Array(Peer, { maxItems: 256 })),
    to: Type.Optional(Type.Array(Peer, { maxItems: 256 })),
    /** Absent or empty: every port and protocol. */
    ports: Type.Optional(Type.Array(PolicyPort, { maxItems: 256 })),
  },
  { additionalProperties: false },
);
export type Rule = Static<typeof Rule>;

export const AppliesTo = Type.Object(
  {
    group: Type.Optional(Name),
    selector: Type.Optional(LabelSelector),
    scopeSelector: Type.Optional(LabelSelector),
    tenants: Type.Optional(Type.Array(Name, { maxItems: 256 })),
    tenantSelector: Type.Optional(LabelSelector),
  },
  { additionalProperties: false },
);

export const Tier = Type.Union([Type.Literal('admin'), Type.Literal('tenant'), Type.Literal('baseline')]);

export const PolicySpec = Type.Object(
  {
    tier: Type.Optional(Tier),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000 })),
    appliesTo: AppliesTo,
    /** Directions this policy isolates; default: the directions that have rule lists. */
    policyTypes: Type.Optional(Type.Array(Type.Union([Type.Literal('Ingress'), Type.Literal('Egress')]), { maxItems: 2 })),
    ingress: Type.Optional(Type.Array(Rule, { maxItems: 1000 })),
    egress: Type.Optional(Type.Array(Rule, { maxItems: 1000 })),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type PolicySpec = Static<typeof PolicySpec>;

export const PolicyStatus = Type.Object(
  {
    ruleHits: Type.Optional(
      Type.Array(Type.Object({ direction: Type.String(), index: Type.Integer(), packets: Type.Integer(), bytes: Type.Integer() })),
    ),
  },
  { additionalProperties: false },
);

export const Policy = objectSchema('Policy', PolicySpec, PolicyStatus);
export type Policy = Static<typeof Policy>;

export const GlobalPolicy = objectSchema('GlobalPolicy', PolicySpec, PolicyStatus);
export type GlobalPolicy = Static<typeof GlobalPolicy>;
