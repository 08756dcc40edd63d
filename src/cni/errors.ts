/**
 * CNI error results: the well-known codes of SPEC.md v1.1.0 (section 5, "Error") plus
 * Tenet's own codes (100+), and how attach API failures map onto them.
 */
import type { AttachErrorReason } from '../attach/protocol';

export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableLimited: 51,
  /** Tenet: an unexpected failure inside the agent. */
  Internal: 100,
  /** Tenet: the requested address or MAC is taken, or the interface is already attached. */
  Conflict: 101,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(details ? `${msg}: ${details}` : msg);
  }
}

export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export function errorResult(error: CniError, cniVersion: string): CniErrorResult {
  const result: CniErrorResult = { cniVersion, code: error.code, msg: error.msg };
  if (error.details) result.details = error.details;
  return result;
}

/**
 * Maps an attach API failure. NotFound is about the tenant or network here: the netns is
 * checked before the agent is asked, so a missing netns never gets this far.
 */
export function fromAttachError(reason: AttachErrorReason | undefined, message: string): CniError {
  switch (reason) {
    case 'InvalidRequest':
      return new CniError(CniCode.InvalidNetworkConfig, 'invalid request', message);
    case 'NotFound':
      return new CniError(CniCode.InvalidNetworkConfig, 'unknown tenant or network', message);
    case 'Forbidden':
      // The only 403 of the attach API: CNI_NETNS names a namespace the agent refuses.
      return new CniError(CniCode.InvalidEnvironment, 'CNI_NETNS refused', message);
    case 'Conflict':
      return new CniError(CniCode.Conflict, 'conflict', message);
    case 'Unavailable':
      return new CniError(CniCode.TryAgainLater, 'controller unreachable, try again later', message);
    default:
      return new CniError(CniCode.Internal, 'agent error', message);
  }
}
