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

/**
 * Records kept in memory: two seconds of the connections a busy host makes (bench/dataplane.ts part (d):
 * ~5,000 short connections a second make ~10,000 records a second on each of the two hosts).
 */
export const DEFAULT_RING = 20000;
/**
 * nflog records (deny and log) per second one namespace may make, and burst: the kernel limits each rule,
 * but a tenant with many deny rules must not take the agent's CPU or push the other tenants' records out
 * of the ring. What is over is counted (`throttled`), never queued. Connection records are bounded by the
 * reader instead (CONNTRACK_RATE).
 */
export const NAMESPACE_RATE = { perSecond: 500, burst: 1000 } as const;
/**
 * Conntrack events (a connection's start and end: two per connection) per second one namespace may turn
 * into records, and burst: enforced by tenet-flowd itself (no line, no parse here; counted as `throttled`).
 * Flood protection, not sampling: every connection of a namespace opening up to 12,500 short connections a
 * second (sustained; twice that for two seconds) is recorded — five times what bench/dataplane.ts part (d)
 * makes between two hosts — and a namespace opening them as fast as it can on a larger machine costs the
 * reader and the agent at most this many records' CPU (docs/observability.md, "Bounds").
 */
export const CONNTRACK_RATE = { perSecond: 25000, burst: 50000 } as const;
/**
 * Records per push at most; when more are pending the next push follows at once. A push too large for
 * the controller (413) is retried with half as many records (labels make records of very different sizes).
 */
export const PUSH_BATCH = 5000;
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
  /** Events over a namespace's rate (NAMESPACE_RATE for nflog, the reader's CONNTRACK_RATE), dropped before they made a record. */
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
    if (event.t === 'ct') {
      // Bounded by the reader's own rate (CONNTRACK_RATE): no second bucket here.
      this.counters[this.make(netns, event)]++;
      return;
    }
    if (event.t !== 'log') return;
    const tally = this.tally(netns, event.prefix);
    const outcome = this.take(netns) ? this.make(netns, event) : 'throttled';
    this.counters[outcome]++;
    if (tally) {
      tally[outcome]++;
      this.rulesVersion++;
    }
  }

  private make(netns: string, event: FlowdEvent & { t: 'log' | 'ct' }): 'recorded' | 'ignored' {
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

  /** Records not yet pushed (oldest first, at most `max`), and how many the ring let go unpushed. */
  pending(max = this.batch): { records: FlowRecord[]; evicted: number; more: boolean } {
    const records = this.ring.since(this.pushed, max + 1);
    const oldest = records[0]?.seq ?? this.ring.seq + 1;
    const evicted = Math.max(0, oldest - this.pushed - 1);
    const more = records.length > max;
    if (more) records.length = max;
    return { records, evicted, more };
  }

  /** Records per push now: PUSH_BATCH, halved after the controller found a push too large. */
  private batch = PUSH_BATCH;

  /**
   * Sends what is pending through `send`, in batches back to back while more is pending; on failure it
   * stays pending (and the ring may let some go).
   */
  async push(
    send: (batch: { records: FlowRecord[]; evicted: number; counters: FlowCounters; rules?: DenyRuleCount[] }) => Promise<void>,
  ): Promise<void> {
    if (this.pushing) return;
    this.pushing = true;
    try {
      for (;;) {
        const { records, evicted, more } = this.pending();
        const version = this.rulesVersion;
        const rulesMoved = version !== this.rulesPushed;
        if (records.length === 0 && evicted === 0 && !rulesMoved) return;
        this.counters.evicted += evicted;
        try {
          await send({ records, evicted, counters: { ...this.counters }, ...(rulesMoved ? { rules: this.ruleCounts() } : {}) });
        } catch (error) {
          this.counters.evicted -= evicted;
          if ((error as { status?: number }).status === 413 && this.batch > 1) this.batch = Math.ceil(this.batch / 2);
          this.log('debug', 'pushing flow records failed', { error: (error as Error).message, batch: this.batch });
          return;
        }
        this.rulesPushed = version;
        this.pushed = records.length > 0 ? records[records.length - 1].seq : this.ring.seq;
        this.batch = Math.min(PUSH_BATCH, this.batch * 2);
        if (!more) return;
      }
    } finally {
      this.pushing = false;
    }
  }
}
