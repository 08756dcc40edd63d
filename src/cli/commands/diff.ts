import type { Command } from 'commander';
import { clientFor, ExitStatus, WithExitCode } from '../context';
import { readIntentFiles, refPath } from '../manifests';
import { collect } from '../args';
import { renderObjectDiff } from '../diff-render';

interface DiffOptions {
  filename: string[];
  tenant?: string;
}

export function register(program: Command): void {
  program
    .command('diff')
    .description('show how the files differ from the live objects (exit 0: no difference, 1: differences, >1: error)')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collect, [])
    .option('--tenant <tenant>', 'tenant for tenant-scoped objects whose metadata names none')
    .addHelpText('after', '\nExamples:\n  tenet diff -f ./intent/\n  tenet diff -f network.yaml && echo "in sync"')
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
  const located = await readIntentFiles(options.filename, { tenant: options.tenant });
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
  process.stdout.write(output);
  return changed.size > 0;
}
