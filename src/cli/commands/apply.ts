import type { Command } from 'commander';
import { ApiError } from '../../client/errors';
import type { TenetObject } from '../../core/model/object';
import { clientFor } from '../context';
import { readIntentFiles, refPath } from '../manifests';
import { collect } from '../args';
import { applyLines, impactText } from '../apply-output';
import { applysetArg, labelForSet, refuseOwned, setState } from '../applyset';

interface ApplyOptions {
  filename: string[];
  dryRun?: boolean;
  message?: string;
  tenant?: string;
  applyset?: string;
  prune?: boolean;
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('create or update the objects in files, directories (*.yaml, *.yml, *.json) or stdin (-f -)')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collect, [])
    .option('--dry-run', 'validate and show what would change (and what --prune would delete), without changing anything')
    .option('-m, --message <text>', 'note recorded with the history revision')
    .option('--tenant <tenant>', 'tenant for tenant-scoped objects whose metadata names none (with --prune: prune only in this tenant)')
    .option('--applyset <name>', `label every object as part of this set (label applyset.tenet.dev/part-of=NAME)`)
    .option('--prune', 'with --applyset: delete the objects of the set that the files no longer hold (never endpoints or hosts)')
    .addHelpText(
      'after',
      '\nExamples:\n  tenet apply -f network.yaml\n  tenet apply -f ./intent/ -m "open db to web"\n  cat all.yaml | tenet apply -f - --dry-run\n  tenet apply -f ./intent/ --applyset prod --prune --dry-run',
    )
    .action(async (options: ApplyOptions, command: Command) => {
      const set = applysetArg(options.applyset, options.prune);
      // Everything is checked locally first: a bad file never reaches the controller.
      let located = await readIntentFiles(options.filename, { tenant: options.tenant });
      if (set !== undefined) located = labelForSet(located, set);
      const objects = located.map((l) => l.object);
      const client = clientFor(command);
      const before = set !== undefined ? await setState(client, set, objects, options.tenant) : undefined;
      if (before && set !== undefined) refuseOwned(before.owned, set);
      const result = await client.apply(objects, { dryRun: options.dryRun ?? false, message: options.message });
      process.stdout.write(applyLines(result, options.dryRun ?? false));
      if (options.prune && before) await prune(client, before.liveOnly, options.dryRun ?? false);
      process.stdout.write(impactText(result));
    });
}

/**
 * Deletes the set's live-only objects, dependents first. Not one transaction with the apply (kubectl's
 * prune is not either): a failure stops here, and the next apply --prune finishes the job.
 */
async function prune(client: ReturnType<typeof clientFor>, liveOnly: readonly TenetObject[], dryRun: boolean): Promise<void> {
  for (const object of liveOnly) {
    if (dryRun) {
      process.stdout.write(`${refPath(object)} pruned (dry run)\n`);
      continue;
    }
    try {
      await client.delete(object.kind, object.metadata.name, object.metadata.tenant);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) continue;
      throw error;
    }
    process.stdout.write(`${refPath(object)} pruned\n`);
  }
}
