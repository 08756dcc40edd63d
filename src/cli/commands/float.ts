import type { Command } from 'commander';
import { clientFor, CliError } from '../context';
import type { FloatingIP } from '../../core/model/kinds/floating-ip';
import { NAME_REGEX } from '../../core/model/names';

/** `endpoint/NAME` or `service/NAME` → the FloatingIP target. */
export function parseFloatTarget(text: string): { endpoint: string } | { service: string } {
  const match = /^(endpoint|ep|service|svc)\/(.+)$/.exec(text);
  if (!match || !NAME_REGEX.test(match[2])) throw new CliError(`--to "${text}": give endpoint/NAME or service/NAME`, 2);
  return match[1].startsWith('e') ? { endpoint: match[2] } : { service: match[2] };
}

export function register(program: Command): void {
  const float = program.command('float').description('floating IPs: move one to another target (the blue-green cut-over)');
  float
    .command('move')
    .description('bind a floating IP to another endpoint or service: new connections land there, established ones finish where they are')
    .argument('<name>', 'the FloatingIP; also TENANT/NAME')
    .requiredOption('--to <target>', 'endpoint/NAME or service/NAME of the same tenant')
    .option('--tenant <tenant>', "the FloatingIP's tenant")
    .addHelpText(
      'after',
      '\nExamples:\n  tenet float move web --to service/green --tenant shop\n  tenet float move shop/web --to endpoint/api-1',
    )
    .action(async (nameText: string, options: { to: string; tenant?: string }, command: Command) => {
      const slash = nameText.indexOf('/');
      const tenant = slash >= 0 ? nameText.slice(0, slash) : options.tenant;
      const name = slash >= 0 ? nameText.slice(slash + 1) : nameText;
      if (!tenant) throw new CliError('the FloatingIP is tenant-scoped: give --tenant or TENANT/NAME', 2);
      const target = parseFloatTarget(options.to);
      const client = clientFor(command);
      const current = await client.get<FloatingIP>('FloatingIP', name, tenant);
      // An update with the resourceVersion read: a move racing another change is refused (409), never lost.
      const moved = await client.update({ ...current, spec: { ...current.spec, target } });
      const address = moved.status?.address ?? '?';
      process.stdout.write(`floatingip/${tenant}/${name} (${address}) moved to ${options.to}\n`);
    });
}
