/** Errors the controller answers with: a status, a reason from docs/api.md, a message and every problem. */

export type Reason =
  'Invalid' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Conflict' | 'Gone' | 'PayloadTooLarge' | 'TooManyRequests' | 'Internal';

export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly reason: Reason,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }

  toBody(): { error: { code: number; reason: Reason; message: string; details: string[] } } {
    return { error: { code: this.status, reason: this.reason, message: this.message, details: this.details } };
  }
}

export const invalid = (message: string, details: string[] = []) => new ServiceError(400, 'Invalid', message, details);
export const notFound = (message: string, details: string[] = []) => new ServiceError(404, 'NotFound', message, details);
export const conflict = (message: string, details: string[] = []) => new ServiceError(409, 'Conflict', message, details);
export const gone = (message: string) => new ServiceError(410, 'Gone', message);
