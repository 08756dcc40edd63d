/**
 * Finding the one object a command names. A tenant-scoped name without a tenant is looked up
 * across all tenants: found once, it is used; found in several tenants, the user must choose.
 */
import type { TenetClient } from '../client/api-client';
import type { TenetObject } from '../core/model/object';
import { CliError } from './context';
import type { Target } from './args';

/** The part of the client that lookups use. */
export type LookupClient = Pick<TenetClient, 'find' | 'list'>;

export async function findTarget(client: LookupClient, target: Target): Promise<TenetObject> {
  const { info, name, tenant } = target;
  if (!info.tenantScoped || tenant !== undefined) {
    const object = await client.find(info.kind, name, tenant);
    if (!object) throw new CliError(`${info.kind.toLowerCase()} "${tenant ? `${tenant}/` : ''}${name}" not found`);
    return object;
  }
  const matches = (await client.list(info.kind)).items.filter((o) => o.metadata.name === name);
  if (matches.length === 0) throw new CliError(`${info.kind.toLowerCase()} "${name}" not found in any tenant`);
  if (matches.length > 1) {
    const tenants = matches.map((o) => o.metadata.tenant ?? '').join(', ');
    throw new CliError(
      `${info.kind.toLowerCase()} "${name}" exists in several tenants (${tenants}): give --tenant or write TENANT/${name}`,
    );
  }
  return matches[0];
}
