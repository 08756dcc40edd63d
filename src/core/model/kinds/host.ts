import { Type, type Static } from '@sinclair/typebox';
import { IpText, Name, objectSchema } from '../common';

export const HostSpec = Type.Object(
  {
    underlayIP: IpText,
    /** The host's IPv6 address on the underlay, when it has one (IPv6 egress, IPv6 floating IPs; docs/external.md). */
    underlayIPv6: Type.Optional(IpText),
  },
  { additionalProperties: false },
);

/** Most rule counters one host reports; more are cut (and `policyHitsTruncated` says so) to keep a heartbeat small. */
export const MAX_REPORTED_RULE_HITS = 4096;

/** One policy rule's counters on this host: only rules that matched at least once are reported. */
export const RuleHitCount = Type.Object(
  {
    direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
    index: Type.Integer({ minimum: 0, maximum: 999 }),
    packets: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type RuleHitCount = Static<typeof RuleHitCount>;

const rules = Type.Array(RuleHitCount, { maxItems: 2000 });

/** A tenant Policy's counters (its tenant's router namespace) or a GlobalPolicy's (summed over every tenant on the host). */
export const PolicyHitsReport = Type.Union([
  Type.Object({ kind: Type.Literal('Policy'), tenant: Name, name: Name, rules }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('GlobalPolicy'), name: Name, rules }, { additionalProperties: false }),
]);
export type PolicyHitsReport = Static<typeof PolicyHitsReport>;

/** Most tenant namespaces one host lists; a host with more reports none (and so confirms no retired VNI) rather than a partial list. */
export const MAX_REPORTED_TENANT_NAMESPACES = 10_000;
/** Most endpoints whose antispoof drops one host reports. */
export const MAX_REPORTED_SPOOF_DROPS = 4096;

/** Packets from a local endpoint's interface dropped for a source address or MAC that is not the endpoint's. */
export const SpoofDropReport = Type.Object(
  {
    tenant: Name,
    endpoint: Name,
    packets: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type SpoofDropReport = Static<typeof SpoofDropReport>;

/** Most floating IPs one host reports as advertised. */
export const MAX_REPORTED_FLOATING_IPS = 4096;

/**
 * A floating IP this host really advertises, read back after the fact: `bgp` when its BGP daemon has
 * the session to the upstream router established and exports the route (read from BIRD itself), `l2`
 * once the host's neighbour proxy entry answering ARP/NDP for it is in place.
 */
export const AdvertisedFloatingIP = Type.Object(
  { address: IpText, via: Type.Union([Type.Literal('bgp'), Type.Literal('l2')]) },
  { additionalProperties: false },
);
export type AdvertisedFloatingIP = Static<typeof AdvertisedFloatingIP>;

export const HostStatus = Type.Object(
  {
    heartbeatAt: Type.Optional(Type.String()),
    ready: Type.Optional(Type.Boolean()),
    agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
    message: Type.Optional(Type.String({ maxLength: 2048 })),
    /** Per-rule packet/byte counters read from this host's nftables, refreshed with every heartbeat. */
    policyHits: Type.Optional(Type.Array(PolicyHitsReport, { maxItems: MAX_REPORTED_RULE_HITS })),
    policyHitsTruncated: Type.Optional(Type.Boolean()),
    /**
     * Tenants that have a router namespace on this host (read from the kernel at each heartbeat): a
     * deleted tenant's VNI is handed out again only once every host has stopped listing the tenant.
     */
    tenantNamespaces: Type.Optional(Type.Array(Name, { maxItems: MAX_REPORTED_TENANT_NAMESPACES })),
    /** The store revision the agent's view had reached when it read tenantNamespaces. */
    observedRevision: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Tenants whose services this host's agent has programmed in full (a Service's status.realizedHosts counts them). */
    serviceTenants: Type.Optional(Type.Array(Name, { maxItems: MAX_REPORTED_TENANT_NAMESPACES })),
    /** Antispoof drops per local endpoint (only endpoints that dropped something), refreshed with every heartbeat. */
    spoofDrops: Type.Optional(Type.Array(SpoofDropReport, { maxItems: MAX_REPORTED_SPOOF_DROPS })),
    /** Floating IPs this host advertises (checked, not intended): a FloatingIP's status.advertised is computed from these. */
    floatingIPs: Type.Optional(Type.Array(AdvertisedFloatingIP, { maxItems: MAX_REPORTED_FLOATING_IPS })),
  },
  { additionalProperties: false },
);

export const Host = objectSchema('Host', HostSpec, HostStatus);
export type Host = Static<typeof Host>;
