/**
 * What every CLI command shares: how to reach the controller and how to fail.
 * Commands throw CliError (or ApiError/UnreachableError); main() prints one line and exits non-zero.
 */
import type { Command } from 'commander';
import { TenetClient } from '../client/api-client';

export const DEFAULT_SERVER = 'http://127.0.0.1:7400';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface GlobalOptions {
  server?: string;
  token?: string;
  caFile?: string;
}

/** Server list from --server (comma-separated), then TENET_SERVER, then the default. */
export function serversFrom(options: GlobalOptions): string[] {
  const text = options.server ?? process.env.TENET_SERVER ?? DEFAULT_SERVER;
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A client for the command being run, built from the root program's global options. */
export function clientFor(command: Command): TenetClient {
  const options = command.optsWithGlobals<GlobalOptions>();
  return new TenetClient({ servers: serversFrom(options), token: options.token ?? process.env.TENET_TOKEN });
}

/**
 * Ends a command with a given exit code and no error line: `diff` exits 1 when it found
 * differences, which is a result, not a failure.
 */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Reports `inner` as usual but exits with `exitCode` (diff: errors are >1 because 1 means "differs"). */
export class WithExitCode extends Error {
  constructor(
    readonly inner: unknown,
    readonly exitCode: number,
  ) {
    super(inner instanceof Error ? inner.message : String(inner));
  }
}
