/** `tenet token create|list|revoke`: bearer tokens (admins only). The secret is printed once and stored hashed. */
import { Option, type Command } from 'commander';
import { ROLES } from '../../core/auth/roles';
import { parseDuration } from '../../auth/tokens';
import { clientFor, CliError } from '../context';
import { formatData, renderTable, type OutputFormat } from '../output';

interface TokenInfo {
  id: string;
  role: string;
  tenant?: string;
  host?: string;
  description?: string;
  createdAt: string;
  expiresAt?: string;
}

export function register(program: Command): void {
  const token = program.command('token').description('create, list and revoke API tokens (admin)');
  token
    .command('create')
    .description('create a token and print it once (it is stored hashed and cannot be shown again)')
    .addOption(new Option('--role <role>', 'role of the token').choices([...ROLES]).makeOptionMandatory())
    .option('--tenant <tenant>', 'tenant of a tenant-admin or viewer token')
    .option('--host <host>', 'host of an agent token')
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 24h, 7d (default: no expiry)')
    .option('--description <text>', 'a note shown by token list')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nExamples:\n  tenet token create --role tenant-admin --tenant shop --ttl 24h\n  tenet token create --role agent --host node-1',
    )
    .action(
      async (
        options: { role: string; tenant?: string; host?: string; ttl?: string; description?: string; output: string },
        command: Command,
      ) => {
        if (options.ttl !== undefined && parseDuration(options.ttl) === undefined)
          throw new CliError(`--ttl ${options.ttl}: use a duration like 90s, 30m, 24h or 7d`, 2);
        const body = {
          role: options.role,
          ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
          ...(options.host !== undefined ? { host: options.host } : {}),
          ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
          ...(options.description !== undefined ? { description: options.description } : {}),
        };
        const created = (await clientFor(command).request('POST', '/api/v1/tokens', body)) as TokenInfo & { token: string };
        if (options.output === 'json') {
          process.stdout.write(formatData(created, 'json'));
          return;
        }
        process.stdout.write(`${created.token}\n`);
        process.stderr.write(
          `token ${created.id} (${describe(created)})${created.expiresAt ? `, expires ${created.expiresAt}` : ''}: store it now, it is not shown again\n`,
        );
      },
    );
  token
    .command('list')
    .description('list tokens (never their secrets)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const { items } = (await clientFor(command).request('GET', '/api/v1/tokens')) as { items: TokenInfo[] };
      if (options.output === 'json' || options.output === 'yaml') {
        process.stdout.write(formatData({ items }, options.output));
        return;
      }
      const rows = items.map((t) => [t.id, t.role, t.tenant ?? t.host ?? '-', t.createdAt, t.expiresAt ?? '-', t.description ?? '']);
      process.stdout.write(renderTable(['ID', 'ROLE', 'SCOPE', 'CREATED', 'EXPIRES', 'DESCRIPTION'], rows));
    });
  token
    .command('revoke')
    .description('revoke a token by id (takes effect on every controller within seconds)')
    .argument('<id>', 'token id (the part after tnt_, as shown by token list)')
    .action(async (id: string, _options: unknown, command: Command) => {
      await clientFor(command).request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
      process.stdout.write(`token ${id} revoked\n`);
    });
}

function describe(t: TokenInfo): string {
  return t.tenant ? `${t.role} of tenant ${t.tenant}` : t.host ? `${t.role} of host ${t.host}` : t.role;
}
