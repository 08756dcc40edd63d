/**
 * The agent's flow and deny records: events from each namespace's reader (reader.ts) become records
 * (src/core/flows/records.ts) in one bounded ring; a pusher sends what is new to the controller about
 * once a second (docs/observability.md). What the kernel could not deliver (`lost`) and what the ring
 * let go before it was sent (`evicted`) are counted exactly and reported with each push.
 */
import { conntrackRecord, logRecord, type FlowContext, type FlowdEvent, type FlowRecord } from '../../core/flows/records';
import { FlowRing } from '../../core/flows/ring';
import type { Log } from '../../core/log';

export const DEFAULT_RING = 10000;
/**
 * Records per second one namespace may make (and burst): the kernel limits each rule, but a tenant with
 * many deny rules, or opening connections as fast as it can, must not take the agent's CPU or push the
 * other tenants' records out of the ring. What is over is counted (`throttled`), never queued.
 */
export const NAMESPACE_RATE = { perSecond: 500, burst: 1000 } as const;
/** Records per push at most; the rest goes with the next one. */
export const PUSH_BATCH = 2000;

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
      if (event.src === 'log') this.counters.lostLog++;
      else this.counters.lostConntrack++;
      return;
    }
    if (event.t !== 'log' && event.t !== 'ct') return;
    if (!this.take(netns)) return void this.counters.throttled++;
    const context = this.context(netns);
    if (!context) return void this.counters.ignored++;
    const record = event.t === 'log' ? logRecord(event, context) : conntrackRecord(event, context);
    if (!record) return void this.counters.ignored++;
    this.counters.recorded++;
    this.ring.push(record);
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

  /** Namespaces gone: their buckets go too. */
  forget(netns: string): void {
    this.buckets.delete(netns);
  }

  /** Records not yet pushed (oldest first, at most PUSH_BATCH), and how many the ring let go unpushed. */
  pending(): { records: FlowRecord[]; evicted: number } {
    const records = this.ring.since(this.pushed);
    const oldest = records[0]?.seq ?? this.ring.seq + 1;
    const evicted = Math.max(0, oldest - this.pushed - 1);
    return { records: records.slice(0, PUSH_BATCH), evicted };
  }

  /** Sends what is pending through `send`; on failure it stays pending (and the ring may let some go). */
  async push(send: (batch: { records: FlowRecord[]; evicted: number; counters: FlowCounters }) => Promise<void>): Promise<void> {
    if (this.pushing) return;
    const { records, evicted } = this.pending();
    if (records.length === 0 && evicted === 0) return;
    this.pushing = true;
    try {
      this.counters.evicted += evicted;
      await send({ records, evicted, counters: { ...this.counters } });
      this.pushed = records.length > 0 ? records[records.length - 1].seq : this.ring.seq;
    } catch (error) {
      this.counters.evicted -= evicted;
      this.log('debug', 'pushing flow records failed', { error: (error as Error).message });
    } finally {
      this.pushing = false;
    }
  }
}
