/**
 * What every CLI command shares: how to reach the controller and how to fail.
 * Commands throw CliError (or ApiError/UnreachableError); main() prints one line and exits non-zero.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import { TenetClient } from '../client/api-client';
import { ConfigError, resolveConnection } from '../auth/client-config';

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
  context?: string;
}

/** Server list from --server (comma-separated), then TENET_SERVER, then the config file's context, then the default. */
export function serversFrom(options: GlobalOptions): string[] {
  return connectionFrom(options).servers ?? [DEFAULT_SERVER];
}

function connectionFrom(options: GlobalOptions) {
  try {
    return resolveConnection(options);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
}

/** A client for the command being run: flags, then TENET_SERVER/TENET_TOKEN/TENET_CA, then the config file. */
export function clientFor(command: Command): TenetClient {
  const connection = connectionFrom(command.optsWithGlobals<GlobalOptions>());
  let ca: Buffer | undefined;
  if (connection.caFile) {
    try {
      ca = fs.readFileSync(connection.caFile);
    } catch (error) {
      throw new CliError(`cannot read the CA file ${connection.caFile}: ${(error as Error).message}`, 2);
    }
  }
  return new TenetClient({ servers: connection.servers ?? [DEFAULT_SERVER], token: connection.token, ...(ca ? { ca } : {}) });
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
