/**
 * What `tenet trace` answers: each host's part of the kernel's trace (the agents'), put in order, the
 * verdict the kernel gave, and the comparison with explain (intent) for the same question. Pure.
 *
 * Trace and explain agree when the kernel's verdict is explain's, and, for each direction both name a
 * rule for, the same rule (tier, policy, rule index, action). They disagree loudly otherwise: the
 * kernel is not doing what the compiled intent says (a hand edit, a stale table, a bug).
 */
import type { Decision } from '../policy/explain';
import { describeDecision } from '../policy/explain';
import { EGRESS_BASE, INGRESS_BASE } from '../policy/names';
import type { Direction, RuleOrigin } from '../policy/program';
import { TABLE_NAME } from '../policy/program';
import { MAX_HOOKS, MAX_RULES_PER_HOOK, MAX_TEXT, type TraceHook, type TraceRule } from './events';

export interface ProbeResult {
  /** connected / refused (TCP: an answer came back), replied (UDP, ICMP), timeout, sent (UDP without answer), error. */
  result: 'connected' | 'refused' | 'replied' | 'timeout' | 'sent' | 'error';
  detail?: string;
}

/** One host's part, as its agent reports it. */
export interface HostTrace {
  host: string;
  role: 'source' | 'observer';
  namespace?: string;
  hooks: TraceHook[];
  /** Destination NAT the kernel applied (a Service): the address:port asked for and the backend's. */
  dnat?: { from: string; to: string; backend?: string };
  /** The route the kernel picks for the packet in the router namespace (`ip route get`). */
  route?: { destination: string; dev: string; gateway?: string };
  /** When the route leaves over VXLAN: the device and the remote VTEP its forwarding database names. */
  vxlan?: { device: string; remoteVtep?: string; remoteHost?: string };
  /** The packet left towards a local endpoint's interface. */
  delivered?: { interface: string; endpoint?: string };
  probe?: ProbeResult;
  error?: string;
}

export interface TraceSide {
  host: string;
  verdict: 'accept' | 'drop';
  rule?: TraceRule;
}

export type Agreement = 'agree' | 'disagree' | 'inconclusive';

export interface TraceAnswer {
  tenant: string;
  from: { endpoint: string; address: string };
  to: { endpoint?: string; service?: string; address: string };
  protocol: string;
  port?: number;
  live: boolean;
  hosts: HostTrace[];
  verdict: 'delivered' | 'dropped' | 'not-seen';
  died?: { host: string; table: string; chain: string; hook?: string; rule?: TraceRule };
  egress?: TraceSide;
  ingress?: TraceSide;
  explain: { allowed: boolean; egress: Decision; ingress: Decision; backend?: string };
  agreement: Agreement;
  differences: string[];
  /** Hosts asked to rewrite the tenant's table from intent because the kernel disagreed. */
  resync?: string[];
}

const BASES: Record<Direction, string> = { egress: EGRESS_BASE, ingress: INGRESS_BASE };

/** The rule the kernel decided `direction` with: the first policy base chain of that direction that a rule (not the chain's end) decided. */
export function kernelSide(hosts: readonly HostTrace[], direction: Direction): TraceSide | undefined {
  for (const host of hosts)
    for (const hook of host.hooks) {
      if (hook.table !== TABLE_NAME || hook.chain !== BASES[direction]) continue;
      if (hook.verdict === 'drop') return { host: host.host, verdict: 'drop', ...(hook.decidedBy ? { rule: hook.decidedBy } : {}) };
      // Ended by the chain's policy: this host does not judge this side (no dispatch entry for the interface).
      if (hook.decidedBy?.origin && hook.verdict === 'accept') return { host: host.host, verdict: 'accept', rule: hook.decidedBy };
    }
  return undefined;
}

export function originKey(o: RuleOrigin | undefined): string {
  if (!o) return '';
  return [o.direction ?? '', o.tier ?? '', o.policy ?? '', o.rule ?? '', o.action ?? ''].join('|');
}

export function describeRule(rule: TraceRule | undefined): string {
  if (!rule) return 'the chain policy';
  const o = rule.origin;
  if (!o) return `rule "${rule.comment ?? rule.text}" (${rule.verdict})`;
  const decision: Decision = { verdict: rule.verdict === 'accept' ? 'allow' : 'deny', origin: o };
  return describeDecision(o.direction ?? 'egress', decision).replace(/^[a-z]+: (allow|deny) by /, '');
}

