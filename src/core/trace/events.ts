/**
 * The kernel's own trace of a packet, as `nft monitor` prints it (nft 1.0 has no JSON for trace
 * events), turned into the base chains the packet went through and what each decided. Pure: lines in,
 * hooks out; the rule names come from the namespace's compiled program (the rules' comments are the
 * compiler's `tier:policy:direction:index`, the same ids the hit counters and flow records use).
 *
 *   trace id 6c1f... inet tenet egress packet: iif "v-web" oif "tvx100" ip saddr 10.0.0.2 ... tcp dport 80 ...
 *   trace id 6c1f... inet tenet e_4a7c rule ip daddr @... tcp dport 80 counter ... accept comment "tenant:web:egress:0" (verdict accept)
 *   trace id 6c1f... inet tenet egress policy accept
 *
 * The kernel dumps the packet once per base chain it enters, so each `packet:` line opens one hook.
 */
import { canonicalIp } from '../net/ip';
import type { NftProgram, RuleOrigin } from '../policy/program';
import { TRACE_TABLE_PREFIX } from './job';

export interface TraceLine {
  id: string;
  family: string;
  table: string;
  chain: string;
  kind: 'packet' | 'rule' | 'policy' | 'other';
  /** The rule as the kernel lists it (rule lines), or the rest of the line. */
  text: string;
  /** accept, drop, continue, jump X, goto X, return, ... */
  verdict?: string;
  comment?: string;
  packet?: PacketFields;
}

export interface PacketFields {
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  sport?: number;
  dport?: number;
  protocol?: string;
}

const LINE =
  /^trace id ([0-9a-f]{1,16}) (ip|ip6|inet|arp|bridge|netdev) ([A-Za-z0-9_.-]{1,64}) ([A-Za-z0-9_.-]{1,64}) (packet:|rule|policy|verdict|unknown)\s?(.*)$/;
const VERDICT = /\s*\(verdict ([a-z]+(?: [A-Za-z0-9_.-]{1,64})?)\)\s*$/;
const COMMENT = /comment "((?:[^"\\]|\\.){0,256})"/;
/** The content fingerprint the agent appends to a chain's last rule comment (src/core/policy/render.ts). */
const FINGERPRINT = / fp=[0-9a-f]{16}$/;

export function parsePacketFields(text: string): PacketFields {
  const out: PacketFields = {};
  const word = (re: RegExp): string | undefined => re.exec(text)?.[1];
  const iif = word(/(?:^| )iif "([^"]{1,15})"/);
  const oif = word(/(?:^| )oif "([^"]{1,15})"/);
  if (iif) out.iif = iif;
  if (oif) out.oif = oif;
  const saddr = word(/ip6? saddr ([0-9a-fA-F.:]{2,45})/);
  const daddr = word(/ip6? daddr ([0-9a-fA-F.:]{2,45})/);
  if (saddr) out.saddr = canonicalIp(saddr) ?? saddr;
  if (daddr) out.daddr = canonicalIp(daddr) ?? daddr;
  const ports = /(tcp|udp|sctp) sport ([0-9]{1,5}) \1 dport ([0-9]{1,5})/.exec(text);
  if (ports) {
    out.protocol = ports[1];
    out.sport = Number(ports[2]);
    out.dport = Number(ports[3]);
  } else {
    const proto = word(/(?:ip protocol|ip6 nexthdr) ([a-z0-9-]{1,16})/);
    if (proto) out.protocol = proto === 'ipv6-icmp' ? 'icmpv6' : proto;
  }
  return out;
}

/** One line of `nft monitor` output; undefined for anything that is not a trace event. */
export function parseTraceLine(line: string): TraceLine | undefined {
  const m = LINE.exec(line.trimEnd());
  if (!m) return undefined;
  const [, id, family, table, chain, kindWord, rest] = m;
  const kind = kindWord === 'packet:' ? 'packet' : kindWord === 'rule' ? 'rule' : kindWord === 'policy' ? 'policy' : 'other';
  const out: TraceLine = { id, family, table, chain, kind, text: rest.trim() };
  if (kind === 'packet') {
    out.packet = parsePacketFields(rest);
    return out;
  }
  if (kind === 'policy') {
    out.verdict = rest.trim().split(/\s+/)[0];
    return out;
  }
  const verdict = VERDICT.exec(rest);
  if (verdict) {
    out.verdict = verdict[1];
    out.text = rest.slice(0, verdict.index).trim();
  } else if (kind === 'other') out.verdict = rest.trim().split(/\s+/)[0];
  const comment = COMMENT.exec(out.text);
  if (comment) out.comment = comment[1].replace(FINGERPRINT, '');
  return out;
}

