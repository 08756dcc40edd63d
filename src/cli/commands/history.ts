import { Option, type Command } from 'commander';
import { clientFor } from '../context';
import { formatData, renderTable, type OutputFormat } from '../output';
import { historyRows } from '../history-text';

export function register(program: Command): void {
  program
    .command('history')
    .description('list the revisions of intent: who changed what, when')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'wide', 'json', 'yaml']).default('table'))
    .addHelpText('after', '\nExamples:\n  tenet history\n  tenet history -o json')
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const items = await clientFor(command).history();
      if (options.output === 'json' || options.output === 'yaml') {
        process.stdout.write(formatData({ items }, options.output));
        return;
      }
      if (items.length === 0) {
        process.stderr.write('No history yet.\n');
        return;
      }
      const { headers, rows } = historyRows(items, options.output === 'wide');
      process.stdout.write(renderTable(headers, rows));
    });
}
