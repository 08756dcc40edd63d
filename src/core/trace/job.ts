/**
 * A trace job: what the controller asks of one agent for `tenet trace` (docs/observability.md,
 * "Trace of a real packet"), checked field by field on the agent before anything reaches the kernel,
 * and the nft text that arms the kernel's tracer for it. Pure.
 *
 * The armed rule lives in a table of its own, `inet tenet_trace_<id>`, one per job, hooked at
 * prerouting priority TRACE_PRIORITY — before antispoofing (raw, -300), conntrack (-200) and service
 * DNAT (-100), so the packet is marked before anything in the namespace decides about it. It sets
 * `meta nftrace` only for the probe's tuple: packet marks do not survive a namespace boundary (the
 * skb is scrubbed on veth and VXLAN), so every namespace the packet crosses matches the tuple itself.
 * Removing the job is deleting its table, which nothing else writes.
 */
import { canonicalIp, parseIp } from '../net/ip';
import { isName } from '../model/names';

export type TraceProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6';
export const TRACE_PROTOCOLS: readonly TraceProtocol[] = ['tcp', 'udp', 'icmp', 'icmpv6'];

/** Before antispoofing's raw chain (-300): the tracer sees the packet first. */
export const TRACE_PRIORITY = -450;
export const TRACE_TABLE_PREFIX = 'tenet_trace_';
/** Job ids: 16 hex digits (the table name carries them). */
export const TRACE_ID = /^[0-9a-f]{16}$/;
export const MIN_TRACE_MS = 500;
/** The CLI's connection idles 30 s at most; a trace answers well before. */
export const MAX_TRACE_MS = 15_000;
export const DEFAULT_TRACE_MS = 5_000;
/** Probe source ports the controller picks from (below the usual ephemeral range, above the well-known ones). */
export const PROBE_PORTS = { first: 20000, last: 29999 } as const;

/** The packets a namespace traces: the probe's tuple (or, live, the tuple without the source port). */
export interface TraceMatch {
  family: 4 | 6;
  protocol: TraceProtocol;
  saddr: string;
  daddr?: string;
  sport?: number;
  dport?: number;
}

export interface TraceJob {
  id: string;
  tenant: string;
  match: TraceMatch;
  /** How long the agent keeps the tracer armed at most (ms). */
  timeoutMs: number;
  /** Wait for the next real packet instead of injecting one. */
  live: boolean;
  /** Only the source host's job: inject the probe from this local endpoint's own namespace. */
  probe?: { endpoint: string };
}

/** A message on an agent's trace channel (GET /api/v1/hosts/NAME/traces). */
export type TraceMessage =
  | { type: 'arm'; job: TraceJob }
  /** Stop collecting (the source is done): report what was seen. */
  | { type: 'stop'; id: string }
  /** Trace and intent disagreed in this tenant: rewrite its table from intent at once (docs/observability.md). */
  | { type: 'resync'; tenant: string };

export function traceTableName(id: string): string {
  if (!TRACE_ID.test(id)) throw new Error(`trace id "${id.slice(0, 20)}" is invalid`);
  return `${TRACE_TABLE_PREFIX}${id}`;
}

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

function checkAddress(value: unknown, family: 4 | 6, what: string): string {
  const ip = typeof value === 'string' && value.length <= 45 ? parseIp(value) : undefined;
  if (!ip || ip.family !== family) throw new Error(`${what} is not an IPv${family} address`);
  return canonicalIp(value as string)!;
}

