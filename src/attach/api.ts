/**
 * What the CNI layer and Docker's driver need from the agent's attach API
 * (src/attach/protocol.ts), as an interface so the pure CNI logic does not care
 * whether it runs inside the agent or beside it.
 */
import type { AttachErrorReason, AttachRequest, AttachResult, Attachment, DetachRequest } from './protocol';

export interface AttachApi {
  attach(request: AttachRequest): Promise<AttachResult>;
  detach(request: DetachRequest): Promise<{ detached: boolean }>;
  check(request: AttachRequest): Promise<AttachResult>;
  attachments(): Promise<Attachment[]>;
  healthz(): Promise<{ ok: boolean; controllerReachable: boolean }>;
}

/** The agent answered with an error body. */
export class AttachApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: AttachErrorReason | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The agent could not be reached at all. */
export class AgentUnreachableError extends Error {}
