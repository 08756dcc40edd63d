/**
 * The agent's flow and deny records: events from each namespace's reader (reader.ts) become records
 * (src/core/flows/records.ts) in one bounded ring; a pusher sends what is new to the controller about
 * once a second (docs/observability.md). What the kernel could not deliver (`lost`) and what the ring
 * let go before it was sent (`evicted`) are counted exactly and reported with each push.
 */
import { conntrackRecord, logRecord, type FlowContext, type FlowdEvent, type FlowRecord } from '../../core/flows/records';
import type { DenyRuleCount } from '../../core/flows/record-types';
import type { DenyLogKernelCount } from '../../core/flows/deny-accounting';
import { parseLogPrefix } from '../../core/policy/deny-log';
import { FlowRing } from '../../core/flows/ring';
import type { Log } from '../../core/log';

export const DEFAULT_RING = 10000;
/**
 * Records per second one namespace may make (and burst): the kernel limits each rule, but a tenant with
 * many deny rules, or opening connections as fast as it can, must not take the agent's CPU or push the
 * other tenants' records out of the ring. What is over is counted (`throttled`), never queued.
 */
export const NAMESPACE_RATE = { perSecond: 500, burst: 1000 } as const;
/**
 * Connection records (conntrack events) per second one namespace may make, and burst: enforced by
 * tenet-flowd itself (no line, no parse here; counted as `throttled`). Short connections are the
 * expensive case: each costs the agent two records (start, end) on each host that tracks it, and a
 * record costs the agent tens of microseconds of CPU (bench/dataplane.ts part (d)), so a namespace
 * opening connections as fast as it can would otherwise take a tenth of a core per namespace.
 */
export const CONNTRACK_RATE = { perSecond: 200, burst: 400 } as const;
/** Records per push at most; the rest goes with the next one. */
export const PUSH_BATCH = 2000;
/** Logging rules counted per host at most (each namespace's compiled rules; more is a runaway, not a policy). */
export const MAX_RULE_COUNTS = 10000;

/** The agent's side of one logging rule's accounting (the kernel's side comes with the rule counters). */
interface RuleTally {
  netns: string;
  prefix: string;
  recorded: number;
  throttled: number;
  ignored: number;
  kernel?: DenyLogKernelCount;
}

export interface FlowCounters {
  /** Records made. */
  recorded: number;
  /** Records the ring let go before they were pushed. */
  evicted: number;
  /** Kernel messages lost before the reader could take them (socket buffer full), per source. */
  lostLog: number;
  lostConntrack: number;
  /** Events that did not make a record (not Tenet's prefix, a malformed packet). */
  ignored: number;
  /** Events over a namespace's rate (NAMESPACE_RATE), dropped before they made a record. */
  throttled: number;
}

export class FlowRecorder {
  readonly ring: FlowRing;
  readonly counters: FlowCounters = { recorded: 0, evicted: 0, lostLog: 0, lostConntrack: 0, ignored: 0, throttled: 0 };
  /** Token buckets per namespace. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Per namespace and nflog prefix: what became of the packets each logging rule saw. */
  private readonly rules = new Map<string, RuleTally>();
  /** Bumped whenever a rule's numbers change; the push sends them again when it moved. */
  private rulesVersion = 0;
  private rulesPushed = 0;
  /** Called with every record made (the export, export.ts); must not block. */
  onRecord?: (record: FlowRecord) => void;
  /** The last sequence number the controller took. */
  private pushed = 0;
  private pushing = false;

  constructor(
    private readonly context: (netns: string) => FlowContext | undefined,
    private readonly log: Log,
    capacity = DEFAULT_RING,
    private readonly rate: { perSecond: number; burst: number } = NAMESPACE_RATE,
    private readonly now: () => number = Date.now,
  ) {
    this.ring = new FlowRing(capacity);
  }

  event(netns: string, event: FlowdEvent): void {
    if (event.t === 'lost') {
      if (event.src === 'log') this.counters.lostLog += event.n;
      else this.counters.lostConntrack += event.n;
      return;
    }
    if (event.t === 'throttled') {
      this.counters.throttled += event.n;
      return;
    }
    if (event.t !== 'log' && event.t !== 'ct') return;
    const tally = event.t === 'log' ? this.tally(netns, event.prefix) : undefined;
    const outcome = this.make(netns, event);
    this.counters[outcome]++;
    if (tally) {
      tally[outcome]++;
      this.rulesVersion++;
    }
  }

