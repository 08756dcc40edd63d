/** `tenet audit`: the audit trail of mutating requests (admins: all; tenant-admins: their tenant). */
import { Option, type Command } from 'commander';
import { parseDuration } from '../../auth/tokens';
import type { AuditEntry } from '../../auth/audit-log';
import { clientFor, CliError } from '../context';
import { auditEventText } from '../../core/auth/audit-events';
import { formatData, renderTable, type OutputFormat } from '../output';

export function register(program: Command): void {
  program
    .command('audit')
    .description('show the audit trail: every mutating request, allowed or refused')
    .option('--tenant <tenant>', 'only entries about this tenant')
    .option('--since <duration>', 'only entries newer than this, e.g. 1h, 30m, 7d')
    .option('--limit <n>', 'at most this many of the newest entries')
    .option('--event <name>', 'only entries with this named event (floatingip.move) or family (floatingip, floatingippool)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .addHelpText(
      'after',
      '\nExamples:\n  tenet audit --since 1h\n  tenet audit --tenant shop -o json\n  tenet audit --event floatingip.move',
    )
    .action(
      async (options: { tenant?: string; since?: string; limit?: string; event?: string; output: OutputFormat }, command: Command) => {
        if (options.since !== undefined && parseDuration(options.since) === undefined)
          throw new CliError(`--since ${options.since}: use a duration like 90s, 30m, 24h or 7d`, 2);
        if (options.limit !== undefined && !/^[1-9][0-9]{0,4}$/.test(options.limit))
          throw new CliError(`--limit ${options.limit}: use a number from 1 to 10000`, 2);
        const query = new URLSearchParams();
        if (options.tenant !== undefined) query.set('tenant', options.tenant);
        if (options.since !== undefined) query.set('since', options.since);
        if (options.limit !== undefined) query.set('limit', options.limit);
        if (options.event !== undefined) query.set('event', options.event);
        const suffix = query.size > 0 ? `?${query}` : '';
        const { items } = (await clientFor(command).request('GET', `/api/v1/audit${suffix}`)) as { items: AuditEntry[] };
        if (options.output === 'json' || options.output === 'yaml') {
          process.stdout.write(formatData({ items }, options.output));
          return;
        }
        if (items.length === 0) {
          process.stderr.write('No audit entries.\n');
          return;
        }
        const rows = items.map((e) => [
          e.at,
          `${e.tokenId} ${e.role}`,
          e.verb,
          [e.kind, [e.tenant ?? e.tenants?.join(','), e.name].filter(Boolean).join('/')].filter(Boolean).join(' '),
          `${e.outcome} ${e.code}`,
          // Named events first (a floating IP's move says from and to), then the generic summary.
          [...(e.events ?? []).map(auditEventText), e.summary ?? ''].filter(Boolean).join('; '),
        ]);
        process.stdout.write(renderTable(['TIME', 'TOKEN', 'VERB', 'OBJECT', 'OUTCOME', 'SUMMARY'], rows));
      },
    );
}
