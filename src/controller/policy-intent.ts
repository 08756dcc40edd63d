/**
 * The whole policy intent of one tenant read from the store — GlobalPolicies and Hosts included,
 * which tenant roles may not read themselves — for the questions the controller answers about it
 * (explain, the policy matrix). Answers to tenant roles leave out what names a GlobalPolicy
 * (core/policy/matrix.ts, redact*).
 */
import type { Store } from '../store/store';
import { objectPrefix } from '../store/keys';
import type { ObjectOf } from '../core/model/object';
import type { KindName } from '../core/model/registry';
import { hostPeers, type PolicyIntent } from '../core/policy/intent';
import { decodeObject } from './object-codec';

export async function readPolicyIntent(store: Store, tenant: string): Promise<PolicyIntent> {
  const read = async <K extends KindName>(kind: K, scoped?: string): Promise<ObjectOf<K>[]> =>
    (await store.range(objectPrefix(kind, scoped))).items.map((kv) => decodeObject(kv) as ObjectOf<K>);
  const [tenants, globalPolicies, hosts, scopes, groups, networks, policies, endpoints] = await Promise.all([
    read('Tenant'),
    read('GlobalPolicy'),
    read('Host'),
    read('Scope', tenant),
    read('Group', tenant),
    read('Network', tenant),
    read('Policy', tenant),
    read('Endpoint', tenant),
  ]);
  return { tenants, scopes, groups, networks, policies, globalPolicies, endpoints, hosts: hostPeers(hosts) };
}
