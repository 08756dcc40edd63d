import type { TSchema } from '@sinclair/typebox';
import { Tenant } from './kinds/tenant';
import { Network } from './kinds/network';
import { Group } from './kinds/group';
import { GlobalPolicy, Policy } from './kinds/policy';
import { Scope } from './kinds/scope';
import { Service } from './kinds/service';
import { Endpoint } from './kinds/endpoint';
import { Host } from './kinds/host';
import { FloatingIP, FloatingIPPool } from './kinds/floating-ip';

export type KindName =
  'Tenant' | 'Network' | 'Group' | 'Scope' | 'Policy' | 'GlobalPolicy' | 'Service' | 'Endpoint' | 'Host' | 'FloatingIPPool' | 'FloatingIP';

export interface KindInfo {
  kind: KindName;
  /** URL segment and CLI plural: /api/v1/{plural}. */
  plural: string;
  /** CLI aliases (`tenet get net`). */
  aliases: string[];
  /** Tenant-scoped kinds carry metadata.tenant. */
  tenantScoped: boolean;
  /** Intent is what operators write and `export` writes back; runtime objects (endpoints, hosts) are not. */
  intent: boolean;
  schema: TSchema;
}

/** Order matters: it is the order in which apply creates and export writes (dependencies first). */
export const KINDS: readonly KindInfo[] = [
  { kind: 'Tenant', plural: 'tenants', aliases: ['tenant', 'tenants', 'tn'], tenantScoped: false, intent: true, schema: Tenant },
  {
    kind: 'Network',
    plural: 'networks',
    aliases: ['network', 'networks', 'net', 'nets'],
    tenantScoped: true,
    intent: true,
    schema: Network,
  },
  { kind: 'Scope', plural: 'scopes', aliases: ['scope', 'scopes'], tenantScoped: true, intent: true, schema: Scope },
  { kind: 'Group', plural: 'groups', aliases: ['group', 'groups', 'grp'], tenantScoped: true, intent: true, schema: Group },
  { kind: 'Policy', plural: 'policies', aliases: ['policy', 'policies', 'pol'], tenantScoped: true, intent: true, schema: Policy },
  {
    kind: 'GlobalPolicy',
    plural: 'globalpolicies',
    aliases: ['globalpolicy', 'globalpolicies', 'gpol'],
    tenantScoped: false,
    intent: true,
    schema: GlobalPolicy,
  },
  { kind: 'Service', plural: 'services', aliases: ['service', 'services', 'svc'], tenantScoped: true, intent: true, schema: Service },
  {
    kind: 'Endpoint',
    plural: 'endpoints',
    aliases: ['endpoint', 'endpoints', 'ep', 'eps'],
    tenantScoped: true,
    intent: false,
    schema: Endpoint,
  },
  { kind: 'Host', plural: 'hosts', aliases: ['host', 'hosts'], tenantScoped: false, intent: false, schema: Host },
  {
    kind: 'FloatingIPPool',
    plural: 'floatingippools',
    aliases: ['floatingippool', 'floatingippools', 'fippool', 'fippools'],
    tenantScoped: false,
    intent: true,
    schema: FloatingIPPool,
  },
  {
    kind: 'FloatingIP',
    plural: 'floatingips',
    aliases: ['floatingip', 'floatingips', 'fip', 'fips', 'float'],
    tenantScoped: true,
    intent: true,
    schema: FloatingIP,
  },
];

const byKind = new Map<string, KindInfo>(KINDS.map((k) => [k.kind, k]));
const byAlias = new Map<string, KindInfo>();
for (const info of KINDS) {
  byAlias.set(info.kind.toLowerCase(), info);
  for (const alias of info.aliases) byAlias.set(alias, info);
}

const order = new Map<string, number>(KINDS.map((k, i) => [k.kind, i]));

/** A kind's place in dependency order (the registry's); unknown kinds after every known one. */
export function kindOrder(kind: string): number {
  return order.get(kind) ?? KINDS.length;
}

export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

/** Resolves what a user typed (`networks`, `net`, `Network`) to a kind. */
export function resolveKind(text: string): KindInfo | undefined {
  return byKind.get(text) ?? byAlias.get(text.toLowerCase());
}

export function kindByPlural(plural: string): KindInfo | undefined {
  return KINDS.find((k) => k.plural === plural);
}