/** A rule the packet matched in one hook. */
export interface TraceRule {
  chain: string;
  text: string;
  verdict: string;
  comment?: string;
  /** What the compiler says the rule is (tier, policy, rule index, action), from the namespace's program. */
  origin?: RuleOrigin;
}

/** One base chain the packet went through, in order. */
export interface TraceHook {
  table: string;
  chain: string;
  /** The base chain's hook, from the namespace's program when Tenet made it. */
  hook?: string;
  packet: PacketFields;
  rules: TraceRule[];
  /** How the base chain ended: accept, drop (a rule or the chain's policy), or what the kernel said. */
  verdict: string;
  /** The rule that gave the verdict; absent when the chain's policy did. */
  decidedBy?: TraceRule;
}

/** Bounds on what one host reports (a looping or flooding trace cannot grow a report without end). */
export const MAX_HOOKS = 48;
export const MAX_RULES_PER_HOOK = 48;
export const MAX_TEXT = 400;

/** The trace ids whose events went through this job's own table (the tracer marks nothing else). */
export function traceIdsOf(lines: readonly TraceLine[], table: string): string[] {
  const ids: string[] = [];
  for (const l of lines) if (l.table === table && !ids.includes(l.id)) ids.push(l.id);
  return ids;
}

function originIndex(program: NftProgram | undefined): Map<string, RuleOrigin> {
  const index = new Map<string, RuleOrigin>();
  for (const chain of program?.chains ?? [])
    for (const rule of chain.rules) if (rule.comment && rule.origin && !index.has(rule.comment)) index.set(rule.comment, rule.origin);
  return index;
}

/**
 * The hooks of the events of trace `id` in arrival order. The job's own table is left out (it only
 * marks the packet); everything else is reported, Tenet's tables or not. The kernel's trace id is a
 * hash of the packet buffer's address, which a later packet (a retransmitted SYN) may reuse: a second
 * pass through the job's table ends the first packet's trace.
 */
export function traceHooks(lines: readonly TraceLine[], id: string, program?: NftProgram): TraceHook[] {
  const origins = originIndex(program);
  const hooks = new Map(
    (program?.chains ?? []).filter((c) => c.base).map((c) => [c.name, `${c.base!.hook}${c.base!.type === 'nat' ? ' nat' : ''}`]),
  );
  const out: TraceHook[] = [];
  let current: TraceHook | undefined;
  let entered = 0;
  for (const line of lines) {
    if (line.id !== id) continue;
    if (line.table.startsWith(TRACE_TABLE_PREFIX)) {
      if (line.kind === 'packet' && entered++ > 0 && out.length > 0) break;
      continue;
    }
    if (line.kind === 'packet') {
      if (out.length >= MAX_HOOKS) break;
      current = { table: line.table, chain: line.chain, packet: line.packet ?? {}, rules: [], verdict: 'continue' };
      const hook = line.table === program?.table ? hooks.get(line.chain) : undefined;
      if (hook) current.hook = hook;
      out.push(current);
      continue;
    }
    if (!current) continue;
    if (line.kind === 'policy') {
      current.verdict = line.verdict ?? 'accept';
      delete current.decidedBy;
      continue;
    }
    const rule: TraceRule = { chain: line.chain, text: line.text.slice(0, MAX_TEXT), verdict: line.verdict ?? 'continue' };
    if (line.comment !== undefined) rule.comment = line.comment;
    const origin = line.comment !== undefined && line.table === program?.table ? origins.get(line.comment) : undefined;
    if (origin) rule.origin = { ...origin };
    if (current.rules.length < MAX_RULES_PER_HOOK) current.rules.push(rule);
    if (['accept', 'drop', 'reject', 'queue', 'stolen'].includes(rule.verdict)) {
      current.verdict = rule.verdict;
      current.decidedBy = rule;
    }
  }
  return out;
}
