import type { Command } from 'commander';
import { clientFor } from '../context';
import { readIntentFiles, refPath } from '../manifests';
import { collect } from '../args';
import { describeChange } from '../../core/policy/impact';

/** Flow changes printed after a dry run; the rest are counted. */
const IMPACT_LINES = 40;

interface ApplyOptions {
  filename: string[];
  dryRun?: boolean;
  message?: string;
  tenant?: string;
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('create or update the objects in files, directories (*.yaml, *.yml, *.json) or stdin (-f -)')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collect, [])
    .option('--dry-run', 'validate and show what would change, without changing anything')
    .option('-m, --message <text>', 'note recorded with the history revision')
    .option('--tenant <tenant>', 'tenant for tenant-scoped objects whose metadata names none')
    .addHelpText('after', '\nExamples:\n  tenet apply -f network.yaml\n  tenet apply -f ./intent/ -m "open db to web"\n  cat all.yaml | tenet apply -f - --dry-run')
    .action(async (options: ApplyOptions, command: Command) => {
      // Everything is checked locally first: a bad file never reaches the controller.
      const located = await readIntentFiles(options.filename, { tenant: options.tenant });
      const client = clientFor(command);
      const result = await client.apply(
        located.map((l) => l.object),
        { dryRun: options.dryRun ?? false, message: options.message },
      );
      const suffix = options.dryRun ? ' (dry run)' : '';
      const lines = result.results.map((item) => `${refPath(item)} ${item.action}${suffix}\n`);
      process.stdout.write(lines.join(''));
      // The controller computes the impact (from the whole intent, whatever this token may read) and sends it with the dry run's answer.
      const impact = (result.impact ?? []).map(describeChange);
      if (impact.length > 0) {
        const more = impact.length - IMPACT_LINES;
        const shown = more > 0 ? [...impact.slice(0, IMPACT_LINES), `... and ${more}${result.impactTruncated ? '+' : ''} more flow changes`] : impact;
        process.stdout.write(`\nflows that would change verdict:\n${shown.map((l) => `  ${l}\n`).join('')}`);
      }
    });
}
