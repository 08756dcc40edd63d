/**
 * A host's view (src/core/dataplane/host-view.ts) as compiler intent for one tenant: the endpoints
 * carry the addresses and, for local ones, the host-side interface the agent plumbed.
 */
import type { EndpointView, HostView, TenantView } from '../dataplane/host-view';
import type { Endpoint } from '../model/kinds/endpoint';
import type { PolicyIntent } from './intent';

/** The endpoint as the compiler sees it: its object with the addresses (and, when local, interface) of the view. */
export function policyEndpoint(e: EndpointView): Endpoint {
  return {
    ...e.object,
    spec: { ...e.object.spec },
    status: {
      ...(e.object.status ?? {}),
      ...(e.ipv4 ? { ipv4: e.ipv4 } : {}),
      ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
      ...(e.local && e.hostIfName ? { hostIfName: e.hostIfName } : {}),
    },
  };
}

/** The host-side interface a local endpoint's packets are dispatched by (none for remote ones). */
export function dispatchInterface(e: EndpointView): string | undefined {
  return e.local ? e.hostIfName : undefined;
}

export function intentFromView(view: HostView, tenant: TenantView, excluded?: string): PolicyIntent {
  return {
    tenants: [tenant.object],
    scopes: tenant.scopes,
    groups: tenant.groups,
    networks: tenant.networks.map((n) => n.object),
    policies: tenant.policies,
    globalPolicies: view.globalPolicies,
    endpoints: tenant.endpoints.filter((e) => e.name !== excluded).map(policyEndpoint),
    hosts: view.hosts.map((h) => ({ name: h.name, labels: h.labels, addresses: [h.underlayIP] })),
  };
}

/**
 * Everything of a tenant's view the compiled program depends on except its endpoints: equal keys
 * mean endpoint changes can be applied incrementally. Status and resource versions are left out
 * (a policy's hit counters change its status all the time; they change nothing it compiles to).
 */
export function policyIntentKey(view: HostView, tenant: TenantView): string {
  return [
    view.hostName,
    specKey(tenant.object),
    ...tenant.scopes.map(specKey),
    '|',
    ...tenant.groups.map(specKey),
    '|',
    ...tenant.networks.map((n) => specKey(n.object)),
    '|',
    ...tenant.policies.map(specKey),
    '|',
    ...view.globalPolicies.map(specKey),
    '|',
    // hostSelector peers compile to the selected hosts' addresses.
    ...view.hosts.map((h) => JSON.stringify([h.name, h.labels, h.underlayIP])),
  ].join('\n');
}

type Keyed = { metadata: { name: string; labels?: Record<string, string> }; spec: unknown };
const specKeys = new WeakMap<Keyed, string>();

/**
 * An object's name, labels and spec as text, once per object: the key is taken on every watch event
 * and attach, and objects are replaced, never changed, when they change.
 */
function specKey(object: Keyed): string {
  let key = specKeys.get(object);
  if (key === undefined) {
    key = JSON.stringify([object.metadata.name, object.metadata.labels ?? {}, object.spec]);
    specKeys.set(object, key);
  }
  return key;
}

const objectKeys = new WeakMap<Endpoint, string>();
/** Views are never changed once made (an agent asks for every endpoint's key on every attach). */
const viewKeys = new WeakMap<EndpointView, string>();

/** What of one endpoint the compiled program depends on: equal keys compile to the same elements and dispatch. */
export function policyEndpointKey(e: EndpointView): string {
  let viewKey = viewKeys.get(e);
  if (viewKey === undefined) {
    viewKey = `${objectKey(e.object)}|${e.ipv4 ?? ''}|${e.ipv6 ?? ''}|${dispatchInterface(e) ?? ''}`;
    viewKeys.set(e, viewKey);
  }
  return viewKey;
}

function objectKey(o: Endpoint): string {
  let key = objectKeys.get(o);
  if (key === undefined) {
    key = JSON.stringify([
      o.metadata.labels ?? {},
      o.spec.scope ?? null,
      o.spec.ports ?? [],
      o.spec.ips ?? [],
      o.status?.ipv4 ?? null,
      o.status?.ipv6 ?? null,
    ]);
    objectKeys.set(o, key);
  }
  return key;
}
