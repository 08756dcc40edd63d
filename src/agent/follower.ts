/**
 * Follows the controller with list-then-watch: one snapshot of the kinds a host needs, then a watch from
 * its revision; a 410, a dropped stream or an unreachable controller lead to a fresh snapshot after a
 * short back-off, and every `resyncMs` the snapshot is taken again anyway. Until the first snapshot
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
  resyncMs?: number;
}

export class Follower {
  private readonly objects = new Map<string, TenetObject>();
  private watch?: WatchHandle;
  private stopped = false;
  private wake?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  revision = 0;
  /** Counts changes to the followed objects: equal generations mean an equal list (views can be reused). */
  generation = 0;
  synced = false;
  connected = false;

  constructor(private readonly options: FollowerOptions) {}

  list(): TenetObject[] {
    return [...this.objects.values()];
  }

  get<T = TenetObject>(kind: KindName, tenant: string | undefined, name: string): T | undefined {
    return this.objects.get(objectKey(kind, tenant, name)) as T | undefined;
  }

  /** Records an object the agent just wrote, so its view includes it before the watch catches up. */
  upsert(object: TenetObject): void {
    const have = this.objects.get(keyOf(object));
    if (have && revisionOf(have) > revisionOf(object)) return;
    this.objects.set(keyOf(object), object);
    this.generation++;
    this.options.onChange('local');
  }

  remove(kind: KindName, tenant: string | undefined, name: string): void {
    if (!this.objects.delete(objectKey(kind, tenant, name))) return;
    this.generation++;
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

  start(): void {
    void this.loop();
    const resyncMs = this.options.resyncMs ?? 60000;
    this.resyncTimer = setInterval(() => this.watch?.close(), resyncMs);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
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
        const snapshot = await this.options.client.snapshot([...this.options.kinds]);
        this.objects.clear();
        for (const item of snapshot.items) this.objects.set(keyOf(item), item);
        this.revision = snapshot.revision;
        this.generation++;
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
          this.generation++;
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
