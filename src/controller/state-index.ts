/**
 * What the controller keeps in memory, followed from the store's watch so it stays right when
 * another controller writes the same store: addresses in use per network (for cheap IPAM
 * proposals), VNIs in use, and object counts per kind (metrics). Nothing here is trusted for
 * correctness: every allocation is still a compare-and-swap in the store.
 */
import type { Store, Watcher, StoreEvent } from '../store/store';
import { IPAM_PREFIX, OBJECTS_PREFIX, VNI_PREFIX, parseIpamKey, parseObjectKey } from '../store/keys';
import { NetworkPool, addressPlanKey } from '../core/ipam/network-pool';
import { VniPool } from '../core/ipam/vni-pool';
import type { Network } from '../core/model/kinds/network';
import type { KindName } from '../core/model/registry';

interface PoolEntry {
  plan: string;
  /** resourceVersion of the network the plan was read from: the same version needs no new plan. */
  version?: string;
  pool: NetworkPool;
}

export class StateIndex {
  private readonly used = new Map<string, Set<string>>();
  private readonly pools = new Map<string, PoolEntry>();
  private readonly networks = new Map<string, Network>();
  readonly vnis = new VniPool();
  private readonly counts = new Map<KindName, number>();
  private watchers: Watcher[] = [];
  private stopped = false;

  constructor(private readonly store: Store) {}

  async start(): Promise<void> {
    await this.follow(
      IPAM_PREFIX,
      (kv) => this.onIpam('put', kv.key),
      (event) => this.onIpam(event.type, event.key),
    );
    await this.follow(
      VNI_PREFIX,
      (kv) => this.onVni('put', kv.key, kv.value),
      (event) => this.onVni(event.type, event.key, event.value),
    );
    await this.follow(
      OBJECTS_PREFIX,
      (kv) => this.onObject('put', kv.key, kv.value),
      (event) => this.onObject(event.type, event.key, event.value),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const watcher of this.watchers) watcher.cancel();
    this.watchers = [];
  }

  /** The address pool of a network as read just now by the caller (rebuilt when its address plan changed). */
  pool(network: Network): NetworkPool {
    const id = netId(network.metadata.tenant ?? '', network.metadata.name);
    const version = network.metadata.resourceVersion;
    const cached = this.pools.get(id);
    if (cached && version !== undefined && cached.version === version) return cached.pool;
    const plan = addressPlanKey(network.spec);
    if (cached && cached.plan === plan) {
      cached.version = version;
      return cached.pool;
    }
    const pool = new NetworkPool(network.spec);
    for (const ip of this.used.get(id) ?? []) pool.markUsed(ip);
    this.pools.set(id, { plan, version, pool });
    return pool;
  }

  countOf(kind: KindName): number {
    return this.counts.get(kind) ?? 0;
  }

  knownNetworks(): Network[] {
    return [...this.networks.values()];
  }

  private async follow(prefix: string, onItem: (kv: { key: string; value: string }) => void, onEvent: (event: StoreEvent) => void) {
    const listed = await this.store.range(prefix);
    for (const kv of listed.items) onItem(kv);
    const watcher = await this.store.watch(prefix, listed.revision, {
      onEvents: (events) => {
        for (const event of events) onEvent(event);
      },
      onError: () => {
        // Fell behind or lost the store: nothing to do in-process but stop trusting; the store's CAS still guards.
        if (!this.stopped) setTimeout(() => void this.resync(prefix, onItem, onEvent), 1000).unref();
      },
    });
    this.watchers.push(watcher);
  }

  private async resync(prefix: string, onItem: (kv: { key: string; value: string }) => void, onEvent: (event: StoreEvent) => void) {
    if (this.stopped) return;
    if (prefix === IPAM_PREFIX) {
      this.used.clear();
      this.pools.clear();
    }
    if (prefix === VNI_PREFIX) this.retired.clear();
    if (prefix === OBJECTS_PREFIX) {
      this.counts.clear();
      this.networks.clear();
    }
    try {
      await this.follow(prefix, onItem, onEvent);
    } catch {
      if (!this.stopped) setTimeout(() => void this.resync(prefix, onItem, onEvent), 1000).unref();
    }
  }

  private onIpam(type: 'put' | 'delete', key: string): void {
    const parsed = parseIpamKey(key);
    if (!parsed) return;
    const id = netId(parsed.tenant, parsed.network);
    let set = this.used.get(id);
    if (type === 'put') {
      if (!set) this.used.set(id, (set = new Set()));
      set.add(parsed.ip);
      this.pools.get(id)?.pool.markUsed(parsed.ip);
    } else {
      set?.delete(parsed.ip);
      if (set && set.size === 0) this.used.delete(id);
      this.pools.get(id)?.pool.release(parsed.ip);
    }
  }

  private onVni(type: 'put' | 'delete', key: string, value: string | undefined): void {
    const vni = Number(key.slice(VNI_PREFIX.length));
    if (!Number.isInteger(vni)) return;
    // A retired VNI (its deleted tenant's record, vni-retirement.ts) stays used: that is the point.
    if (type === 'put') this.vnis.markUsed(vni);
    else this.vnis.release(vni);
    if (type === 'put' && value?.startsWith('{')) this.retired.add(vni);
    else this.retired.delete(vni);
  }

  /** VNIs of deleted tenants that some host has not confirmed dropping yet. */
  readonly retired = new Set<number>();

  private onObject(type: 'put' | 'delete', key: string, value: string): void {
    const ref = parseObjectKey(key);
    if (!ref) return;
    const id = netId(ref.tenant, ref.name);
    if (ref.kind === 'Network') {
      if (type === 'put') {
        try {
          this.networks.set(id, JSON.parse(value) as Network);
        } catch {
          // an unreadable value is the writer's bug; metrics just skip it
        }
      } else {
        this.networks.delete(id);
        this.pools.delete(id);
      }
    }
    // Counts follow creates and deletes; a put that is not a create leaves the count alone.
    if (type === 'delete') this.counts.set(ref.kind, Math.max(0, (this.counts.get(ref.kind) ?? 0) - 1));
    else if (!this.seen.has(key)) this.counts.set(ref.kind, (this.counts.get(ref.kind) ?? 0) + 1);
    if (type === 'delete') this.seen.delete(key);
    else this.seen.add(key);
  }

  private readonly seen = new Set<string>();
}

export function netId(tenant: string, network: string): string {
  return `${tenant}/${network}`;
}
