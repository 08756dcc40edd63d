/**
 * `tenet trace --tenant T --from A --to B --port tcp/80`: the controller has the agents arm the kernel's
 * tracer on every host the packet crosses and inject one probe from A's own namespace (or, `--live`,
 * wait for the next real packet); prints each hop and compares it with explain (docs/observability.md).
 * Exit 0 when they agree, 1 when they DISAGREE, 2 on a usage error, 3 when the kernel gave no verdict
 * or on any other error.
 */
import { Option, type Command } from 'commander';
import type { TraceAnswer } from '../../core/trace/report';
import { traceText } from '../../core/trace/text';
import { CliError, clientFor, ExitStatus, WithExitCode } from '../context';
import { nameArg, shown } from '../args';
import { parsePortArg } from './explain';

export function register(program: Command): void {
  program
    .command('trace')
    .description("follow one real packet through the kernels (nft trace) and compare with explain's answer")
    .requiredOption('--tenant <tenant>', 'tenant of the endpoints')
    .requiredOption('--from <endpoint>', 'source endpoint (the probe leaves from its own namespace)')
    .requiredOption(
      '--to <endpoint|ip|service/NAME>',
      "destination endpoint, its address, or service/NAME (the kernel's DNAT picks the backend)",
    )
    .requiredOption('--port <proto/port>', 'tcp/80, udp/53, icmp')
    .option('--live', 'inject nothing: wait for the next real matching packet')
    .option('--timeout <duration>', 'how long to wait for the packet (500ms to 15s)', '5s')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nExamples:\n  tenet trace --tenant shop --from web-1 --to db-0 --port tcp/5432\n  tenet trace --tenant shop --from web-1 --to service/db --port tcp/5432 --live --timeout 10s -o json',
    )
    .action(
      async (
        options: { tenant: string; from: string; to: string; port: string; live?: boolean; timeout: string; output: 'text' | 'json' },
        command: Command,
      ) => {
        const tenant = nameArg(options.tenant, 'tenant');
        const { protocol } = parsePortArg(options.port);
        if (protocol === 'sctp') throw new CliError('--port: a trace probes tcp, udp, icmp or icmpv6', 2);
        if (!/^[0-9]{1,6}(ms|s)?$/.test(options.timeout)) throw new CliError(`--timeout "${shown(options.timeout)}": e.g. 5s or 1500ms`, 2);
        let answer: TraceAnswer;
        try {
          answer = (await clientFor(command).request('POST', `/api/v1/tenants/${tenant}/trace`, {
            from: options.from,
            to: options.to,
            port: options.port.toLowerCase(),
            live: options.live === true,
            timeout: options.timeout,
          })) as TraceAnswer;
        } catch (error) {
          // Exit 1 means DISAGREE: other failures are 3 (usage errors stay 2).
          if (error instanceof CliError && error.exitCode === 2) throw error;
          throw new WithExitCode(error, 3);
        }
        process.stdout.write((options.output === 'json' ? JSON.stringify(answer, null, 1) : traceText(answer)) + '\n');
        if (answer.agreement === 'disagree') throw new ExitStatus(1);
        if (answer.agreement === 'inconclusive') throw new ExitStatus(3);
      },
    );
}
