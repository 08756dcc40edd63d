/**
 * NDJSON watch streams: every change after a revision, in order, with no gaps; a BOOKMARK line
 * when nothing was sent for a while; 410 before the stream starts when the revision is too old.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CompactedError, type Store, type StoreEvent, type Watcher } from '../store/store';
import { parseObjectKey } from '../store/keys';
import type { KindName } from '../core/model/registry';
import type { LabelSelector } from '../core/model/selectors';
import { SelectionTracker } from './selection-tracker';
import type { TenetObject } from '../core/model/object';
import type { WatchEvent } from '../core/model/wire';
import { gone, invalid } from './errors';

export interface WatchFilter {
  prefix: string;
  kinds: Set<KindName>;
  tenant?: string;
  selector?: LabelSelector;
}

/** What access control narrows a stream to (set per request by the auth hooks). */
export interface WatchGuard {
  /** Whether the caller may see this event; asked in order for every event that passed the filter. */
  visible(ref: { kind: KindName; tenant: string; name: string }, object: TenetObject, type: 'put' | 'delete'): boolean;
  /** True when what the caller may see grew or shrank: the stream then ends after this batch and the client lists again. */
  mustRelist(): boolean;
}

/** Streams that are open, so shutdown can end them instead of waiting for clients. */
export class WatchStreams {
  private readonly open = new Set<() => void>();

  constructor(readonly bookmarkMs: number) {}

  add(end: () => void): () => void {
    this.open.add(end);
    return () => {
      this.open.delete(end);
    };
  }

  endAll(): void {
    for (const end of [...this.open]) end();
  }
}

/** The revision a watch starts after: the given resourceVersion, or now. */
export async function startRevision(store: Store, text: unknown): Promise<number> {
  if (text === undefined || text === '') return store.currentRevision();
  if (typeof text !== 'string' || !/^[0-9]{1,15}$/.test(text))
    throw invalid('resourceVersion must be a revision number', ['resourceVersion: must be a non-negative integer']);
  const requested = Number(text);
  // A revision from the future would make the stream wait silently for changes that may never come
  // (a client that mixed up controllers or data dirs): say so instead. Read now, from the store itself,
  // because another controller on the same store may have moved it since this one last looked.
  const current = await store.currentRevision();
  if (requested > current) {
    const message = `resourceVersion ${requested} is newer than the store's current revision ${current}; list again and watch from its resourceVersion`;
    throw invalid(message, [`resourceVersion: ${message}`]);
  }
  return requested;
}

const MAX_BUFFERED = 16 * 1024 * 1024;

export async function streamWatch(
  request: FastifyRequest,
  reply: FastifyReply,
  store: Store,
  streams: WatchStreams,
  filter: WatchFilter,
  after: number,
): Promise<void> {
  const raw = reply.raw;
  let headersSent = false;
  let ended = false;
  let lastRevision = after;
  let sentSinceBookmark = false;
  const early: string[] = [];
  let watcher: Watcher | undefined;
  // eslint-disable-next-line prefer-const -- `end` above the assignment clears it
  let timer: NodeJS.Timeout | undefined;
  let forget: () => void = () => undefined;

  const end = () => {
    if (ended) return;
    ended = true;
    watcher?.cancel();
    if (timer) clearInterval(timer);
    forget();
    if (!raw.writableEnded) raw.end();
  };
  const write = (line: string) => {
    if (ended) return;
    if (!headersSent) {
      early.push(line);
      return;
    }
    raw.write(line);
    sentSinceBookmark = true;
    // A client that stops reading must not make the controller hold its events forever: it re-watches from its last revision.
    if (raw.writableLength > MAX_BUFFERED) end();
  };
  const tracker = filter.selector ? new SelectionTracker(filter.selector, after) : undefined;
  // Read before the watch starts, so the tracker knows every key's state before the first event arrives.
  if (tracker) {
    const listed = await store.range(filter.prefix);
    tracker.seed(listed.items, listed.revision);
  }
  const onEvents = (events: StoreEvent[]) => {
    let text = '';
    for (const event of events) {
      if (event.revision > lastRevision) lastRevision = event.revision;
      const line = toLine(event, filter, request.watchGuard, tracker);
      if (line) text += line;
    }
    if (text) write(text);
    if (request.watchGuard?.mustRelist()) end();
  };
  try {
    watcher = await store.watch(filter.prefix, after, { onEvents, onError: () => end() });
  } catch (error) {
    if (error instanceof CompactedError) {
      throw gone(
        `resourceVersion ${error.requested} is too old (oldest retained is ${error.oldest}); list again and watch from its resourceVersion`,
      );
    }
    throw error;
  }
  reply.hijack();
  raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  raw.flushHeaders();
  headersSent = true;
  if (early.length > 0) write(early.splice(0).join(''));
  forget = streams.add(end);
  timer = setInterval(() => {
    if (!sentSinceBookmark) write(`${JSON.stringify({ type: 'BOOKMARK', revision: lastRevision } satisfies WatchEvent)}\n`);
    sentSinceBookmark = false;
  }, streams.bookmarkMs);
  timer.unref();
  request.raw.on('close', end);
  raw.on('close', end);
  raw.on('error', end);
  // A client that went away while the watch was being set up fired 'close' before anyone listened.
  if (raw.destroyed || request.raw.socket?.destroyed) end();
}

/**
 * Every watcher of a store shares the same event objects, so each event is parsed and serialized once
 * for all of them (a write would otherwise cost a JSON round trip per connected agent).
 */
const decoded = new WeakMap<StoreEvent, { object: TenetObject; line: string } | null>();

function storeType(event: StoreEvent): 'ADDED' | 'MODIFIED' | 'DELETED' {
  return event.type === 'delete' ? 'DELETED' : event.createRevision === event.revision ? 'ADDED' : 'MODIFIED';
}

function decode(event: StoreEvent): { object: TenetObject; line: string } | null {
  let entry = decoded.get(event);
  if (entry !== undefined) return entry;
  try {
    const object = JSON.parse(event.value) as TenetObject;
    object.metadata.resourceVersion = String(event.revision);
    entry = { object, line: `${JSON.stringify({ type: storeType(event), object, revision: event.revision } satisfies WatchEvent)}\n` };
  } catch {
    entry = null;
  }
  decoded.set(event, entry);
  return entry;
}

function toLine(
  event: StoreEvent,
  filter: WatchFilter,
  guard: WatchGuard | undefined,
  tracker: SelectionTracker | undefined,
): string | undefined {
  const ref = parseObjectKey(event.key);
  if (!ref || !filter.kinds.has(ref.kind)) return undefined;
  if (filter.tenant !== undefined && ref.tenant !== filter.tenant) return undefined;
  const entry = decode(event);
  if (!entry) return undefined;
  let line = entry.line;
  if (tracker) {
    const type = tracker.typeFor(event, entry.object);
    if (type === undefined) return undefined;
    if (type !== storeType(event))
      line = `${JSON.stringify({ type, object: entry.object, revision: event.revision } satisfies WatchEvent)}\n`;
  }
  if (guard && !guard.visible(ref, entry.object, event.type)) return undefined;
  return line;
}
