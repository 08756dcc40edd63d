import { Option, type Command } from 'commander';
import type { KindName } from '../../core/model/registry';
import { clientFor, CliError } from '../context';
import { nameArg } from '../args';
import { exportIntent } from '../export-intent';
import { formatJson } from '../output';
import { toYamlStream } from '../normalize';
import { API_VERSION } from '../../core/model/common';

interface ExportOptions {
  tenant?: string;
  output: 'yaml' | 'json';
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write all intent (tenants, networks, scopes, groups, policies, global policies, services) as YAML that apply re-creates')
    .option('--tenant <tenant>', 'only this tenant and what is in it (global policies are left out)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .addHelpText('after', '\nExamples:\n  tenet export > intent.yaml\n  tenet export --tenant acme -o json')
    .action(async (options: ExportOptions, command: Command) => {
      const tenant = options.tenant === undefined ? undefined : nameArg(options.tenant, 'tenant');
      const client = clientFor(command);
      // One snapshot, read at one revision: the export is a consistent picture, never half of a change.
      // A tenant's export leaves GlobalPolicies out, so it does not ask for them (tenant roles may not read them).
      const kinds: KindName[] = [
        'Tenant',
        'Network',
        'Scope',
        'Group',
        'Policy',
        ...(tenant === undefined ? (['GlobalPolicy'] as const) : []),
        'Service',
        ...(tenant === undefined ? (['FloatingIPPool'] as const) : []),
        'FloatingIP',
      ];
      const snapshot = await client.snapshot(kinds);
      if (tenant !== undefined && !snapshot.items.some((o) => o.kind === 'Tenant' && o.metadata.name === tenant)) {
        throw new CliError(`tenant "${tenant}" not found`);
      }
      const objects = exportIntent(snapshot.items, { tenant });
      process.stdout.write(
        options.output === 'json' ? formatJson({ apiVersion: API_VERSION, kind: 'List', items: objects }) : toYamlStream(objects),
      );
    });
}
