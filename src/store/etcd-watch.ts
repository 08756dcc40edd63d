/**
 * One etcd watch stream per Store watch. The library's own watch manager silently re-creates
 * broken streams; here a broken stream is reported through onError instead, because the Store
 * contract is "re-list on error" and that keeps failure handling in one place above the store.
 */
import { castGrpcError, type Etcd3, type IDuplexStream, type IEvent, type IWatchRequest, type IWatchResponse } from 'etcd3';
import { CompactedError, type StoreEvent, type WatchHandlers, type Watcher } from './store';
import { isCompactedMessage, isFutureRevisionMessage } from './etcd-errors';

const CREATE_TIMEOUT_MS = 10_000;
/** How long to wait for etcd's own compaction notice after the probe already saw compaction. */
const COMPACT_NOTICE_MS = 2_000;

export interface EtcdWatchSpec {
  key: Buffer;
  rangeEnd: Buffer;
  afterRevision: number;
  strip(key: Buffer): string;
  handlers: WatchHandlers;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export interface EtcdWatch extends Watcher {
  /** End the watch and report error through onError (e.g. the store is closing). */
  fail(error: Error): void;
}

export async function openEtcdWatch(client: Etcd3, spec: EtcdWatchSpec): Promise<EtcdWatch> {
  const stream: Stream = await client.watchClient.watch();
  let lastRevision = spec.afterRevision;
  let finished = false;
  let ready = false;
  let compactRevision = 0;
  const pending: StoreEvent[][] = [];
  let settleCreated: ((error?: Error) => void) | undefined;
  let noticeCompacted: (() => void) | undefined;

  const stop = () => {
    if (finished) return;
    finished = true;
    // Half-close first: the library marks a member failed when a still-writable stream errors,
    // and our own cancel must not count against a healthy member.
    stream.end();
    stream.cancel();
  };

  const fail = (error: Error) => {
    if (finished) return;
    stop();
    if (settleCreated) settleCreated(error);
    else if (ready) spec.handlers.onError(error);
  };

  const deliver = (events: StoreEvent[]) => {
    if (events.length === 0) return;
    // Queue behind anything not yet handed over, so order holds across the start-up hand-over.
    if (ready && pending.length === 0) spec.handlers.onEvents(events);
    else pending.push(events);
  };

  stream.on('data', (res: IWatchResponse) => {
    if (finished) return;
    if (res.created) {
      const settle = settleCreated;
      settleCreated = undefined;
      createdHeaderRevision = Number(res.header?.revision ?? 0);
      settle?.();
    }
    if (res.canceled) {
      compactRevision = Number(res.compact_revision ?? 0);
      if (compactRevision > 0) {
        noticeCompacted?.();
        fail(new CompactedError(lastRevision, compactRevision));
      } else {
        fail(new Error(`etcd cancelled the watch${res.cancel_reason ? `: ${res.cancel_reason}` : ''}; re-list`));
      }
      return;
    }
    const events: StoreEvent[] = [];
    for (const event of res.events ?? []) {
      const converted = toStoreEvent(event, spec.strip);
      // etcd never repeats a revision on one stream; the guard keeps the no-duplicates promise local.
      if (converted.revision <= lastRevision) continue;
      events.push(converted);
    }
    if (events.length > 0) lastRevision = events[events.length - 1].revision;
    deliver(events);
  });
  stream.on('error', (error: Error) => {
    // Before the watch exists the caller gets etcd's own error, so a dead member is retried on another one.
    if (settleCreated) fail(castGrpcError(error));
    else fail(new Error(`etcd watch stream broke: ${error.message}; re-list`));
  });
  stream.on('end', () => fail(new Error('etcd watch stream ended; re-list')));

  let createdHeaderRevision = 0;
  const created = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => settleCreated?.(new Error('etcd did not confirm the watch in time')), CREATE_TIMEOUT_MS);
    settleCreated = (error) => {
      clearTimeout(timer);
      settleCreated = undefined;
      if (error) reject(error);
      else resolve();
    };
  });
  stream.write({
    create_request: {
      key: spec.key,
      range_end: spec.rangeEnd,
      start_revision: spec.afterRevision + 1,
      prev_kv: true,
    },
  });
  try {
    await created;
  } catch (error) {
    stop();
    throw error;
  }

  // etcd reports a compacted start revision only later, from a background loop, and says nothing
  // when all is well; a read at the start revision answers at once.
  if (compactRevision === 0 && spec.afterRevision + 1 <= createdHeaderRevision) {
    try {
      await client.kv.range({ key: spec.key, revision: spec.afterRevision + 1, count_only: true });
    } catch (error) {
      if (isCompactedMessage(error)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, COMPACT_NOTICE_MS);
          noticeCompacted = () => {
            clearTimeout(timer);
            resolve();
          };
          if (compactRevision > 0) noticeCompacted();
        });
        stop();
        throw new CompactedError(spec.afterRevision, compactRevision || spec.afterRevision + 1);
      }
      if (!isFutureRevisionMessage(error)) {
        stop();
        throw error;
      }
    }
  }
  if (compactRevision > 0) {
    stop();
    throw new CompactedError(spec.afterRevision, compactRevision);
  }
  if (finished) throw new Error('etcd watch stream broke while starting; re-list');

  ready = true;
  // Events that arrived while starting are handed over once the caller has its Watcher.
  if (pending.length > 0) {
    setImmediate(() => {
      while (pending.length > 0 && !finished) spec.handlers.onEvents(pending.shift()!);
    });
  }
  return { cancel: stop, fail };
}

function toStoreEvent(event: IEvent, strip: (key: Buffer) => string): StoreEvent {
  const kv = event.kv;
  if (event.type === 'Delete') {
    const prev = event.prev_kv;
    return {
      type: 'delete',
      key: strip(kv.key),
      value: prev ? prev.value.toString() : '',
      revision: Number(kv.mod_revision),
      createRevision: prev ? Number(prev.create_revision) : 0,
    };
  }
  return {
    type: 'put',
    key: strip(kv.key),
    value: kv.value.toString(),
    revision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
}
