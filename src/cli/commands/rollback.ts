import type { Command } from 'commander';
import { clientFor } from '../context';
import { revisionArg } from '../args';
import { refPath } from '../manifests';

export function register(program: Command): void {
  program
    .command('rollback')
    .description('restore all intent as it was right after history revision REV (recorded as a new revision)')
    .argument('<rev>', 'history revision (see tenet history)')
    .addHelpText('after', '\nExample:\n  tenet rollback 12')
    .action(async (revText: string, _options: unknown, command: Command) => {
      const revision = revisionArg(revText);
      const result = await clientFor(command).rollback(revision);
      const lines = result.results.filter((r) => r.action !== 'unchanged').map((r) => `${refPath(r)} ${r.action}\n`);
      process.stdout.write(lines.join(''));
      process.stdout.write(
        result.revision === null ? `already as at revision ${revision}: nothing changed\n` : `rolled back to revision ${revision} as revision ${result.revision}\n`,
      );
    });
}
