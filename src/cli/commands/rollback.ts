import type { Command } from 'commander';
import { clientFor } from '../context';
import { revisionArg } from '../args';
import { refPath } from '../manifests';
import { impactText } from '../apply-output';

export function register(program: Command): void {
  program
    .command('rollback')
    .description('restore all intent as it was right after history revision REV (recorded as a new revision)')
    .argument('<rev>', 'history revision (see tenet history)')
    .option('--dry-run', 'show what the rollback would change (objects, and flows whose verdict changes), change nothing')
    .addHelpText('after', '\nExamples:\n  tenet rollback 12 --dry-run\n  tenet rollback 12')
    .action(async (revText: string, options: { dryRun?: boolean }, command: Command) => {
      const revision = revisionArg(revText);
      const dryRun = options.dryRun ?? false;
      const result = await clientFor(command).rollback(revision, { dryRun });
      const suffix = dryRun ? ' (dry run)' : '';
      const lines = result.results.filter((r) => r.action !== 'unchanged').map((r) => `${refPath(r)} ${r.action}${suffix}\n`);
      process.stdout.write(lines.join(''));
      if (dryRun) {
        process.stdout.write(
          lines.length === 0
            ? `already as at revision ${revision}: nothing would change\n`
            : `a rollback to revision ${revision} would change the above (dry run: nothing changed)\n`,
        );
        // The controller answers a dry-run rollback's flow impact as it does an apply's.
        process.stdout.write(impactText(result));
        return;
      }
      process.stdout.write(
        result.revision === null
          ? `already as at revision ${revision}: nothing changed\n`
          : `rolled back to revision ${revision} as revision ${result.revision}\n`,
      );
    });
}
