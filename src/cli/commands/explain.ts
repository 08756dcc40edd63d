/**
 * `tenet explain --tenant T --from A --to B --port tcp/5432`: fetches the intent, compiles it
 * like the agents do and walks the compiled program for one packet. Nothing else decides.
 */
import { Option, type Command } from 'commander';
import type { TenetClient } from '../../client/api-client';
import type { KindName } from '../../core/model/registry';
import type { PolicyIntent } from '../../core/policy/intent';
import { FlowJudge, resolveFlowEnd } from '../../core/policy/flow';
import { describeDecision } from '../../core/policy/explain';
import type { L4Name } from '../../core/policy/program';
import { CliError, clientFor } from '../context';
import { ApiError } from '../../client/errors';
import { nameArg, shown } from '../args';

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

/** Everything the compiler reads about one tenant (plus the GlobalPolicies that may apply to it). */
export async function loadIntent(client: TenetClient, tenant: string): Promise<PolicyIntent> {
  const list = async <T>(kind: KindName, scoped: boolean): Promise<T[]> => (await client.list<T>(kind, scoped ? { tenant } : {})).items;
  const [tenants, scopes, groups, networks, policies, globalPolicies, endpoints] = await Promise.all([
    list<PolicyIntent['tenants'][number]>('Tenant', false),
    list<PolicyIntent['scopes'][number]>('Scope', true),
    list<PolicyIntent['groups'][number]>('Group', true),
    list<PolicyIntent['networks'][number]>('Network', true),
    list<PolicyIntent['policies'][number]>('Policy', true),
    list<PolicyIntent['globalPolicies'][number]>('GlobalPolicy', false).catch((error: unknown) => {
      // Admin and baseline tiers decide flows too: a verdict without them would be a guess, so say why there is none.
      if (error instanceof ApiError && error.status === 403) {
        throw new CliError(`judging flows needs the GlobalPolicies (admin and baseline tiers), which this token may not read (${error.message}); ask an admin`);
      }
      throw error;
    }),
    list<PolicyIntent['endpoints'][number]>('Endpoint', true),
  ]);
  return { tenants, scopes, groups, networks, policies, globalPolicies, endpoints };
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('can A talk to B on a port, and which rule says so? (answered from the compiled policy)')
    .requiredOption('--tenant <tenant>', 'tenant of the endpoints')
    .requiredOption('--from <endpoint|ip>', 'source endpoint name or address')
    .requiredOption('--to <endpoint|ip>', 'destination endpoint name or address')
    .requiredOption('--port <proto/port>', 'tcp/5432, udp/53, sctp/9003, icmp')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-v, --verbose', 'show the chains and rules walked')
    .addHelpText('after', '\nExamples:\n  tenet explain --tenant acme --from web-1 --to db-0 --port tcp/5432\n  tenet explain --tenant acme --from 10.0.0.5 --to db-0 --port tcp/5432 -o json')
    .action(async (options: { tenant: string; from: string; to: string; port: string; output: 'text' | 'json'; verbose?: boolean }, command: Command) => {
      const tenant = nameArg(options.tenant, 'tenant');
      const { protocol, port } = parsePortArg(options.port);
      const intent = await loadIntent(clientFor(command), tenant);
      process.stdout.write(explainFlow(intent, tenant, options.from, options.to, { protocol, port }, options) + '\n');
    });
}

/** The verdict for one flow, as text (default) or JSON, from the compiled policy of the tenant. */
export function explainFlow(
  intent: PolicyIntent,
  tenant: string,
  fromText: string,
  toText: string,
  { protocol, port }: { protocol: L4Name; port?: number },
  options: { output?: 'text' | 'json'; verbose?: boolean } = {},
): string {
  if (!intent.tenants.some((t) => t.metadata.name === tenant)) throw new CliError(`tenant "${tenant}" does not exist`, 1);
  const family = protocol === 'icmpv6' ? 6 : undefined;
  const from = resolveFlowEnd(intent, tenant, fromText, family);
  const to = resolveFlowEnd(intent, tenant, toText, family);
  if (!from) throw new CliError(`--from "${shown(fromText)}" is neither an address nor an endpoint (with an address) of tenant ${tenant}`, 2);
  if (!to) throw new CliError(`--to "${shown(toText)}" is neither an address nor an endpoint (with an address) of tenant ${tenant}`, 2);
  const result = new FlowJudge(intent, tenant).judge(from, to, protocol, port);
  if (options.output === 'json') {
    return JSON.stringify(
      { tenant, from: { ...('endpoint' in from ? { endpoint: from.endpoint.metadata.name } : {}), address: from.address }, to: { ...('endpoint' in to ? { endpoint: to.endpoint.metadata.name } : {}), address: to.address }, protocol, port, allowed: result.allowed, egress: result.egress, ingress: result.ingress, ...(options.verbose ? { trace: result.trace } : {}) },
      null,
      1,
    );
  }
  const name = (end: typeof from) => ('endpoint' in end ? `${end.endpoint.metadata.name} (${end.address})` : end.address);
  const lines = [
    `${name(from)} -> ${name(to)} ${protocol}${port !== undefined ? `/${port}` : ''}: ${result.allowed ? 'ALLOWED' : 'DENIED'}`,
    `  ${describeDecision('egress', result.egress)}`,
    `  ${describeDecision('ingress', result.ingress)}`,
  ];
  if (options.verbose) lines.push('', ...result.trace);
  return lines.join('\n');
}
