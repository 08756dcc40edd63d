/**
 * The console talks to the controller's REST API only, with the token the user typed (kept in this
 * tab's sessionStorage). What a token may see or change is decided by the API: the page never
 * assumes a permission, it shows the API's answer (a 403 is a message, not a hidden bug).
 */
import type { TenetObject } from '../../src/core/model/object';
import type { ApplyResult, HistoryEntry, List, WatchEvent } from '../../src/core/model/wire';
import type { KindName } from '../../src/core/model/registry';

export type { TenetObject, ApplyResult, HistoryEntry, List, WatchEvent, KindName };

const TOKEN_KEY = 'tenet.token';

export interface Whoami {
  tokenId: string;
  role: 'admin' | 'tenant-admin' | 'viewer' | 'agent';
  tenant?: string;
  host?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details: string[],
  ) {
    super(message);
  }
}

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(body: boolean): Record<string, string> {
  const token = savedToken();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) };
}

async function failure(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { reason?: string; message?: string; details?: string[] } };
    if (body.error) return new ApiError(response.status, body.error.reason ?? '', body.error.message ?? text, body.error.details ?? []);
  } catch {
    // not JSON: shown as it came
  }
  return new ApiError(response.status, '', text || response.statusText, []);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export const whoami = () => api<Whoami>('GET', '/api/v1/whoami');

/** /api/v1/tenants/T/networks or /api/v1/tenants for cluster kinds; all tenants when tenant is undefined. */
export function collectionPath(plural: string, tenantScoped: boolean, tenant?: string): string {
  return tenantScoped && tenant ? `/api/v1/tenants/${encodeURIComponent(tenant)}/${plural}` : `/api/v1/${plural}`;
}

export function itemPath(plural: string, tenantScoped: boolean, tenant: string | undefined, name: string): string {
  if (plural === 'tenants') return `/api/v1/tenants/${encodeURIComponent(name)}`;
  return `${collectionPath(plural, tenantScoped, tenant)}/${encodeURIComponent(name)}`;
}

/**
 * Follows a multi-kind watch stream from `revision` and hands each event over. Ends when `signal`
 * aborts; a dropped stream resumes from the last revision seen (bookmarks included); a 410 (history
 * compacted) asks the caller to start over with `onGone`.
 */
export async function follow(
  path: string,
  revision: number,
  onEvent: (event: WatchEvent) => void,
  signal: AbortSignal,
  onGone: () => void,
): Promise<void> {
  let from = revision;
  while (!signal.aborted) {
    try {
      const separator = path.includes('?') ? '&' : '?';
      const response = await fetch(`${path}${separator}resourceVersion=${from}`, { headers: headers(false), signal });
      if (response.status === 410) return onGone();
      if (!response.ok || !response.body) throw await failure(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent;
          from = Math.max(from, event.revision);
          if (event.type !== 'BOOKMARK') onEvent(event);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) throw error;
    }
    if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export function objectKey(object: Pick<TenetObject, 'kind' | 'metadata'>): string {
  return `${object.kind}/${object.metadata.tenant ?? ''}/${object.metadata.name}`;
}
