/**
 * The API's answers as they travel: defined once, written by the controller and read by the client.
 */
import type { KindName } from './registry';
import type { TenetObject } from './object';
import type { FlowChange } from '../policy/impact';

/** What one object of an apply, rollback or write became. */
export interface ChangeResult {
  kind: KindName;
  tenant?: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged' | 'deleted';
}

/** The answer of POST /api/v1/apply and /api/v1/rollback. */
export interface ApplyResult {
  /** The history revision written; null for a dry run or when nothing changed. */
  revision: number | null;
  results: ChangeResult[];
  /**
   * A dry run's effect on traffic: the flows whose verdict the apply would change, in the tenants it
   * touches (every tenant for a GlobalPolicy). Absent when nothing applied bears on policy.
   */
  impact?: FlowChange[];
  /** Set when `impact` was cut at its limit. */
  impactTruncated?: true;
}

/** One entry of GET /api/v1/history: a history record without the object bodies. */
export interface HistoryEntry {
  revision: number;
  at: string;
  actor: string;
  verb: string;
  message?: string;
  changes: { kind: KindName; tenant?: string; name: string; action: 'created' | 'configured' | 'deleted' }[];
}

/** One line of a watch stream. */
export interface WatchEvent<T = TenetObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object?: T;
  revision: number;
}

/** The body of a list answer (GET on a collection). */
export interface List<T = TenetObject> {
  apiVersion: string;
  kind: 'List';
  /**
   * `continue` (with `remainingItemCount`) when `?limit=` cut the list: pass it as `?continue=` for
   * the next page, read at the same resourceVersion.
   */
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: T[];
}
