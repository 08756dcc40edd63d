import type { Command } from 'commander';
import type { TenetClient } from '../../client/api-client';
import type { TenetObject } from '../../core/model/object';
import { selectorMatches, type LabelSelector } from '../../core/model/selectors';
import { clientFor } from '../context';
import { targetArg } from '../args';
import { findTarget } from '../lookup';
import type { ServiceSpec } from '../../core/model/kinds/service';
import { describeObject, type EndpointHostFigures, type Related } from '../describe-text';
import type { Host } from '../../core/model/kinds/host';

interface DescribeOptions {
  tenant?: string;
}

export function register(program: Command): void {
  program
    .command('describe')
    .description('show one object in detail: spec, status, and related objects (network endpoints, group members)')
    .argument('<kind>', 'kind (plural, singular or alias)')
    .argument('<name>', 'name; for tenant-scoped kinds also TENANT/NAME')
    .option('--tenant <tenant>', 'tenant of a tenant-scoped object')
    .addHelpText('after', '\nExamples:\n  tenet describe network web --tenant acme\n  tenet describe ep acme/web-1')
    .action(async (kindText: string, nameText: string, options: DescribeOptions, command: Command) => {
      const client = clientFor(command);
      const target = targetArg(kindText, nameText, options.tenant);
      const object = await findTarget(client, target);
      const related = await relatedOf(client, object);
      process.stdout.write(describeObject(object, related, await hostFiguresOf(client, object)));
    });
}

/** An endpoint's figures from its host's status (antispoof drops); undefined when the Host cannot be read. */
async function hostFiguresOf(client: TenetClient, object: TenetObject): Promise<EndpointHostFigures | undefined> {
  const host = object.kind === 'Endpoint' ? (object.spec as { host?: string }).host : undefined;
  if (!host) return undefined;
  // Tenant roles may not read Hosts (docs/security.md): then the figure is left out, not an error.
  const found = await client.find<Host>('Host', host).catch(() => undefined);
  if (!found) return undefined;
  const entry = (found.status?.spoofDrops ?? []).find((d) => d.tenant === object.metadata.tenant && d.endpoint === object.metadata.name);
  return { spoofDrops: entry ? { packets: entry.packets, bytes: entry.bytes } : undefined };
}

/** Endpoints that belong to the object: those on a network, or those a group or service selects. */
async function relatedOf(client: TenetClient, object: TenetObject): Promise<Related | undefined> {
  const tenant = object.metadata.tenant;
  if (!tenant) return undefined;
  if (object.kind === 'Network') {
    const endpoints = (await client.list('Endpoint', { tenant })).items.filter(
      (e) => (e.spec as { network?: string }).network === object.metadata.name,
    );
    return { title: 'Endpoints', endpoints };
  }
  if (object.kind === 'Group' || object.kind === 'Service') {
    const selector = (object.spec as { selector: LabelSelector }).selector;
    const network = (object.spec as { network?: string }).network;
    const endpoints = (await client.list('Endpoint', { tenant })).items.filter(
      (e) =>
        selectorMatches(selector, e.metadata.labels ?? {}) &&
        (network === undefined || (e.spec as { network?: string }).network === network),
    );
    if (object.kind === 'Group') return { title: 'Members', endpoints };
    return { title: 'Backends', endpoints, ports: (object.spec as ServiceSpec).ports };
  }
  return undefined;
}
