/**
 * The attach contract's data: what a client asks of the agent's attach API and what it gets back. Pure
 * types, so the core's attach plan (attach-plan.ts) can build an AttachResult; the protocol that carries
 * them (routes, status codes, socket) is src/attach/protocol.ts.
 */
import type { Bandwidth } from './bandwidth';

export interface AttachRequest {
  containerId: string;
  /** Path of the container's network namespace, e.g. /run/netns/x or /proc/123/ns/net. */
  netns: string;
  ifName: string;
  tenant: string;
  network: string;
  labels?: Record<string, string>;
  /** Label scope (Kubernetes namespace) of the endpoint. */
  scope?: string;
  /** Requested addresses (at most one per family) and MAC. */
  ips?: string[];
  mac?: string;
  ports?: { name?: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
  /** Which client attaches (cni/<network configuration name>, docker, lab); recorded on the Endpoint. */
  attachedBy?: string;
  /** Rate limits of this interface (CNI's bandwidth capability; see src/core/dataplane/bandwidth.ts). */
  bandwidth?: Bandwidth;
}

export interface AttachedAddress {
  /** Address with the prefix length of its subnet, e.g. 10.1.0.5/24. */
  address: string;
  gateway: string;
  family: 4 | 6;
}

export interface AttachResult {
  /** Name of the Endpoint object in the controller. */
  endpoint: string;
  tenant: string;
  network: string;
  ifName: string;
  mac: string;
  mtu: number;
  addresses: AttachedAddress[];
  routes: { destination: string; gateway: string }[];
  /** Host-side interface (in the tenant router namespace). */
  hostIfName: string;
  /** The tenant resolver (its gateways) and search list, for the container's resolv.conf (docs/services.md, "DNS"). */
  dns?: { nameservers: string[]; search: string[]; domain: string };
}

export interface DetachRequest {
  containerId: string;
  ifName?: string;
  netns?: string;
}

export interface Attachment {
  containerId: string;
  ifName: string;
  endpoint: string;
  tenant: string;
  network: string;
  /** The client that attached it, when it said (see AttachRequest.attachedBy). */
  attachedBy?: string;
}

export type AttachErrorReason =
  | 'InvalidRequest' // 400: malformed or failed validation
  | 'NotFound' // 404: unknown tenant or network, or netns path missing
  | 'Forbidden' // 403: the netns is one no container may join (the agent's own, PID 1's, a tenant router namespace)
  | 'Conflict' // 409: requested address/MAC taken, or the container is attached differently
  | 'Unavailable' // 503: the controller cannot be reached; try again later
  | 'Internal'; // 500
