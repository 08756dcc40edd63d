/**
 * What a label-selected watch must remember to send Kubernetes' transitions: an object that stops
 * matching is DELETED for this client and one that starts matching is ADDED, so a client never keeps
 * an object that left its selection. The previous state of each key comes from a list taken when the
 * stream starts (valid for keys unchanged since the watch's revision) and from the stream's own events.
 *
 * Memory: only keys, and only those that matter — the keys the client holds (matching now) and the
 * keys whose state at the watch's revision is unknown (changed after it, before the list). A key in
 * neither set did not match. A watch selecting 10 objects of a 100,000-object tenant keeps 10 keys,
 * not the tenant (1,300 selected watches once copied it 1,300 times: issue 10).
 */
import type { KeyValue, StoreEvent } from '../store/store';
import { selectorMatches, type LabelSelector } from '../core/model/selectors';
import type { TenetObject } from '../core/model/object';

export class SelectionTracker {
  /** Keys whose object the client holds (matched when last seen). */
  private readonly matching = new Set<string>();
  /** Keys changed after the watch's revision when the list was taken: their state at that revision is unknown. */
  private readonly unknown = new Set<string>();
  /** Keys absent from the list whose events up to the list's revision already told their state (bounded by that backlog). */
  private readonly settled = new Set<string>();
  /** Revision of the list: a key absent from it but older than the watch was deleted before it, state unknown. */
  private listedAt = Number.MAX_SAFE_INTEGER;

  constructor(
    private readonly selector: LabelSelector,
    private readonly after: number,
  ) {}

  seed(items: Iterable<KeyValue>, listedAt: number): void {
    this.listedAt = listedAt;
    for (const kv of items) {
      // A key changed after the watch's revision may have had other labels then: leave it unknown.
      if (kv.modRevision > this.after) this.unknown.add(kv.key);
      else if (this.matches(parseLabels(kv.value))) this.matching.add(kv.key);
    }
  }

  /** The event type this client gets for a change, or undefined when it gets nothing. */
  typeFor(event: StoreEvent, object: TenetObject): 'ADDED' | 'MODIFIED' | 'DELETED' | undefined {
    const now = this.matches(object.metadata.labels ?? {});
    const held = this.matching.has(event.key);
    const isNew = event.createRevision === event.revision || event.createRevision > this.after;
    // Unknown before (changed between the client's list and this stream's start): a MODIFIED is an
    // upsert for the client either way, and a DELETED of an object it never had is ignored by it.
    // Not held and not new: unknown when the list said so, or when the key was missing from the list
    // although it existed at the watch's revision (deleted in between; its events come before the list's revision).
    const unsure = !isNew && (this.unknown.has(event.key) || (event.revision <= this.listedAt && !this.settled.has(event.key)));
    const before: boolean | undefined = held ? true : unsure ? undefined : false;
    this.unknown.delete(event.key);
    if (event.revision <= this.listedAt) {
      if (event.type === 'delete') this.settled.delete(event.key);
      else this.settled.add(event.key);
    } else if (this.settled.size > 0) {
      // Events come in revision order: none at or before the list's revision will follow.
      this.settled.clear();
    }
    if (event.type === 'delete') {
      this.matching.delete(event.key);
      return now ? 'DELETED' : undefined;
    }
    if (now) this.matching.add(event.key);
    else this.matching.delete(event.key);
    if (now) return before === false ? 'ADDED' : 'MODIFIED';
    return before === false ? undefined : 'DELETED';
  }

  /** How many keys the tracker holds (for tests and metrics): never more than matching + unknown. */
  heldKeys(): { matching: number; unknown: number; settled: number } {
    return { matching: this.matching.size, unknown: this.unknown.size, settled: this.settled.size };
  }

  private matches(labels: Record<string, string>): boolean {
    return selectorMatches(this.selector, labels);
  }
}

function parseLabels(value: string): Record<string, string> {
  try {
    return (JSON.parse(value) as TenetObject).metadata.labels ?? {};
  } catch {
    return {};
  }
}
