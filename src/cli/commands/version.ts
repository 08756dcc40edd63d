import type { Command } from 'commander';
import { TENET_VERSION } from '../../version';
import { CliError, clientFor } from '../context';
import { formatData } from '../output';

interface VersionOptions {
  client?: boolean;
  output?: string;
}

export function register(program: Command): void {
  program
    .command('version')
    .description("print this tenet binary's version and the controller's (like kubectl version)")
    .option('--client', 'only this binary: ask no controller')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (options: VersionOptions, command: Command) => {
      const structured = options.output === 'json' || options.output === 'yaml' ? options.output : undefined;
      if (options.output !== undefined && !structured) throw new CliError(`-o ${options.output}: use json or yaml`, 2);
      const clientVersion = { version: TENET_VERSION, node: process.version };
      if (options.client) {
        process.stdout.write(structured ? formatData({ client: clientVersion }, structured) : `tenet ${TENET_VERSION}\n`);
        return;
      }
      if (!structured) process.stdout.write(`Client Version: ${TENET_VERSION}\n`);
      // As kubectl does: the client's line first, then the server's, or the error that it cannot be reached (exit 1).
      const server = (await clientFor(command).request('GET', '/version')) as { version?: string; apiVersion?: string };
      if (structured) process.stdout.write(formatData({ client: clientVersion, server }, structured));
      else process.stdout.write(`Server Version: ${String(server.version)} (API ${String(server.apiVersion)})\n`);
    });
}
