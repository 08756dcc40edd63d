/**
 * The policy intent of one tenant, read through the API: what `tenet explain`, the dry-run impact preview
 * and the lab's demo compile and judge locally. Here rather than in the CLI so the lab can use it too.
 */
import type { KindName } from '../core/model/registry';
import { hostPeers, usesHostPeers, type PolicyIntent } from '../core/policy/intent';
import type { Host } from '../core/model/kinds/host';
import type { TenetClient } from './api-client';
import { ApiError } from './errors';

/** The token may not read the GlobalPolicies, without which no verdict can be given. */
export class IntentUnreadableError extends Error {}

/** Everything the compiler reads about one tenant (plus the GlobalPolicies that may apply to it). */
export async function loadIntent(client: TenetClient, tenant: string): Promise<PolicyIntent> {
  const list = async <T>(kind: KindName, scoped: boolean): Promise<T[]> => (await client.list<T>(kind, scoped ? { tenant } : {})).items;
  const [tenants, scopes, groups, networks, policies, globalPolicies, endpoints] = await Promise.all([
    list<PolicyIntent['tenants'][number]>('Tenant', false),
    list<PolicyIntent['scopes'][number]>('Scope', true),
    list<PolicyIntent['groups'][number]>('Group', true),
    list<PolicyIntent['networks'][number]>('Network', true),
    list<PolicyIntent['policies'][number]>('Policy', true),
    list<PolicyIntent['globalPolicies'][number]>('GlobalPolicy', false).catch((error: unknown) => {
      // Admin and baseline tiers decide flows too: a verdict without them would be a guess, so say why there is none.
      if (error instanceof ApiError && error.status === 403) {
        throw new IntentUnreadableError(
          `judging flows needs the GlobalPolicies (admin and baseline tiers), which this token may not read (${error.message}); ask an admin`,
        );
      }
      throw error;
    }),
    list<PolicyIntent['endpoints'][number]>('Endpoint', true),
  ]);
  // Hosts only matter to hostSelector peers (ClusterNetworkPolicy `nodes`); a token that may not read them gets no verdict then.
  let hosts: Host[] = [];
  if (usesHostPeers([...policies, ...globalPolicies])) {
    hosts = (
      await client.list<Host>('Host', {}).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 403) {
          throw new IntentUnreadableError(
            `a GlobalPolicy selects Hosts (hostSelector), and judging flows needs the Hosts, which this token may not read (${error.message}); ask an admin`,
          );
        }
        throw error;
      })
    ).items;
  }
  return { tenants, scopes, groups, networks, policies, globalPolicies, endpoints, hosts: hostPeers(hosts) };
}
