/**
 * A host view kept up to date change by change. The agent's view is read on every watch event; made
 * again from every object (buildHostView) it cost a pass of every object and a sort of every tenant's
 * services — milliseconds per event with 10,000 services, whatever changed. Here a change of a
 * tenant's object makes that tenant's view again from lists kept in name order (the changed object
 * put in place by a binary search), and every other tenant's view is the very same object as before;
 * a change of a Host, GlobalPolicy or FloatingIPPool (every host's heartbeat) makes no tenant's view
 * again, a Tenant's change that tenant's only. Pure: equal to buildHostView of the same objects.
 */
import type { Tenant } from '../model/kinds/tenant';
import type { Host } from '../model/kinds/host';
import type { GlobalPolicy } from '../model/kinds/policy';
import type { FloatingIPPool } from '../model/kinds/floating-ip';
import type { TenetObject } from '../model/object';
import {
  assembleHostView,
  buildHostView,
  buildTenantView,
  byName,
  TENANT_FIELD,
  type HostView,
  type HostViewOptions,
  type TenantObjects,
  type TenantView,
} from './host-view';

/** One changed object: what it is now (undefined: gone). */
export interface ObjectChange {
  kind: TenetObject['kind'];
  tenant?: string;
  name: string;
  object: TenetObject | undefined;
}

type Named = { metadata: { name: string } };

/** More changed names than this in one list: sorted whole. */
const INSERT_LIMIT = 64;

/** `sorted` without the objects named in `changed`, with their current versions put in place (name order). */
function resorted<T extends Named>(sorted: readonly T[], changed: ReadonlySet<string>, current: ReadonlyMap<string, T>): T[] {
  if (changed.size > INSERT_LIMIT) return [...current.values()].sort(byName);
  const out = sorted.filter((o) => !changed.has(o.metadata.name));
  for (const name of changed) {
    const object = current.get(name);
    if (!object) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byName(out[mid], object) <= 0) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, object);
  }
  return out;
}

type Field = keyof TenantObjects;

/** A tenant's objects by kind: by name, and in name order. */
class Bucket {
  readonly byName = new Map<Field, Map<string, TenetObject>>();
  sorted: TenantObjects = { networks: [], scopes: [], groups: [], policies: [], services: [], floatingIPs: [], endpoints: [] };

  of(field: Field): Map<string, TenetObject> {
    let objects = this.byName.get(field);
    if (!objects) this.byName.set(field, (objects = new Map()));
    return objects;
  }
}

/** The objects of no tenant, by name. */
interface Cluster {
  tenants: Map<string, Tenant>;
  hosts: Map<string, Host>;
  globalPolicies: Map<string, GlobalPolicy>;
  pools: Map<string, FloatingIPPool>;
}

const CLUSTER_FIELD: Partial<Record<TenetObject['kind'], keyof Cluster>> = {
  Tenant: 'tenants',
  Host: 'hosts',
  GlobalPolicy: 'globalPolicies',
  FloatingIPPool: 'pools',
};

export class HostViewCache {
  private view?: HostView;
  private options?: HostViewOptions;
  private readonly cluster: Cluster = { tenants: new Map(), hosts: new Map(), globalPolicies: new Map(), pools: new Map() };
  /** Every tenant name of a Tenant object, in the order the view lists tenants. */
  private tenantOrder: string[] = [];
  private readonly buckets = new Map<string, Bucket>();
  private readonly tenantViews = new Map<string, TenantView>();

  /** The view made from every object (and remembered, with the lists updates start from). */
  full(objects: readonly TenetObject[], options: HostViewOptions): HostView {
    const view = buildHostView(objects, options);
    this.buckets.clear();
    this.tenantViews.clear();
    for (const map of Object.values(this.cluster) as Map<string, TenetObject>[]) map.clear();
    for (const object of objects) {
      const field = TENANT_FIELD[object.kind];
      const cluster = CLUSTER_FIELD[object.kind];
      if (field)
        this.bucket(object.metadata.tenant ?? '')
          .of(field)
          .set(object.metadata.name, object);
      else if (cluster) (this.cluster[cluster] as Map<string, TenetObject>).set(object.metadata.name, object);
    }
    for (const bucket of this.buckets.values())
      for (const [field, objects] of bucket.byName) (bucket.sorted[field] as TenetObject[]) = [...objects.values()].sort(byName);
    for (const tenant of view.tenants) this.tenantViews.set(tenant.name, tenant);
    this.tenantOrder = [...this.cluster.tenants.keys()].sort((a, b) => a.localeCompare(b));
    this.view = view;
    this.options = options;
    return view;
  }

