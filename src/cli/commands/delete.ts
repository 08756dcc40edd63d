import type { Command } from 'commander';
import { ApiError } from '../../client/errors';
import { clientFor, CliError } from '../context';
import { collect, targetArg } from '../args';
import { findTarget } from '../lookup';
import { readIntentFiles, refPath } from '../manifests';

interface DeleteOptions {
  tenant?: string;
  cascade?: boolean;
  dryRun?: boolean;
  filename: string[];
}

export function register(program: Command): void {
  program
    .command('delete')
    .description('delete one object (KIND NAME) or every object the files name (-f), dependents first')
    .argument('[kind]', 'kind (plural, singular or alias)')
    .argument('[name]', 'name; for tenant-scoped kinds also TENANT/NAME')
    .option('--tenant <tenant>', 'tenant of a tenant-scoped object')
    .option('--cascade', 'deleting a tenant: delete everything in it too')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collect, [])
    .option('--dry-run', 'the controller checks the deletion (not found, still in use) and changes nothing')
    .addHelpText(
      'after',
      '\nExamples:\n  tenet delete network web --tenant acme\n  tenet delete tenant acme --cascade --dry-run\n  tenet delete -f ./intent/',
    )
    .action(async (kindText: string | undefined, nameText: string | undefined, options: DeleteOptions, command: Command) => {
      const client = clientFor(command);
      const dryRun = options.dryRun ?? false;
      const suffix = dryRun ? ' (dry run)' : '';
      if (options.filename.length > 0) {
        if (kindText !== undefined) throw new CliError('give either KIND NAME or -f, not both', 2);
        const located = await readIntentFiles(options.filename, { tenant: options.tenant });
        // Reverse dependency order: what depends on a thing goes before the thing itself.
        for (const { object } of [...located].reverse()) {
          const ref = refPath(object);
          try {
            await client.delete(object.kind, object.metadata.name, object.metadata.tenant, { cascade: options.cascade, dryRun });
            process.stdout.write(`${ref} deleted${suffix}\n`);
          } catch (error) {
            if (!(error instanceof ApiError && error.status === 404)) throw error;
            process.stderr.write(`note: ${ref} was already gone\n`);
          }
        }
        return;
      }
      if (kindText === undefined || nameText === undefined) throw new CliError('delete needs KIND NAME or -f PATH', 2);
      const target = targetArg(kindText, nameText, options.tenant);
      if (options.cascade && target.info.kind !== 'Tenant') throw new CliError('--cascade only applies to tenants', 2);
      if (target.info.tenantScoped && target.tenant === undefined) {
        // Deleting is not a place for guessing: say which tenant it was found in, and ask.
        const found = await findTarget(client, target).catch(() => undefined);
        const hint = found ? ` (it exists in tenant ${found.metadata.tenant})` : '';
        throw new CliError(`${target.info.kind.toLowerCase()} is tenant-scoped: give --tenant or write TENANT/${target.name}${hint}`, 2);
      }
      let deleted;
      try {
        deleted = await client.delete(target.info.kind, target.name, target.tenant, { cascade: options.cascade, dryRun });
      } catch (error) {
        // The API speaks of ?cascade=true; on the command line that is --cascade.
        if (error instanceof ApiError && error.status === 409 && target.info.kind === 'Tenant' && !options.cascade) {
          throw new CliError(
            `${error.describe().replace(/;? ?(or )?use \?cascade=true/, '')}; to delete it with everything in it: tenet delete tenant ${target.name} --cascade`,
          );
        }
        throw error;
      }
      process.stdout.write(
        `${refPath(deleted ?? { kind: target.info.kind, tenant: target.tenant, name: target.name })} deleted${suffix}\n`,
      );
    });
}
