/**
 * The bounded memory of records, in the agent and in the controller: a ring of `capacity` records that
 * keeps the newest, numbers them, and counts exactly what it had to let go. Memory is bounded by the
 * capacity whatever the kernel sends (the kernel's rate limit bounds the deny records that reach it at
 * all; deny-log.ts).
 */
import type { FlowRecord } from './records';

export class FlowRing {
  private readonly slots: Array<FlowRecord | undefined>;
  private next = 0;
  /** Sequence number of the last record added (0: none yet). */
  private lastSeq = 0;
  /** Records pushed out by newer ones. */
  evicted = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a positive integer, not ${capacity}`);
    this.slots = new Array<FlowRecord | undefined>(capacity);
  }

  /** Adds a record, numbering it (the ring takes the object: it is numbered in place); returns it. */
  push(record: Omit<FlowRecord, 'seq'>): FlowRecord {
    const numbered = record as FlowRecord;
    numbered.seq = ++this.lastSeq;
    if (this.slots[this.next] !== undefined) this.evicted++;
    this.slots[this.next] = numbered;
    this.next = (this.next + 1) % this.capacity;
    return numbered;
  }

  get size(): number {
    return Math.min(this.lastSeq, this.capacity);
  }

  get seq(): number {
    return this.lastSeq;
  }

  /** The records numbered after `afterSeq`, oldest first (at most `max`, the oldest of them). */
  since(afterSeq = 0, max = Infinity): FlowRecord[] {
    // Record n sits in slot (n - 1) % capacity; the ring holds the newest `size` of them.
    const first = Math.max(afterSeq + 1, this.lastSeq - this.size + 1);
    const last = Math.min(this.lastSeq, first + max - 1);
    const out: FlowRecord[] = [];
    for (let n = first; n <= last; n++) out.push(this.slots[(n - 1) % this.capacity]!);
    return out;
  }
}

/** What `tenet flows` asks for. */
export interface FlowFilter {
  tenant?: string;
  /** Endpoint name or address of the source / destination. */
  from?: string;
  to?: string;
  verdict?: 'allowed' | 'denied' | 'logged';
  /** Only records at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** Only records after this controller sequence number (watching). */
  after?: number;
}

function peerIs(peer: FlowRecord['from'], text: string): boolean {
  return peer.endpoint === text || peer.address === text;
}

export function matchesFilter(record: FlowRecord, filter: FlowFilter): boolean {
  if (filter.tenant !== undefined && record.tenant !== filter.tenant) return false;
  if (filter.from !== undefined && !peerIs(record.from, filter.from)) return false;
  if (filter.to !== undefined && !peerIs(record.to, filter.to)) return false;
  if (filter.verdict !== undefined && record.verdict !== filter.verdict) return false;
  if (filter.sinceMs !== undefined && Date.parse(record.time) < filter.sinceMs) return false;
  if (filter.after !== undefined && record.seq <= filter.after) return false;
  return true;
}
