/**
 * The host view of what the follower holds, made once per change (views are never modified by their
 * users, so one view serves every reader until the follower changes). A change of tenants' objects
 * updates the last view (HostViewCache: those tenants' views only), anything else makes it again.
 */
import { DEFAULT_OVERLAY_MTU, type HostView } from '../core/dataplane/host-view';
import { HostViewCache } from '../core/dataplane/host-view-cache';
import type { Follower } from './follower';

export class HostViews {
  private cached?: { generation: number; view: HostView };
  private readonly cache = new HostViewCache();
  /** Container and VXLAN MTU, from the underlay device's (the agent sets it at start). */
  private mtu = DEFAULT_OVERLAY_MTU;

  constructor(
    private readonly follower: Follower,
    private readonly host: { hostName: string; netnsPrefix: string; underlayIP: string; underlayIPv6?: string },
  ) {}

  /** The IPv6 underlay address the agent found at start: views built before are dropped. */
  set underlayIPv6(address: string | undefined) {
    this.host.underlayIPv6 = address;
    this.cached = undefined;
  }

  get overlayMtu(): number {
    return this.mtu;
  }

  /** Every view depends on it: views built before are dropped. */
  set overlayMtu(mtu: number) {
    this.mtu = mtu;
    this.cached = undefined;
  }

  view(): HostView {
    const generation = this.follower.generation;
    if (this.cached?.generation !== generation) {
      const options = { ...this.host, overlayMtu: this.mtu };
      const changes = this.cached && this.follower.changedSince(this.cached.generation);
      const view =
        (changes &&
          this.cache.update(
            changes.map((c) => ({ ...c, object: this.follower.get(c.kind, c.tenant, c.name) })),
            options,
          )) ??
        this.cache.full(this.follower.list(), options);
      this.cached = { generation, view };
    }
    return this.cached.view;
  }
}
