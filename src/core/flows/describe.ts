/**
 * The words for a flow record that `tenet flows` prints and the console's Flows view shows: one
 * wording in both places, so a record reads the same wherever it is seen. Pure.
 */
import type { FlowPeer, FlowRecord, FlowRule } from './record-types';

/** `web-1@h1:40000`, or the address when the peer is no endpoint of the tenant. */
export function peerText(peer: FlowPeer): string {
  const who = peer.endpoint ? `${peer.endpoint}${peer.host ? `@${peer.host}` : ''}` : peer.address;
  return peer.port !== undefined ? `${who}:${peer.port}` : who;
}

/** The deciding rule of one side: its direction, tier, policy, rule number and name, and action. */
export function ruleText(rule: FlowRule | undefined): string {
  if (!rule) return '';
  if (rule.tier === 'default') return `${rule.direction}: tenant default (${rule.action})`;
  if (rule.action === 'isolate') return `${rule.direction}: tenant isolation${rule.policy ? ` (${rule.policy})` : ''}`;
  return `${rule.direction}: ${rule.tier} ${rule.policy ?? ''} rule ${rule.rule ?? '?'}${rule.ruleName ? ` "${rule.ruleName}"` : ''} (${rule.action})`;
}

/** Every deciding rule of a record: the kernel's for deny and log records, each side's for allowed flows. */
export function rulesText(r: FlowRecord): string {
  return r.rule ? ruleText(r.rule) : [ruleText(r.egress), ruleText(r.ingress)].filter(Boolean).join('; ');
}

export function verdictWord(r: FlowRecord): 'DENIED' | 'LOGGED' | 'ALLOWED' | 'ENDED' {
  return r.type === 'deny' ? 'DENIED' : r.type === 'log' ? 'LOGGED' : r.type === 'flow-start' ? 'ALLOWED' : 'ENDED';
}

/** ` via service NAME:PORT` when the packet was translated to a backend, else empty. */
export function serviceText(r: FlowRecord): string {
  return r.service ? `${r.service.name ?? r.service.address}${r.service.port ? `:${r.service.port}` : ''}` : '';
}

/** Packets and bytes both ways (flow-end records), else empty. */
export function countsText(r: FlowRecord): string {
  return r.packets && r.bytes ? `${r.packets.forward}/${r.packets.reply} pkts ${r.bytes.forward}/${r.bytes.reply} bytes` : '';
}