/** Puts the hosts' parts together and compares them with explain's answer for the same packet. */
export function summarizeTrace(
  base: Omit<TraceAnswer, 'verdict' | 'died' | 'egress' | 'ingress' | 'agreement' | 'differences' | 'hosts'>,
  hosts: HostTrace[],
): TraceAnswer {
  let died: TraceAnswer['died'];
  for (const host of hosts) {
    const hook = host.hooks.find((h) => h.verdict === 'drop' || h.verdict === 'reject');
    if (hook && !died)
      died = {
        host: host.host,
        table: hook.table,
        chain: hook.chain,
        ...(hook.hook ? { hook: hook.hook } : {}),
        ...(hook.decidedBy ? { rule: hook.decidedBy } : {}),
      };
  }
  const source = hosts.find((h) => h.role === 'source');
  const answered = source?.probe && ['connected', 'refused', 'replied'].includes(source.probe.result);
  const verdict: TraceAnswer['verdict'] = died ? 'dropped' : hosts.some((h) => h.delivered) || answered ? 'delivered' : 'not-seen';
  const egress = kernelSide(hosts, 'egress');
  const ingress = kernelSide(hosts, 'ingress');
  const differences: string[] = [];
  const explained = base.explain;
  const where = died
    ? `dropped on ${died.host} in ${died.table} ${died.chain} by ${describeRule(died.rule)}`
    : verdict === 'delivered'
      ? 'delivered'
      : 'not seen';
  if (verdict !== 'not-seen' && explained.allowed !== (verdict === 'delivered'))
    differences.push(`explain says ${explained.allowed ? 'ALLOWED' : 'DENIED'}, the kernel ${where}`);
  for (const [direction, side] of [
    ['egress', egress],
    ['ingress', ingress],
  ] as const) {
    const decision = explained[direction];
    if (!side?.rule?.origin || decision.verdict === 'not-judged' || !decision.origin) continue;
    if (originKey(side.rule.origin) !== originKey(decision.origin) || (side.verdict === 'accept') !== (decision.verdict === 'allow'))
      differences.push(
        `${direction}: explain ${decision.verdict} by ${describeDecision(direction, decision).replace(/^[a-z]+: (allow|deny) by /, '')}; ` +
          `the kernel ${side.verdict} on ${side.host} by ${describeRule(side.rule)}`,
      );
  }
  const agreement: Agreement = differences.length > 0 ? 'disagree' : verdict === 'not-seen' ? 'inconclusive' : 'agree';
  return {
    ...base,
    hosts,
    verdict,
    ...(died ? { died } : {}),
    ...(egress ? { egress } : {}),
    ...(ingress ? { ingress } : {}),
    agreement,
    differences,
  };
}

const str = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;
const optStr = (v: unknown, max = MAX_TEXT): boolean => v === undefined || str(v, max);

function checkRule(r: unknown): boolean {
  const x = r as Record<string, unknown> | null;
  return (
    !!x &&
    str(x.chain, 64) &&
    str(x.text) &&
    str(x.verdict, 80) &&
    optStr(x.comment, 300) &&
    (x.origin === undefined || typeof x.origin === 'object')
  );
}

/** A host's report as it reaches the controller, checked field by field (bounded: hooks, rules, text). */
export function checkHostTrace(value: unknown, host: string, role: HostTrace['role']): HostTrace {
  const v = (value ?? {}) as Record<string, unknown>;
  const hooks = v.hooks;
  if (!Array.isArray(hooks) || hooks.length > MAX_HOOKS) throw new Error(`hooks must be a list of at most ${MAX_HOOKS}`);
  for (const h of hooks as Record<string, unknown>[]) {
    if (!h || !str(h.table, 64) || !str(h.chain, 64) || !str(h.verdict, 80) || !optStr(h.hook, 40)) throw new Error('a hook is malformed');
    if (!Array.isArray(h.rules) || h.rules.length > MAX_RULES_PER_HOOK || !h.rules.every(checkRule))
      throw new Error('a hook has malformed rules');
    if (h.decidedBy !== undefined && !checkRule(h.decidedBy)) throw new Error('a hook has a malformed decidedBy');
    if (typeof h.packet !== 'object' || h.packet === null) throw new Error('a hook has no packet');
  }
  const out: HostTrace = { host, role, hooks: hooks as TraceHook[] };
  if (str(v.namespace, 64)) out.namespace = v.namespace;
  const small = (x: unknown): Record<string, unknown> | undefined =>
    x && typeof x === 'object' && Object.values(x).every((f) => f === undefined || str(f, 64)) ? (x as Record<string, unknown>) : undefined;
  const dnat = small(v.dnat);
  if (dnat && str(dnat.from, 64) && str(dnat.to, 64)) out.dnat = dnat as HostTrace['dnat'];
  const route = small(v.route);
  if (route && str(route.destination, 64) && str(route.dev, 64)) out.route = route as HostTrace['route'];
  const vxlan = small(v.vxlan);
  if (vxlan && str(vxlan.device, 64)) out.vxlan = vxlan as HostTrace['vxlan'];
  const delivered = small(v.delivered);
  if (delivered && str(delivered.interface, 64)) out.delivered = delivered as HostTrace['delivered'];
  const probe = v.probe as Record<string, unknown> | undefined;
  if (probe && ['connected', 'refused', 'replied', 'timeout', 'sent', 'error'].includes(probe.result as string) && optStr(probe.detail))
    out.probe = probe as unknown as ProbeResult;
  if (str(v.error)) out.error = v.error;
  return out;
}
