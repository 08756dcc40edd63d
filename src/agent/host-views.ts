/**
 * The host view of what the follower holds, built once per change (buildHostView is pure; views are
 * never modified by their users, so one view serves every reader until the follower changes).
 */
import { buildHostView, DEFAULT_OVERLAY_MTU, type HostView } from '../core/dataplane/host-view';
import type { Follower } from './follower';

export class HostViews {
  private cached?: { generation: number; view: HostView };
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
      this.cached = { generation, view: buildHostView(this.follower.list(), { ...this.host, overlayMtu: this.mtu }) };
    }
    return this.cached.view;
  }
}
