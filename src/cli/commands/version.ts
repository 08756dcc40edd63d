import type { Command } from 'commander';
import { TENET_VERSION } from '../../version';

export function register(program: Command): void {
  program
    .command('version')
    .description('print the version of this tenet binary')
    .action(() => {
      process.stdout.write(`tenet ${TENET_VERSION}\n`);
    });
}