  /**
   * The view after `changes` (each object as it is now), made from the last one; undefined when a full
   * build is needed (none yet, other options, a kind it does not know).
   */
  update(changes: readonly ObjectChange[], options: HostViewOptions): HostView | undefined {
    const last = this.view;
    if (!last || !sameOptions(this.options, options)) return undefined;
    if (changes.some((c) => TENANT_FIELD[c.kind] === undefined && CLUSTER_FIELD[c.kind] === undefined)) return undefined;
    if (changes.length === 0) return last;
    /** Tenant → the kinds (and names) of its objects that changed; an empty map: only its Tenant object. */
    const touched = new Map<string, Map<Field, Set<string>>>();
    const touch = (tenant: string): Map<Field, Set<string>> => {
      let fields = touched.get(tenant);
      if (!fields) touched.set(tenant, (fields = new Map()));
      return fields;
    };
    let tenantsChanged = false;
    for (const change of changes) {
      const cluster = CLUSTER_FIELD[change.kind];
      if (cluster) {
        const map = this.cluster[cluster] as Map<string, TenetObject>;
        if (change.object) map.set(change.name, change.object);
        else map.delete(change.name);
        // A tenant's view is made from its Tenant object: that tenant only.
        if (cluster === 'tenants') {
          tenantsChanged = true;
          touch(change.name);
        }
        continue;
      }
      const field = TENANT_FIELD[change.kind]!;
      const tenant = change.tenant ?? '';
      const objects = this.bucket(tenant).of(field);
      if (change.object) objects.set(change.name, change.object);
      else objects.delete(change.name);
      const fields = touch(tenant);
      let names = fields.get(field);
      if (!names) fields.set(field, (names = new Set()));
      names.add(change.name);
    }
    if (tenantsChanged) this.tenantOrder = [...this.cluster.tenants.keys()].sort((a, b) => a.localeCompare(b));
    for (const [tenant, fields] of touched) {
      const bucket = this.bucket(tenant);
      const sorted = { ...bucket.sorted };
      for (const [field, names] of fields) (sorted[field] as Named[]) = resorted(sorted[field] as Named[], names, bucket.of(field));
      bucket.sorted = sorted;
      const object = this.cluster.tenants.get(tenant);
      const view = object && buildTenantView(object, sorted, options, true);
      if (view) this.tenantViews.set(tenant, view);
      else this.tenantViews.delete(tenant);
    }
    const tenantViews = this.tenantOrder.flatMap((name) => this.tenantViews.get(name) ?? []);
    const { tenants, hosts, globalPolicies, pools } = this.cluster;
    this.view = assembleHostView(
      tenantViews,
      {
        tenants: [...tenants.values()],
        hosts: [...hosts.values()],
        globalPolicies: [...globalPolicies.values()],
        pools: [...pools.values()],
      },
      options,
    );
    return this.view;
  }

  private bucket(tenant: string): Bucket {
    let bucket = this.buckets.get(tenant);
    if (!bucket) this.buckets.set(tenant, (bucket = new Bucket()));
    return bucket;
  }
}

function sameOptions(a: HostViewOptions | undefined, b: HostViewOptions): boolean {
  return (
    a !== undefined &&
    a.hostName === b.hostName &&
    a.netnsPrefix === b.netnsPrefix &&
    a.underlayIP === b.underlayIP &&
    a.underlayIPv6 === b.underlayIPv6 &&
    a.overlayMtu === b.overlayMtu
  );
}
