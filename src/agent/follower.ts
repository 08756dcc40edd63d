/**
 * Follows the controller with list-then-watch: one snapshot of the kinds a host needs, then a watch from
 * its revision; a 410, a dropped stream or an unreachable controller lead to a fresh snapshot after a
 * short back-off, and every `relistMs` the snapshot is taken again anyway. Until the first snapshot
 * succeeds `synced` stays false, so an agent started while the controller is down changes nothing.
 */
import { refKey } from '../core/model/object';
import type { Log } from '../core/log';
import type { TenetClient, WatchHandle } from '../client/api-client';
import { ApiError } from '../client/errors';
import type { KindName } from '../core/model/registry';
import type { TenetObject } from '../core/model/object';

export const objectKey = (kind: KindName, tenant: string | undefined, name: string): string => refKey({ kind, tenant: tenant ?? '', name });
const keyOf = (o: TenetObject): string => objectKey(o.kind, o.metadata.tenant, o.metadata.name);
const revisionOf = (o: TenetObject): number => Number(o.metadata.resourceVersion ?? 0);

export interface FollowerOptions {
  client: TenetClient;
  kinds: readonly KindName[];
  /** Called after every change of the cache (debounce on the caller's side). */
  /** 'relist': a fresh list after the stream ended cleanly (the controller asked for it, or a 410), not after losing it. */
  onChange: (reason: 'snapshot' | 'relist' | 'event' | 'local') => void;
  onConnection?: (connected: boolean) => void;
  log: Log;
  /** Period of a fresh list besides the watch (default DEFAULT_RELIST_MS). */
  relistMs?: number;
}

/**
 * A list costs the controller a snapshot of everything the host may see (40,000 objects at 10,000
 * services, 100-200 ms of its event loop per agent): a safety net behind the watch, not a rhythm.
 */
export const DEFAULT_RELIST_MS = 600000;

/** Changes the follower remembers for changedSince(). */
const JOURNAL_LIMIT = 4096;
/** A list with more changes than this replaces the view whole. */
const RELIST_JOURNAL_LIMIT = 1024;

interface LocalWrites {
  recorded: Set<string>;
  removed: Map<string, TenetObject>;
}

export class Follower {
  private readonly objects = new Map<string, TenetObject>();
  private watch?: WatchHandle;
  private stopped = false;
  private wake?: () => void;
  private relistTimer?: NodeJS.Timeout;
  /** What the agent recorded and removed itself while a list is in flight. */
  private listing?: LocalWrites;
  revision = 0;
  /** Counts changes to the followed objects: equal generations mean an equal list (views can be reused). */
  generation = 0;
  /** The objects each generation since `journalFrom` changed (a list replaces everything: the journal starts again). */
  private journal: { generation: number; kind: KindName; tenant?: string; name: string }[] = [];
  private journalFrom = 0;
  synced = false;
  connected = false;

  constructor(private readonly options: FollowerOptions) {}

  list(): TenetObject[] {
    return [...this.objects.values()];
  }

  /**
   * The objects changed (added, replaced or removed) after generation `since`, so a view of the list
   * can be updated instead of made again; undefined when the follower cannot tell (a list replaced
   * everything meanwhile, or more changed than it keeps).
   */
  changedSince(since: number): { kind: KindName; tenant?: string; name: string }[] | undefined {
    if (since < this.journalFrom || since > this.generation) return undefined;
    return this.journal.filter((change) => change.generation > since);
  }

  /** One generation more, for a change of `object` (undefined: everything may have changed). */
  private changed(object: TenetObject | undefined): void {
    this.generation++;
    if (!object) {
      this.journal = [];
      this.journalFrom = this.generation;
      return;
    }
    this.journal.push({ generation: this.generation, kind: object.kind, tenant: object.metadata.tenant, name: object.metadata.name });
    // Bounded: a reader that fell this far behind makes its view again.
    if (this.journal.length > JOURNAL_LIMIT) {
      this.journal = this.journal.slice(JOURNAL_LIMIT / 2);
      this.journalFrom = this.journal[0].generation - 1;
    }
  }

  get<T = TenetObject>(kind: KindName, tenant: string | undefined, name: string): T | undefined {
    return this.objects.get(objectKey(kind, tenant, name)) as T | undefined;
  }

  /** Records an object the agent just wrote, so its view includes it before the watch catches up. */
  upsert(object: TenetObject): void {
    const have = this.objects.get(keyOf(object));
    if (have && revisionOf(have) > revisionOf(object)) return;
    this.objects.set(keyOf(object), object);
    this.listing?.recorded.add(keyOf(object));
    this.listing?.removed.delete(keyOf(object));
    this.changed(object);
    this.options.onChange('local');
  }

  remove(kind: KindName, tenant: string | undefined, name: string): void {
    const key = objectKey(kind, tenant, name);
    const have = this.objects.get(key);
    if (!have) return;
    this.objects.delete(key);
    this.listing?.recorded.delete(key);
    this.listing?.removed.set(key, have);
    this.changed(have);
    this.options.onChange('local');
  }

