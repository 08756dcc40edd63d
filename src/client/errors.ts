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

  /** For a terminal: the message, then every problem on its own indented line. */
  describe(): string {
    if (this.details.length === 0) return this.message;
    if (this.details.length === 1 && !this.message.includes(this.details[0])) return `${this.message}: ${this.details[0]}`;
    return `${this.message}:\n${this.details.map((d) => `  ${d}`).join('\n')}`;
  }
}

/** The controller could not be reached at all (refused, timed out, DNS, TLS). */
export class UnreachableError extends Error {}
