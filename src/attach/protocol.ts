/**
 * The agent's local attach API: the one path by which containers join Tenet (the lab,
 * the CNI plugin and Docker's driver all use it). HTTP/1.1 with JSON bodies over the
 * agent's unix socket (default /run/tenet/agent.sock):
 *
 *   POST /v1/attach       AttachRequest  -> 200 AttachResult
 *   POST /v1/detach       DetachRequest  -> 200 {detached: boolean}   (idempotent; works when the netns is gone)
 *   POST /v1/check        AttachRequest  -> 200 AttachResult | error  (is the attachment still as it should be?)
 *   GET  /v1/attachments                 -> 200 {items: Attachment[]} (what this host has attached; for CNI GC)
 *   GET  /v1/healthz                     -> 200 {ok, controllerReachable}
 *
 * Errors: HTTP status with {error: {code, reason, message}}; reason is one of AttachErrorReason.
 */

import type { Bandwidth } from '../core/dataplane/bandwidth';

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
  | 'Conflict' // 409: requested address/MAC taken, or the container is attached differently
  | 'Unavailable' // 503: the controller cannot be reached; try again later
  | 'Internal'; // 500

export interface AttachErrorBody {
  error: { code: number; reason: AttachErrorReason; message: string };
}

export const DEFAULT_AGENT_SOCKET = '/run/tenet/agent.sock';
