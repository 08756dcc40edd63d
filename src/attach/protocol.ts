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

import type { AttachErrorReason } from '../core/dataplane/attach-types';

export type {
  AttachedAddress,
  AttachErrorReason,
  AttachRequest,
  AttachResult,
  Attachment,
  DetachRequest,
} from '../core/dataplane/attach-types';

export interface AttachErrorBody {
  error: { code: number; reason: AttachErrorReason; message: string };
}

export const DEFAULT_AGENT_SOCKET = '/run/tenet/agent.sock';