  /**
   * The agent records what it writes at once (upsert), so the watch can bring an event older than what is
   * held: an endpoint deleted and created again under the same name gets the DELETED of its old incarnation
   * after the new one is recorded. Such an event must not drop or replace the newer object; a DELETED still
   * removes the incarnation it names (same uid) whatever the revisions say. False when nothing changed.
   */
  private applyEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: TenetObject, revision: number): boolean {
    const key = keyOf(object);
    const have = this.objects.get(key);
    if (type === 'DELETED') {
      if (!have) return false;
      const sameIncarnation = have.metadata.uid !== undefined && have.metadata.uid === object.metadata.uid;
      if (!sameIncarnation && revisionOf(have) > revision) return false;
      this.objects.delete(key);
      return true;
    }
    if (have && revisionOf(have) > revision) return false;
    this.objects.set(key, object);
    return true;
  }

  /**
   * A list answered while the agent was writing can be older than what it recorded meanwhile: an attach
   * creates its endpoint and records its tenant and network while a list is in flight (the controller ends
   * an agent's watch whenever the tenants it needs change, so a detach of a tenant's last endpoint and the
   * next attach race a list every time). What the agent recorded during the list is kept unless the list
   * holds a newer version; what it removed during the list stays removed unless the list holds another
   * incarnation. Without it the attach finds its own endpoint missing from the view.
   */
  private replaceWith(snapshot: { revision: number; items: TenetObject[] }, during: LocalWrites): TenetObject[] {
    const fresh = new Map<string, TenetObject>();
    for (const item of snapshot.items) {
      const key = keyOf(item);
      const have = this.objects.get(key);
      // The very object held when the list has it unchanged: views and caches keyed by object stay valid.
      const same = have !== undefined && have.metadata.uid === item.metadata.uid && revisionOf(have) === revisionOf(item);
      fresh.set(key, same ? have : item);
    }
    for (const key of during.recorded) {
      const have = this.objects.get(key);
      const listed = fresh.get(key);
      if (have && (!listed || revisionOf(listed) < revisionOf(have))) fresh.set(key, have);
    }
    for (const [key, gone] of during.removed) {
      const listed = fresh.get(key);
      if (!listed) continue;
      const sameIncarnation =
        gone.metadata.uid !== undefined ? listed.metadata.uid === gone.metadata.uid : revisionOf(listed) <= revisionOf(gone);
      if (sameIncarnation) fresh.delete(key);
    }
    const changes: TenetObject[] = [];
    for (const [key, object] of fresh) if (this.objects.get(key) !== object) changes.push(object);
    for (const [key, object] of this.objects) if (!fresh.has(key)) changes.push(object);
    this.objects.clear();
    for (const [key, object] of fresh) this.objects.set(key, object);
    this.revision = snapshot.revision;
    return changes;
  }

  start(): void {
    void this.loop();
    this.relistTimer = setInterval(() => this.watch?.close(), this.options.relistMs ?? DEFAULT_RELIST_MS);
    this.relistTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.relistTimer) clearInterval(this.relistTimer);
    this.watch?.close();
    this.wake?.();
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.options.onConnection?.(connected);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    let backoff = 200;
    let relist = false;
    while (!this.stopped) {
      try {
        const during: LocalWrites = { recorded: new Set(), removed: new Map() };
        this.listing = during;
        const snapshot = await this.options.client.snapshot([...this.options.kinds]).finally(() => (this.listing = undefined));
        const changes = this.replaceWith(snapshot, during);
        // A list that changed little (the periodic one, usually nothing) is journalled per object, so the
        // host view is updated, not made again (at 10,000 services that cost each agent ~150 ms per list).
        if (!this.synced || changes.length > RELIST_JOURNAL_LIMIT) this.changed(undefined);
        else for (const object of changes) this.changed(object);
        this.synced = true;
        this.setConnected(true);
        backoff = 200;
        this.options.onChange(relist ? 'relist' : 'snapshot');
        relist = false;
        if (this.stopped) break;
        this.watch = this.options.client.watch({ kinds: [...this.options.kinds] }, this.revision, (event) => {
          if (event.revision > this.revision) this.revision = event.revision;
          if (event.type === 'BOOKMARK' || !event.object) return;
          if (!this.applyEvent(event.type, event.object, event.revision)) return;
          this.changed(event.object);
          this.options.onChange('event');
        });
        await this.watch.done;
        if (!this.stopped) this.options.log('debug', 'watch ended; listing again');
        relist = true;
      } catch (error) {
        if (this.stopped) break;
        if (error instanceof ApiError && error.status === 410) {
          this.options.log('info', 'watch history compacted (410); listing again');
          relist = true;
          continue;
        }
        relist = false;
        this.setConnected(false);
        this.options.log('warn', 'controller unreachable; retrying', { error: (error as Error).message, retryInMs: backoff });
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 3000);
      }
    }
  }
}
