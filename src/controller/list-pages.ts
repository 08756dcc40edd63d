/**
 * List pagination (`?limit=N`, `?continue=TOKEN`) consistent at one revision, as Kubernetes does:
 * the first page reads the whole list at revision R; later pages come from that same read, so a
 * list paged through shows one state, whatever changes meanwhile. The rest of a read waits here,
 * in memory, under a random id that the opaque continue token carries.
 *
 * Where this differs from Kubernetes (which re-reads etcd at R with the token's start key): the
 * rest lives in this controller's memory, so a token expires after PAGE_TTL_MS, when more than
 * MAX_PAGED_LISTS lists are being paged, when the controller restarts, and on another controller
 * of an HA set — each answered 410 Gone, as Kubernetes answers a token whose revision was compacted:
 * list again from the start. A token is bound to the caller that listed and to the same query.
 */
import { randomBytes } from 'node:crypto';
import type { TenetObject } from '../core/model/object';
import { gone, invalid } from './errors';

export const PAGE_TTL_MS = 5 * 60_000;
export const MAX_PAGED_LISTS = 256;

interface Pending {
  actor: string;
  query: string;
  revision: number;
  rest: TenetObject[];
  expires: number;
}

export interface Page {
  items: TenetObject[];
  revision: number;
  continueToken?: string;
  remaining?: number;
}

export class ListPages {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly ttlMs = PAGE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The first page of a fresh read: `limit` items (all of them when limit is undefined). */
  first(items: TenetObject[], revision: number, limit: number | undefined, actor: string, query: string): Page {
    return this.cut(items, revision, limit, actor, query);
  }

  /** The next page of an earlier read. */
  next(token: string, limit: number | undefined, actor: string, query: string): Page {
    this.expire();
    const id = decodeToken(token);
    const entry = this.pending.get(id);
    if (!entry)
      throw gone('the continue token has expired (or was issued by another controller); list again from the start, without continue');
    if (entry.actor !== actor || entry.query !== query)
      throw invalid(
        "the continue token belongs to another list request: repeat the first request's path, labelSelector and fieldSelector",
        ['continue: does not match this request'],
      );
    this.pending.delete(id);
    return this.cut(entry.rest, entry.revision, limit, actor, query);
  }

  private cut(items: TenetObject[], revision: number, limit: number | undefined, actor: string, query: string): Page {
    if (limit === undefined || items.length <= limit) return { items, revision };
    this.expire();
    while (this.pending.size >= MAX_PAGED_LISTS) this.pending.delete(this.pending.keys().next().value!);
    const id = randomBytes(18).toString('base64url');
    const rest = items.slice(limit);
    this.pending.set(id, { actor, query, revision, rest, expires: this.now() + this.ttlMs });
    return { items: items.slice(0, limit), revision, continueToken: encodeToken(id, revision), remaining: rest.length };
  }

  private expire(): void {
    const now = this.now();
    for (const [id, entry] of this.pending) if (entry.expires <= now) this.pending.delete(id);
  }
}

function encodeToken(id: string, revision: number): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: revision, id })).toString('base64url');
}

function decodeToken(token: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const id = (parsed as { id?: unknown } | undefined)?.id;
  if (token.length > 200 || typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id))
    throw invalid('continue: not a continue token of this API', ['continue: malformed']);
  return id;
}

/** `?limit=`: a whole number; 0 means no limit (as in Kubernetes). */
export function limitFrom(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(text))
    throw invalid(`limit must be a whole number >= 0 (got ${JSON.stringify(text.slice(0, 40))})`, ['limit: must be a whole number >= 0']);
  const limit = Number(text);
  return limit === 0 ? undefined : limit;
}
