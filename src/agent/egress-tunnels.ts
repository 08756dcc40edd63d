/**
 * Egress addresses in the kernel (docs/external.md, "Egress address"; pure plan in
 * src/core/egress/egress-address.ts): the per-tenant VXLAN tunnels `tx<hash>` between the hosts where a
 * tenant has endpoints and the host that holds its egress address, the senders' policy routes into
 * them (`ip rule from <transit> iif tg<hash> lookup <table>`, a default route over the tunnel in that
 * table, and a permanent neighbour entry naming the holder's tunnel MAC). Every name and number comes
 * from the plan (derived names and validated addresses), never from user text.
 */
import fs from 'node:fs';
import {
  EGRESS_RULE_PRIORITY,
  EGRESS_TABLE_BASE,
  EGRESS_TUNNEL_GATEWAY,
  EGRESS_TUNNEL_PORT,
  EGRESS_TUNNEL_REGEX,
  type EgressAddressPlan,
  type EgressTunnel,
} from '../core/egress/egress-address';
import { parseIp } from '../core/net/ip';
import { ipBatch, ipJsonBatch } from '../kernel/ip';
import type { Log } from '../core/log';

interface LinkInfo {
  ifname?: string;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; remote?: string; local?: string; port?: number } };
}
interface RuleInfo {
  priority?: number;
  src?: string;
  iif?: string;
  table?: string | number;
}

const checked = (address: string): string => {
  if (parseIp(address)?.family !== 4) throw new Error(`refusing address "${address}" for an egress tunnel`);
  return address;
};

export class EgressTunnels {
  private applied?: string;

  constructor(private readonly log: Log) {}

  /** Makes the kernel match `plan` (tunnels, routes, neighbours, rules); a no-op when unchanged unless `full`. */
  async sync(plan: EgressAddressPlan, mtu: number, full: boolean): Promise<void> {
    const key = JSON.stringify([plan.tunnels, plan.underlayIP, plan.local, mtu]);
    if (key === this.applied && !full) return;
    this.applied = undefined;
    const [links] = await ipJsonBatch(['link show type vxlan'], { details: true });
    const present = new Map(
      (links as LinkInfo[]).filter((l) => EGRESS_TUNNEL_REGEX.test(l.ifname ?? '')).map((l) => [l.ifname!, l] as const),
    );
    const wanted = new Map(plan.tunnels.map((t) => [t.name, t]));
    const remove = [...present.keys()].filter((name) => {
      const t = wanted.get(name);
      return !t || !matches(present.get(name)!, t, plan.underlayIP);
    });
    if (remove.length > 0) {
      this.log('info', 'removing egress tunnels', { tunnels: remove });
      await ipBatch(
        remove.map((name) => `link del ${name}`),
        { force: true },
      );
    }
    const commands: string[] = [];
    for (const t of plan.tunnels) {
      if (!plan.underlayIP) break;
      if (!present.has(t.name) || remove.includes(t.name)) {
        this.log('info', 'creating egress tunnel', { tenant: t.tenant, tunnel: t.name, holder: t.sender?.remote ?? 'here' });
        const remote = t.sender ? ` remote ${checked(t.sender.remote)}` : '';
        commands.push(
          `link add ${t.name} type vxlan id ${t.vni} dstport ${EGRESS_TUNNEL_PORT} local ${checked(plan.underlayIP)}${remote} nolearning`,
        );
      }
      // The holder's device carries the MAC every sender's neighbour entry names: its frames are for it.
      if (!t.sender) commands.push(`link set ${t.name} address ${t.mac}`);
      commands.push(`link set ${t.name} mtu ${mtu} up`);
      if (t.sender) {
        commands.push(
          `route replace default via ${EGRESS_TUNNEL_GATEWAY} dev ${t.name} onlink table ${t.sender.table}`,
          `neigh replace ${EGRESS_TUNNEL_GATEWAY} lladdr ${t.mac} dev ${t.name} nud permanent`,
        );
      }
    }
    const made = await ipBatch(commands, { force: true });
    for (const t of plan.tunnels) {
      // The holder takes in packets from other hosts' underlay addresses by the tunnel: a strict
      // reverse-path filter would drop them (their way back is the underlay device).
      try {
        fs.writeFileSync(`/proc/sys/net/ipv4/conf/${t.name}/rp_filter`, '0');
      } catch {
        // the device failed to appear: reported below
      }
    }
    if (plan.tunnels.length > 0 || Object.keys(plan.local).length > 0) fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    const rules = await this.syncRules(plan.tunnels.filter((t) => t.sender));
    const failures = [...made.failures, ...rules.failures];
    if (failures.length > 0) throw new Error(failures.map((f) => `"${f.command}": ${f.message}`).join('; '));
    this.applied = key;
  }

  /** The senders' rules: exactly one `from <transit> iif <link> lookup <table>` per tunnel at our priority. */
  private async syncRules(senders: readonly EgressTunnel[]) {
    const [rules] = await ipJsonBatch(['rule show']);
    const ours = (rules as RuleInfo[]).filter((r) => {
      const table = Number(r.table);
      return r.priority === EGRESS_RULE_PRIORITY && table >= EGRESS_TABLE_BASE && table < EGRESS_TABLE_BASE + 2 ** 24;
    });
    const text = (src: string, iif: string, table: number) => `from ${src} iif ${iif} lookup ${table} priority ${EGRESS_RULE_PRIORITY}`;
    const wanted = new Set(senders.map((t) => text(checked(t.sender!.transitIP), t.sender!.hostLink, t.sender!.table)));
    const have = new Set(ours.map((r) => text(r.src ?? '', r.iif ?? '', Number(r.table))));
    return ipBatch(
      [
        ...[...have].filter((r) => !wanted.has(r)).map((r) => `rule del ${r}`),
        ...[...wanted].filter((r) => !have.has(r)).map((r) => `rule add ${r}`),
      ],
      { force: true },
    );
  }
}

/** Whether a present device is the tunnel wanted (same VNI, port, ends); else it is made again. */
function matches(link: LinkInfo, t: EgressTunnel, underlayIP: string | undefined): boolean {
  const data = link.linkinfo?.info_data ?? {};
  return (
    data.id === t.vni &&
    data.port === EGRESS_TUNNEL_PORT &&
    data.local === underlayIP &&
    (data.remote ?? undefined) === (t.sender?.remote ?? undefined) &&
    (t.sender !== undefined || link.address === t.mac)
  );
}
