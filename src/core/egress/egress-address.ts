/**
 * A tenant's own egress address (docs/external.md, "Egress address"; the Antrea Egress / OpenShift
 * EgressIP anchor). Pure.
 *
 * The operator names the address (Tenant spec.egress.address, from a BGP FloatingIPPool, unique
 * cluster-wide) and the host that holds it (spec.egress.host). The tenant's connections from every
 * host leave through the holder, source-translated to the address there:
 * - on the holder, the tenant's transit address is SNATed to the egress address instead of masqueraded;
 * - on any other host, the tenant's transit traffic is policy-routed (`from <transit> iif tg<hash>`) into
 *   a per-tenant VXLAN tunnel `tx<hash>` (UDP 4790, the tenant's VNI; not the overlay's 4789) to the
 *   holder, source-translated first to the sending host's underlay address: that host's connection
 *   tracking keeps the tuples of all its tenants distinct, so the holder never sees two flows alike;
 * - the holder's `tx<hash>` (MAC derived from the tenant, which the senders' static neighbour entry
 *   names) takes the frames in; the holder SNATs what arrives by it to the tenant's egress address;
 * - replies come to the holder (it announces the address over BGP), are un-NATed to the sender's
 *   underlay address and routed to it directly over the underlay, where its own conntrack un-NATs them
 *   to the transit address and the tenant's router namespace to the endpoint.
 */
import { createHash } from 'node:crypto';
import type { HostView } from '../dataplane/host-view';
import { deterministicMac } from '../dataplane/names';
import type { EgressTransit } from './egress';

/** The egress tunnels' UDP port: not the overlay's (4789), whose sockets hold the tenants' VNIs. */
export const EGRESS_TUNNEL_PORT = 4790;
/** `tx` + 12 hex digits (14 characters: within IFNAMSIZ). */
export const EGRESS_TUNNEL_REGEX = /^tx[0-9a-f]{12}$/;
/** The next hop senders route to over a tunnel (a static neighbour entry names the holder's MAC). */
export const EGRESS_TUNNEL_GATEWAY = '169.254.1.1';
/** Routing tables of the senders' policy routes: this base + VNI (VNIs are < 2^24). */
export const EGRESS_TABLE_BASE = 0x10000000;
/** Priority of the senders' `ip rule`s: after the local table (0), before main (32766). */
export const EGRESS_RULE_PRIORITY = 1000;

export function egressTunnelName(tenant: { name: string; uid: string }): string {
  return `tx${createHash('sha256').update(`egress|${tenant.name}|${tenant.uid}`).digest('hex').slice(0, 12)}`;
}

/** The holder's tunnel MAC, which every sender computes alike for its neighbour entry. */
export function egressTunnelMac(tenant: { name: string; uid: string }): string {
  return deterministicMac(`egress-tunnel|${tenant.name}|${tenant.uid}`);
}

/** One tenant's egress tunnel device on this host: the holder's end (no remote) or a sender's. */
export interface EgressTunnel {
  tenant: string;
  name: string;
  vni: number;
  /** The holder's tunnel MAC (the device's own on the holder; the neighbour entry's on a sender). */
  mac: string;
  /** The egress address the holder translates to. */
  address: string;
  /** Sender only: the holder's underlay address, the routing table, and what the rule selects. */
  sender?: { remote: string; table: number; transitIP: string; hostLink: string };
}

/** The host's part of the tenants' egress addresses: tunnels, and what its table translates. */
export interface EgressAddressPlan {
  tunnels: EgressTunnel[];
  /** Holder: egress addresses held here (announced; new connections to them dropped). */
  held: string[];
  /** Holder: transit address of a local tenant -> its egress address. */
  local: Record<string, string>;
  /** Transit addresses of tenants whose egress host is unknown: dropped rather than leaving by another address. */
  blocked: string[];
  /** This host's underlay address (what senders translate to before the tunnel). */
  underlayIP?: string;
}

export function egressAddressPlan(view: HostView, transits: readonly EgressTransit[]): EgressAddressPlan {
  const tunnels: EgressTunnel[] = [];
  const local: Record<string, string> = {};
  const blocked: string[] = [];
  const held = view.egressHeld;
  for (const h of held) {
    const ids = { name: h.tenant, uid: h.uid };
    tunnels.push({ tenant: h.tenant, name: egressTunnelName(ids), vni: h.vni, mac: egressTunnelMac(ids), address: h.address });
  }
  for (const transit of transits) {
    const tenant = view.tenants.find((t) => t.name === transit.tenant);
    const egress = tenant?.object.spec.egress;
    if (!tenant || tenant.vni === undefined || !egress?.address || !egress.host) continue;
    if (egress.host === view.hostName) {
      local[transit.transitIP] = egress.address;
      continue;
    }
    const holder = view.hosts.find((h) => h.name === egress.host);
    if (!holder || !view.underlayIP) {
      blocked.push(transit.transitIP);
      continue;
    }
    const ids = { name: tenant.name, uid: tenant.uid };
    tunnels.push({
      tenant: tenant.name,
      name: egressTunnelName(ids),
      vni: tenant.vni,
      mac: egressTunnelMac(ids),
      address: egress.address,
      sender: {
        remote: holder.underlayIP,
        table: EGRESS_TABLE_BASE + tenant.vni,
        transitIP: transit.transitIP,
        hostLink: transit.hostLink,
      },
    });
  }
  return {
    tunnels: tunnels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    held: [...new Set(held.map((h) => h.address))].sort(),
    local,
    blocked: blocked.sort(),
    underlayIP: view.underlayIP,
  };
}
