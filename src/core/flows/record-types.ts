/**
 * The shape of a flow or deny record, apart from the code that makes them (records.ts), so that what
 * only reads records (the controller, the CLI, the console in the browser) needs no more than this.
 */
import type { Direction } from '../policy/program';

/** One side of a flow: an endpoint of the tenant (name, labels, host) or an outside address. */
export interface FlowPeer {
  address: string;
  port?: number;
  endpoint?: string;
  labels?: Record<string, string>;
  host?: string;
}

/** The rule that decided, as the compiler recorded its origin. */
export interface FlowRule {
  direction: Direction;
  tier: 'admin' | 'tenant' | 'baseline' | 'default';
  /** `Policy tenant/name` or `GlobalPolicy name`; for isolation, the isolating policies. */
  policy?: string;
  rule?: number;
  ruleName?: string;
  action: string;
  /** Allowed flows: `kernel` when read from the connection's ct mark (flow-mark.ts), `intent` when found by walking the program. */
  source?: 'kernel' | 'intent';
}

export type FlowRecordType = 'deny' | 'log' | 'flow-start' | 'flow-end';

export interface FlowRecord {
  /** Order of the records of one agent (set by its ring); the controller keeps its own order. */
  seq: number;
  /** When the agent saw the event (ISO 8601). */
  time: string;
  /** Host whose agent recorded it. */
  host: string;
  tenant: string;
  type: FlowRecordType;
  verdict: 'allowed' | 'denied' | 'logged';
  protocol: string;
  from: FlowPeer;
  to: FlowPeer;
  /** deny and log records: the rule named by the kernel (the nflog prefix of the rule that matched). */
  rule?: FlowRule;
  /** Allowed flows: the rules that allowed each side judged on this host (explain over the namespace's program). */
  egress?: FlowRule;
  ingress?: FlowRule;
  /** The packet was translated to a backend (Service NAT): the address and port it was sent to. */
  service?: { name?: string; address: string; port?: number };
  /** flow-end: when the kernel tracked it from and to (nf_conntrack_timestamp), packets and bytes both ways (nf_conntrack_acct). */
  start?: string;
  end?: string;
  packets?: { forward: number; reply: number };
  bytes?: { forward: number; reply: number };
  /** deny and log records: interfaces the packet came in on and was going out of. */
  interfaces?: { in?: string; out?: string };
}

/**
 * What became of the packets one logging rule (a deny rule's nflog twin, or a `log` rule) of one
 * namespace saw (docs/observability.md, "Every packet accounted for"): `seen` and `logged` are the
 * kernel's counters before and after the rule's rate limit (so `suppressed = seen - logged` is what the
 * limit held back), counted since the rule was last written; `recorded`, `throttled` and `ignored` are
 * what the agent made of the packets it was handed, since it started. Packets the kernel logged but
 * could not deliver are the namespace's `lostLog` (nflog sequence gaps), not per rule.
 */
export interface DenyRuleCount {
  tenant: string;
  /** The nflog prefix: `deny|log tier:policy:direction:index`, `isolate DIRECTION`, `default-deny DIRECTION`. */
  rule: string;
  seen: number;
  logged: number;
  suppressed: number;
  recorded: number;
  throttled: number;
  ignored: number;
}
