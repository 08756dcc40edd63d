/**
 * Entry point of the `tenet` command. Each command lives in its own module under
 * cli/commands/ and registers itself here; this file only wires them and turns
 * every failure into one line on stderr and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { ApiError, UnreachableError } from '../client/errors';
import { CliError, ExitStatus, WithExitCode } from './context';
import { COMMAND_MODULES } from './commands';

/** Global options that take a value, so the command name search skips their values. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--server', '--token', '--ca-file', '--context']);

/** The top-level command named in argv, or undefined (help, a typo, or no command at all). */
function commandNameIn(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (GLOBAL_OPTIONS_WITH_VALUE.has(word)) {
      i++;
      continue;
    }
    if (word.startsWith('-')) continue;
    return COMMAND_MODULES.some((module) => module.name === word) ? word : undefined;
  }
  return undefined;
}

/** With argv, only the named command is loaded; without a recognisable command, all of them (for help and errors). */
export function buildProgram(argv?: string[]): Command {
  const program = new Command('tenet')
    .description('Tenet: policy-driven networking for containers')
    // Repeated --server flags add up (fail-over order as given), like a comma-separated list.
    .option(
      '--server <urls>',
      'controller URL(s), comma-separated or repeated (env TENET_SERVER, default http://127.0.0.1:7400)',
      (value: string, previous?: string) => (previous ? `${previous},${value}` : value),
    )
    .option('--token <token>', 'bearer token (env TENET_TOKEN)')
    .option('--ca-file <file>', 'CA certificate to verify an https controller against (env TENET_CA)')
    .option('--context <name>', 'context of the config file (env TENET_CONFIG, default ~/.config/tenet/config.yaml)')
    // Usage errors are one line like every other error (the rule); the help is one --help away.
    // Commander puts its "(Did you mean ...?)" suggestion on a second line: keep it on the first.
    .configureOutput({
      outputError: (text, write) =>
        write(
          `${text
            .trim()
            .split(/\s*\n\s*/)
            .join(' ')}\n`,
        ),
    })
    .exitOverride();
  const wanted = argv ? commandNameIn(argv) : undefined;
  for (const module of COMMAND_MODULES) if (wanted === undefined || module.name === wanted) module.load()(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (usage errors, --help, --version).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof ExitStatus) return error.exitCode;
  if (error instanceof WithExitCode) {
    reportError(error.inner);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    process.stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof ApiError) {
    process.stderr.write(`error: ${error.describe()}\n`);
    return 1;
  }
  if (error instanceof UnreachableError && /certificate|self[- ]signed|unable to verify|altnames|CERT_/i.test(error.message)) {
    process.stderr.write(
      `error: the controller's TLS certificate is not trusted (${error.message}); pass its CA with --ca-file, TENET_CA or ca-file in the config file\n`,
    );
    return 1;
  }
  if (error instanceof UnreachableError) {
    process.stderr.write(`error: cannot reach the controller (${error.message}); is it running? set --server or TENET_SERVER\n`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.TENET_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`error: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