  private make(netns: string, event: FlowdEvent & { t: 'log' | 'ct' }): 'recorded' | 'throttled' | 'ignored' {
    if (!this.take(netns)) return 'throttled';
    const context = this.context(netns);
    if (!context) return 'ignored';
    const record = event.t === 'log' ? logRecord(event, context) : conntrackRecord(event, context);
    if (!record) return 'ignored';
    const numbered = this.ring.push(record);
    this.onRecord?.(numbered);
    return 'recorded';
  }

  /** The tally of one logging rule (undefined: not a prefix Tenet writes, or too many rules). */
  private tally(netns: string, prefix: string): RuleTally | undefined {
    const key = `${netns} ${prefix}`;
    let tally = this.rules.get(key);
    if (!tally && this.rules.size < MAX_RULE_COUNTS && parseLogPrefix(prefix)) {
      tally = { netns, prefix, recorded: 0, throttled: 0, ignored: 0 };
      this.rules.set(key, tally);
    }
    return tally;
  }

  /** The kernel's counters of a namespace's logging rules (read with the rule hits, every heartbeat). */
  kernelCounts(netns: string, counts: ReadonlyMap<string, DenyLogKernelCount>): void {
    for (const [prefix, kernel] of counts) {
      const tally = this.tally(netns, prefix);
      if (!tally || (tally.kernel?.seen === kernel.seen && tally.kernel.logged === kernel.logged)) continue;
      tally.kernel = { ...kernel };
      this.rulesVersion++;
    }
  }

  /** Per logging rule: what the kernel saw, logged and held back, and what the agent made of it. */
  ruleCounts(): DenyRuleCount[] {
    const out: DenyRuleCount[] = [];
    for (const t of this.rules.values()) {
      const tenant = this.context(t.netns)?.tenant.name;
      // A rule that never saw a packet is not worth a line in every report.
      if (tenant === undefined || (!t.kernel?.seen && t.recorded + t.throttled + t.ignored === 0)) continue;
      const seen = t.kernel?.seen ?? 0;
      const logged = t.kernel?.logged ?? 0;
      out.push({
        tenant,
        rule: t.prefix,
        seen,
        logged,
        suppressed: Math.max(0, seen - logged),
        recorded: t.recorded,
        throttled: t.throttled,
        ignored: t.ignored,
      });
    }
    return out;
  }

  private take(netns: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(netns) ?? { tokens: this.rate.burst, at: now };
    bucket.tokens = Math.min(this.rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate.perSecond);
    bucket.at = now;
    this.buckets.set(netns, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Namespaces gone: their buckets and rule tallies go too. */
  forget(netns: string): void {
    this.buckets.delete(netns);
    for (const [key, tally] of this.rules) if (tally.netns === netns) this.rules.delete(key);
  }

  /** Records not yet pushed (oldest first, at most PUSH_BATCH), and how many the ring let go unpushed. */
  pending(): { records: FlowRecord[]; evicted: number } {
    const records = this.ring.since(this.pushed);
    const oldest = records[0]?.seq ?? this.ring.seq + 1;
    const evicted = Math.max(0, oldest - this.pushed - 1);
    return { records: records.slice(0, PUSH_BATCH), evicted };
  }

  /** Sends what is pending through `send`; on failure it stays pending (and the ring may let some go). */
  async push(
    send: (batch: { records: FlowRecord[]; evicted: number; counters: FlowCounters; rules?: DenyRuleCount[] }) => Promise<void>,
  ): Promise<void> {
    if (this.pushing) return;
    const { records, evicted } = this.pending();
    const version = this.rulesVersion;
    const rulesMoved = version !== this.rulesPushed;
    if (records.length === 0 && evicted === 0 && !rulesMoved) return;
    this.pushing = true;
    try {
      this.counters.evicted += evicted;
      await send({ records, evicted, counters: { ...this.counters }, ...(rulesMoved ? { rules: this.ruleCounts() } : {}) });
      this.rulesPushed = version;
      this.pushed = records.length > 0 ? records[records.length - 1].seq : this.ring.seq;
    } catch (error) {
      this.counters.evicted -= evicted;
      this.log('debug', 'pushing flow records failed', { error: (error as Error).message });
    } finally {
      this.pushing = false;
    }
  }
}
