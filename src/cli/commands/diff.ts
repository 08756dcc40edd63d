import type { Command } from 'commander';
import { clientFor, ExitStatus, WithExitCode } from '../context';
import { readIntentFiles, refPath } from '../manifests';
import { collect } from '../args';
import { renderObjectDiff, renderRemovalDiff } from '../diff-render';
import { applysetArg, labelForSet, setState } from '../applyset';

interface DiffOptions {
  filename: string[];
  tenant?: string;
  applyset?: string;
}

export function register(program: Command): void {
  program
    .command('diff')
    .description('show how the files differ from the live objects (exit 0: no difference, 1: differences, >1: error)')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collect, [])
    .option('--tenant <tenant>', 'tenant for tenant-scoped objects whose metadata names none')
    .option(
      '--applyset <name>',
      'compare as `apply --applyset NAME` would apply; live objects of the set missing from the files show as removals',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  tenet diff -f ./intent/\n  tenet diff -f network.yaml && echo "in sync"\n  tenet diff -f ./intent/ --applyset prod',
    )
    .action(async (options: DiffOptions, command: Command) => {
      let differs: boolean;
      try {
        differs = await diff(options, command);
      } catch (error) {
        // 1 means "differs", so every failure exits 2 (as kubectl diff does).
        throw new WithExitCode(error, 2);
      }
      if (differs) throw new ExitStatus(1);
    });
}

async function diff(options: DiffOptions, command: Command): Promise<boolean> {
  const set = applysetArg(options.applyset, false);
  let located = await readIntentFiles(options.filename, { tenant: options.tenant });
  if (set !== undefined) located = labelForSet(located, set);
  const client = clientFor(command);
  // The controller decides what counts as a change (defaults, normalisation); a dry-run apply asks it.
  const verdict = await client.apply(
    located.map((l) => l.object),
    { dryRun: true },
  );
  const changed = new Set(verdict.results.filter((r) => r.action !== 'unchanged').map((r) => refPath(r)));
  let output = '';
  for (const { object } of located) {
    const ref = refPath(object);
    if (!changed.has(ref)) continue;
    const live = await client.find(object.kind, object.metadata.name, object.metadata.tenant);
    const text = renderObjectDiff(live, object);
    output += text || `# ${ref}: differs only in fields the controller fills in\n`;
  }
  // Objects of the set that the files no longer hold: `apply --prune` would delete them.
  const liveOnly =
    set !== undefined
      ? (
          await setState(
            client,
            set,
            located.map((l) => l.object),
            options.tenant,
          )
        ).liveOnly
      : [];
  for (const live of liveOnly) output += renderRemovalDiff(live);
  process.stdout.write(output);
  return changed.size > 0 || liveOnly.length > 0;
}
