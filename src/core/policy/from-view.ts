/**
 * A host's view (src/core/dataplane/host-view.ts) as compiler intent for one tenant: the endpoints
 * carry the addresses and, for local ones, the host-side interface the agent plumbed.
 */
import type { HostView, TenantView as HostTenantView } from '../dataplane/host-view';
import type { Endpoint } from '../model/kinds/endpoint';
import { compileProgram } from './compile';
import type { PolicyIntent } from './intent';
import type { NftProgram } from './program';

export function intentFromView(view: HostView, tenant: HostTenantView): PolicyIntent {
  const endpoints: Endpoint[] = tenant.endpoints.map((e) => ({
    ...e.object,
    spec: { ...e.object.spec },
    status: {
      ...(e.object.status ?? {}),
      ...(e.ipv4 ? { ipv4: e.ipv4 } : {}),
      ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
      ...(e.local && e.hostIfName ? { hostIfName: e.hostIfName } : {}),
    },
  }));
  return {
    tenants: [tenant.object],
    scopes: tenant.scopes,
    groups: tenant.groups,
    networks: tenant.networks.map((n) => n.object),
    policies: tenant.policies,
    globalPolicies: view.globalPolicies,
    endpoints,
  };
}

/** The program for one tenant router namespace on this host. */
export function programFromView(view: HostView, tenant: HostTenantView): NftProgram {
  const local = new Map(tenant.endpoints.filter((e) => e.local && e.hostIfName).map((e) => [e.name, e.hostIfName!]));
  return compileProgram(intentFromView(view, tenant), tenant.name, { host: view.hostName, interfaceOf: (e) => local.get(e.metadata.name) });
}
