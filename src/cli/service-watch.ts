/**
 * `tenet get services -w`: a Service's READY and HOSTS columns are computed by the controller when
 * the service is read (status.readyBackends, status.realizedHosts: docs/services.md), and they change
 * with endpoints and hosts, not with the service. So the service stream alone would print them empty
 * and never update them. This follower:
 *  - completes every service line with the controller's computed status (a GET of the service), in
 *    the order the events came;
 *  - follows the Endpoint stream of the same tenant(s), and after endpoint changes (debounced) lists the
 *    services again and prints MODIFIED for each whose computed columns changed;
 *  - lists again every REFRESH_MS too, for HOSTS (hosts report the tenants they realize in heartbeats).
 */
import type { WatchEvent } from '../core/model/wire';
import type { TenetObject } from '../core/model/object';
import type { TenetClient } from '../client/api-client';
import { ApiError } from '../client/errors';

const DEBOUNCE_MS = 100;
const REFRESH_MS = 5000;
const RESTART_MS = 500;

type Emit = (type: string, objects: TenetObject[]) => void;

const keyOf = (o: TenetObject) => `${o.metadata.tenant ?? ''}/${o.metadata.name}`;
const computed = (o: TenetObject) => {
  const status = (o.status ?? {}) as { readyBackends?: number; realizedHosts?: number };
  return `${status.readyBackends ?? ''}/${status.realizedHosts ?? ''}`;
};

export class ServiceWatchColumns {
  private readonly shown = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private handle?: { close(): void; done: Promise<void> };
  private timer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private stopped = false;
  private revision = 0;

  constructor(
    private readonly client: TenetClient,
    private readonly filter: { tenant?: string; selectorText?: string },
    private readonly wanted: (o: TenetObject) => boolean,
    private readonly emit: Emit,
  ) {}

  /** Prints service lines in order, each with the controller's computed status. */
  show(type: string, objects: TenetObject[]): void {
    this.queue = this.queue.then(async () => {
      const out = type === 'DELETED' ? objects : await Promise.all(objects.map((o) => this.complete(o)));
      for (const o of out) {
        if (type === 'DELETED') this.shown.delete(keyOf(o));
        else this.shown.set(keyOf(o), computed(o));
      }
      this.emit(type, out);
    });
  }

  /** Follows endpoints from `revision` (the list's) until stop(). */
  start(revision: number): void {
    this.revision = Math.max(this.revision, revision);
    this.follow();
    this.refreshTimer = setInterval(() => this.schedule(), REFRESH_MS);
    this.refreshTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.handle?.close();
    if (this.timer) clearTimeout(this.timer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
  }

  /** Waits for the lines already queued. */
  settled(): Promise<void> {
    return this.queue;
  }

  private async complete(o: TenetObject): Promise<TenetObject> {
    // A listed service carries its computed status already; a watch event's object does not.
    if ((o.status as { readyBackends?: number } | undefined)?.readyBackends !== undefined) return o;
    try {
      return await this.client.get<TenetObject>('Service', o.metadata.name, o.metadata.tenant);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return o;
      throw error;
    }
  }

  private follow(): void {
    if (this.stopped) return;
    const handle = this.client.watch({ kind: 'Endpoint', tenant: this.filter.tenant }, this.revision, (event: WatchEvent) => {
      this.revision = Math.max(this.revision, event.revision);
      if (event.type !== 'BOOKMARK') this.schedule();
    });
    this.handle = handle;
    handle.done
      .catch((error: unknown) => {
        // Compacted: what happened meanwhile is caught by the next list; follow from now on.
        if (error instanceof ApiError && error.status === 410) this.revision = 0;
      })
      .finally(() => {
        if (this.stopped) return;
        this.schedule();
        setTimeout(() => this.follow(), RESTART_MS).unref();
      });
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.queue = this.queue.then(() => this.refresh()).catch(() => undefined);
    }, DEBOUNCE_MS);
  }

  /** Lists the services again; prints MODIFIED for those whose computed columns changed. */
  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const list = await this.client.list('Service', { tenant: this.filter.tenant, labelSelector: this.filter.selectorText });
    if (this.revision === 0) this.revision = list.resourceVersion;
    const changed = list.items.filter((o) => this.wanted(o) && this.shown.has(keyOf(o)) && this.shown.get(keyOf(o)) !== computed(o));
    for (const o of changed) this.shown.set(keyOf(o), computed(o));
    if (changed.length > 0) this.emit('MODIFIED', changed);
  }
}
