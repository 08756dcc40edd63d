/**
 * `tenet explain --tenant T --from A --to B --port tcp/5432`: fetches the intent, compiles it
 * like the agents do and walks the compiled program for one packet. Nothing else decides.
 */
import { Option, type Command } from 'commander';
import { IntentUnreadableError, loadIntent } from '../../client/intent';
import { explainFlow, FlowQueryError } from '../../core/policy/explain-flow';
import type { L4Name } from '../../core/policy/program';
import { CliError, clientFor, ExitStatus, WithExitCode } from '../context';
import { nameArg, shown } from '../args';
import { serviceHops } from '../../core/services/explain';
import type { Service } from '../../core/model/kinds/service';
import type { Endpoint } from '../../core/model/kinds/endpoint';

const PROTOCOLS: Record<string, L4Name> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', icmp: 'icmp', icmpv6: 'icmpv6' };

export function parsePortArg(text: string): { protocol: L4Name; port?: number } {
  const match = /^([a-z0-9]+)(?:\/([0-9]{1,5}))?$/.exec(text.toLowerCase());
  const protocol = match ? PROTOCOLS[match[1]] : undefined;
  if (!match || !protocol) throw new CliError(`--port "${shown(text)}": use tcp/PORT, udp/PORT, sctp/PORT, icmp or icmpv6`, 2);
  if (protocol === 'icmp' || protocol === 'icmpv6') {
    if (match[2] !== undefined) throw new CliError(`--port: ${protocol} takes no port`, 2);
    return { protocol };
  }
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--port "${shown(text)}": the port must be 1-65535`, 2);
  return { protocol, port };
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('can A talk to B on a port, and which rule says so? (answered from the compiled policy)')
    .requiredOption('--tenant <tenant>', 'tenant of the endpoints')
    .requiredOption('--from <endpoint|ip>', 'source endpoint name or address')
    .requiredOption(
      '--to <endpoint|ip|service/NAME>',
      'destination endpoint name or address, or service/NAME (explained per backend, after translation)',
    )
    .requiredOption('--port <proto/port>', 'tcp/5432, udp/53, sctp/9003, icmp')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-v, --verbose', 'show the chains and rules walked')
    .option('--exit-code', 'exit 0 when the flow is allowed, 1 when denied, 2 on a usage error, 3 on any other error')
    .addHelpText(
      'after',
      '\nExamples:\n  tenet explain --tenant acme --from web-1 --to db-0 --port tcp/5432\n  tenet explain --tenant acme --from 10.0.0.5 --to db-0 --port tcp/5432 -o json',
    )
    .action(
      async (
        options: { tenant: string; from: string; to: string; port: string; output: 'text' | 'json'; verbose?: boolean; exitCode?: boolean },
        command: Command,
      ) => {
        const tenant = nameArg(options.tenant, 'tenant');
        const { protocol, port } = parsePortArg(options.port);
        let allowed: boolean;
        try {
          const client = clientFor(command);
          const intent = await loadIntent(client, tenant);
          if (options.to.startsWith('service/')) {
            const name = nameArg(options.to.slice('service/'.length), 'service');
            const service = await client.get<Service>('Service', name, tenant);
            let hops;
            try {
              hops = serviceHops(tenant, service, intent.endpoints as Endpoint[], protocol, port);
            } catch (error) {
              throw new CliError((error as Error).message, 2);
            }
            if (hops.length === 0) {
              process.stdout.write(
                `service ${name} (${(service.status?.virtualIPs ?? []).join(', ')}) ${options.port}: no ready backend: refused at once (TCP reset / ICMP port unreachable)\n`,
              );
              return;
            }
            const parts = hops.map((hop) => {
              const head = `service ${name} (${(service.status?.virtualIPs ?? []).join(', ')}) ${options.port} -> backend ${hop.endpoint}${hop.host ? ` on ${hop.host}` : ''} ${protocol}/${hop.port}`;
              const flow = explainFlow(intent, tenant, options.from, hop.endpoint, { protocol, port: hop.port }, options);
              return options.output === 'json'
                ? JSON.stringify({
                    service: name,
                    backend: hop.endpoint,
                    host: hop.host,
                    port: hop.port,
                    flow: JSON.parse(flow) as unknown,
                  })
                : `${head}\n${flow}`;
            });
            process.stdout.write((options.output === 'json' ? `[${parts.join(',')}]` : parts.join('\n\n')) + '\n');
            return;
          }
          process.stdout.write(explainFlow(intent, tenant, options.from, options.to, { protocol, port }, options) + '\n');
          allowed = options.exitCode
            ? (
                JSON.parse(explainFlow(intent, tenant, options.from, options.to, { protocol, port }, { output: 'json' })) as {
                  allowed: boolean;
                }
              ).allowed
            : true;
        } catch (error) {
          const failure =
            error instanceof FlowQueryError
              ? new CliError(error.message, error.usage ? 2 : 1)
              : error instanceof IntentUnreadableError
                ? new CliError(error.message)
                : error;
          // With --exit-code, 1 means "denied": other failures move to 3 (usage errors stay 2), as diff does.
          if (options.exitCode && !(failure instanceof CliError && failure.exitCode === 2)) throw new WithExitCode(failure, 3);
          throw failure;
        }
        if (!allowed) throw new ExitStatus(1);
      },
    );
}
