/**
 * History: every change to an intent kind, through any call, becomes one numbered history revision
 * that records the before and after of each object it changed. Rollback to N replays the records
 * after N backwards over the current intent, which gives the intent as it was right after N.
 */
import { refKey, type TenetObject } from '../core/model/object';
import type { HistoryEntry } from '../core/model/wire';
import type { KindName } from '../core/model/registry';

export type ChangeAction = 'created' | 'configured' | 'deleted';

export interface HistoryChange {
  kind: KindName;
  tenant?: string;
  name: string;
  action: ChangeAction;
  before?: TenetObject;
  after?: TenetObject;
}

export interface HistoryRecord {
  revision: number;
  at: string;
  actor: string;
  verb: string;
  message?: string;
  /** Store revision of the commit that wrote this record. */
  storeRevision?: number;
  changes: HistoryChange[];
}

/** What GET /api/v1/history shows: the record without the object bodies. */
export function summarize(record: HistoryRecord): HistoryEntry {
  return {
    revision: record.revision,
    at: record.at,
    actor: record.actor,
    verb: record.verb,
    ...(record.message !== undefined ? { message: record.message } : {}),
    changes: record.changes.map((c) => ({ kind: c.kind, ...(c.tenant ? { tenant: c.tenant } : {}), name: c.name, action: c.action })),
  };
}

/**
 * Intent right after history revision `target`: start from the current intent and undo every
 * later record, newest first. `records` must hold every record after `target`.
 */
export function intentAt(current: Map<string, TenetObject>, records: readonly HistoryRecord[], target: number): Map<string, TenetObject> {
  const state = new Map(current);
  const later = records.filter((r) => r.revision > target).sort((a, b) => b.revision - a.revision);
  for (const record of later) {
    for (const change of [...record.changes].reverse()) {
      const key = refKey({ kind: change.kind, tenant: change.tenant ?? '', name: change.name });
      if (change.before) state.set(key, change.before);
      else state.delete(key);
    }
  }
  return state;
}
