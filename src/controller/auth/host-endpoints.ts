/**
 * Which endpoints sit on which host, followed from the store: an agent may only see the tenants
 * that have an endpoint on its host (the HostView scope), and this answers "which are those" for
 * gets and lists without reading every endpoint. Watch streams track the same thing from their
 * own events (exact and in order); this index seeds them.
 */
import type { Store, StoreEvent, Watcher } from '../../store/store';
import { objectPrefix, parseObjectKey } from '../../store/keys';

export class HostEndpoints {
  /** host -> endpoint store key -> its tenant and createRevision */
  private readonly byHost = new Map<string, Map<string, { tenant: string; createRevision: number }>>();
  /** endpoint store key -> host, to move or drop an endpoint whose host changed. */
  private readonly hostOf = new Map<string, string>();
  private watcher: Watcher | undefined;
  private stopped = false;

  constructor(private readonly store: Store) {}

  async start(): Promise<void> {
    this.byHost.clear();
    this.hostOf.clear();
    const prefix = objectPrefix('Endpoint');
    const listed = await this.store.range(prefix);
    for (const kv of listed.items) this.apply('put', kv.key, kv.value, kv.createRevision);
    this.watcher = await this.store.watch(prefix, listed.revision, {
      onEvents: (events: StoreEvent[]) => {
        for (const event of events) this.apply(event.type, event.key, event.value, event.createRevision);
      },
      onError: () => {
        // Fell behind: list again. Until then answers may be stale, which only narrows or widens an agent's view briefly.
        if (!this.stopped) setTimeout(() => void this.start().catch(() => undefined), 1000).unref();
      },
    });
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.cancel();
  }

  /** Endpoint keys on `host` with their tenants; with `atRevision`, only those that already existed then. */
  endpointsOn(host: string, atRevision = Number.MAX_SAFE_INTEGER): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, entry] of this.byHost.get(host) ?? []) if (entry.createRevision <= atRevision) out.set(key, entry.tenant);
    return out;
  }

  tenantsOn(host: string): Set<string> {
    return new Set([...(this.byHost.get(host)?.values() ?? [])].map((e) => e.tenant));
  }

  private apply(type: 'put' | 'delete', key: string, value: string, createRevision: number): void {
    const ref = parseObjectKey(key);
    if (!ref) return;
    const previous = this.hostOf.get(key);
    if (previous !== undefined) {
      this.byHost.get(previous)?.delete(key);
      if (this.byHost.get(previous)?.size === 0) this.byHost.delete(previous);
      this.hostOf.delete(key);
    }
    if (type === 'delete') return;
    const host = endpointHost(value);
    if (host === undefined) return;
    let onHost = this.byHost.get(host);
    if (!onHost) this.byHost.set(host, (onHost = new Map()));
    onHost.set(key, { tenant: ref.tenant, createRevision });
    this.hostOf.set(key, host);
  }
}

/** spec.host of a stored endpoint, or undefined when not placed (or unreadable). */
export function endpointHost(value: string | unknown): string | undefined {
  let object: unknown = value;
  if (typeof value === 'string') {
    try {
      object = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const host = (object as { spec?: { host?: unknown } } | null)?.spec?.host;
  return typeof host === 'string' && host !== '' ? host : undefined;
}
