/**
 * `tenet flows`: the flow and deny records the agents reported to the controller, filtered; `-w` keeps
 * asking for what came after the last record seen; `-o json` prints one record per line (JSON lines:
 * the export format, docs/observability.md).
 */
import { Option, type Command } from 'commander';
import type { FlowRecord } from '../../core/flows/records';
import { countsText, peerText, rulesText, serviceText, verdictWord } from '../../core/flows/describe';
import { CliError, clientFor } from '../context';
import { nameArg, shown } from '../args';

interface FlowsAnswer {
  items: FlowRecord[];
  seq: number;
  truncated: boolean;
  dropped?: { controllerEvicted: number; hosts: Record<string, { evicted: number; lostLog: number; lostConntrack: number }> };
}

export function flowLine(r: FlowRecord): string {
  const service = serviceText(r);
  const via = service ? ` via service ${service}` : '';
  const rules = rulesText(r);
  const counts = countsText(r);
  return `${r.time} ${r.tenant} ${r.host} ${verdictWord(r)} ${r.protocol} ${peerText(r.from)} -> ${peerText(r.to)}${via}${counts ? ` ${counts}` : ''}${rules ? `  ${rules}` : ''}`;
}

const VERDICTS = ['allow', 'deny', 'log'];

export function register(program: Command): void {
  program
    .command('flows')
    .description('connections and refused packets the kernels recorded (flow and deny records)')
    .option('--tenant <tenant>', 'only this tenant (a tenant-admin sees only its own anyway)')
    .option('--from <endpoint|ip>', 'source endpoint name or address')
    .option('--to <endpoint|ip>', 'destination endpoint name or address')
    .addOption(new Option('--verdict <verdict>', 'only allowed, denied or logged').choices(VERDICTS))
    .option('--since <duration|time>', 'only records since 30s, 5m, 2h, 1d or an ISO time')
    .option('-w, --watch', 'keep printing new records')
    .addOption(new Option('-o, --output <format>', 'output format (json: one record per line)').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nExamples:\n  tenet flows --tenant shop --verdict deny --since 5m\n  tenet flows --tenant shop --to db-0 -w -o json',
    )
    .action(
      async (
        options: {
          tenant?: string;
          from?: string;
          to?: string;
          verdict?: string;
          since?: string;
          watch?: boolean;
          output: 'text' | 'json';
        },
        command: Command,
      ) => {
        const query = new URLSearchParams();
        if (options.tenant !== undefined) query.set('tenant', nameArg(options.tenant, 'tenant'));
        for (const key of ['from', 'to'] as const) {
          const value = options[key];
          if (value === undefined) continue;
          if (!/^[0-9a-zA-Z.:-]{1,63}$/.test(value)) throw new CliError(`--${key} "${shown(value)}": an endpoint name or an address`, 2);
          query.set(key, value);
        }
        if (options.verdict !== undefined) query.set('verdict', options.verdict);
        if (options.since !== undefined) query.set('since', options.since);
        const client = clientFor(command);
        const print = (records: FlowRecord[]): void => {
          for (const r of records) process.stdout.write(options.output === 'json' ? `${JSON.stringify(r)}\n` : `${flowLine(r)}\n`);
        };
        let answer = (await client.request('GET', `/api/v1/flows?${query.toString()}`)) as FlowsAnswer;
        print(answer.items);
        if (answer.truncated) process.stderr.write('(older matching records left out)\n');
        if (!options.watch) return;
        // Watching: what came after the last record number, once a second (records arrive about once a second anyway).
        query.delete('since');
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          query.set('after', String(answer.seq));
          answer = (await client.request('GET', `/api/v1/flows?${query.toString()}`)) as FlowsAnswer;
          print(answer.items);
        }
      },
    );
}
