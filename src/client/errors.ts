/** An error answered by the controller, carrying its status code, reason and every problem it listed. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }

  /** One line for a terminal: the message and, when there are several, the problems after it. */
  describe(): string {
    if (this.details.length === 0) return this.message;
    return `${this.message}: ${this.details.join('; ')}`;
  }
}

/** The controller could not be reached at all (refused, timed out, DNS, TLS). */
export class UnreachableError extends Error {}