/** The match of a job, checked: every value that reaches the nft text is an address, a port or a protocol name. */
export function checkTraceMatch(value: unknown): TraceMatch {
  const m = (value ?? {}) as Record<string, unknown>;
  if (m.family !== 4 && m.family !== 6) throw new Error('match.family must be 4 or 6');
  const family = m.family;
  if (!TRACE_PROTOCOLS.includes(m.protocol as TraceProtocol))
    throw new Error(`match.protocol must be one of ${TRACE_PROTOCOLS.join(', ')}`);
  const protocol = m.protocol as TraceProtocol;
  if ((protocol === 'icmp' && family !== 4) || (protocol === 'icmpv6' && family !== 6)) throw new Error('icmp is IPv4, icmpv6 IPv6');
  const out: TraceMatch = { family, protocol, saddr: checkAddress(m.saddr, family, 'match.saddr') };
  if (m.daddr !== undefined) out.daddr = checkAddress(m.daddr, family, 'match.daddr');
  for (const key of ['sport', 'dport'] as const) {
    if (m[key] === undefined) continue;
    if (protocol === 'icmp' || protocol === 'icmpv6') throw new Error(`match.${key}: ${protocol} has no ports`);
    if (!isPort(m[key])) throw new Error(`match.${key} must be a port 1-65535`);
    out[key] = m[key];
  }
  return out;
}

/** A job as the agent received it, checked; throws a readable message when anything is off. */
export function checkTraceJob(value: unknown): TraceJob {
  const j = (value ?? {}) as Record<string, unknown>;
  if (typeof j.id !== 'string' || !TRACE_ID.test(j.id)) throw new Error('id must be 16 hex digits');
  if (typeof j.tenant !== 'string' || !isName(j.tenant)) throw new Error('tenant must be a name');
  const timeoutMs = j.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < MIN_TRACE_MS || timeoutMs > MAX_TRACE_MS)
    throw new Error(`timeoutMs must be ${MIN_TRACE_MS}-${MAX_TRACE_MS}`);
  if (typeof j.live !== 'boolean') throw new Error('live must be a boolean');
  const job: TraceJob = { id: j.id, tenant: j.tenant, match: checkTraceMatch(j.match), timeoutMs, live: j.live };
  if (j.probe !== undefined) {
    const endpoint = (j.probe as { endpoint?: unknown } | null)?.endpoint;
    if (typeof endpoint !== 'string' || !isName(endpoint)) throw new Error('probe.endpoint must be a name');
    if (job.live) throw new Error('a live trace injects no probe');
    if (job.match.sport === undefined && (job.match.protocol === 'tcp' || job.match.protocol === 'udp'))
      throw new Error('a probe needs its source port in the match');
    job.probe = { endpoint };
  }
  return job;
}

/** The nft expression that selects the traced packets. */
export function matchText(m: TraceMatch): string {
  const ip = m.family === 4 ? 'ip' : 'ip6';
  const parts = [`${ip} saddr ${m.saddr}`];
  if (m.daddr !== undefined) parts.push(`${ip} daddr ${m.daddr}`);
  if (m.protocol === 'icmp') parts.push('icmp type echo-request');
  else if (m.protocol === 'icmpv6') parts.push('icmpv6 type echo-request');
  else {
    parts.push(`meta l4proto ${m.protocol}`);
    if (m.sport !== undefined) parts.push(`${m.protocol} sport ${m.sport}`);
    if (m.dport !== undefined) parts.push(`${m.protocol} dport ${m.dport}`);
  }
  return parts.join(' ');
}

/**
 * The transaction that arms a job in one namespace: its own table and one rule. A TCP trace takes only
 * a connection's first packet (a SYN; the probe's ACK and FIN have the same tuple, and so has a live
 * connection's every packet): the tracer runs before conntrack, so `ct state` is not known yet.
 */
export function armScript(id: string, m: TraceMatch): string {
  const table = traceTableName(id);
  const syn = m.protocol === 'tcp' ? ' tcp flags & (syn | ack) == syn' : '';
  return [
    `add table inet ${table}`,
    `add chain inet ${table} trace { type filter hook prerouting priority ${TRACE_PRIORITY}; policy accept; }`,
    `add rule inet ${table} trace ${matchText(m)}${syn} meta nftrace set 1`,
    '',
  ].join('\n');
}

export function disarmScript(id: string): string {
  return `delete table inet ${traceTableName(id)}\n`;
}
