/**
 * Typed client of the controller's REST API, shared by the CLI, the agent and the tests.
 * Built on node:http/https (not fetch) so that a custom CA, unix-socket-free streaming
 * watches and several servers with fail-over are all plain options.
 */
import http from 'node:http';
import https from 'node:https';
import { kindInfo, type KindName } from '../core/model/registry';
import type { AnyObject, ObjectOf, TenetObject } from '../core/model/object';
import type { ApplyResult, HistoryEntry, List, WatchEvent } from '../core/model/wire';

export type { ApplyResult, HistoryEntry, WatchEvent } from '../core/model/wire';
export type { ChangeResult as ApplyResultItem } from '../core/model/wire';
import { ApiError, UnreachableError } from './errors';

export interface ClientOptions {
  /** One or more base URLs (`http://h:p`, `https://h:p` or `unix:/abs/path.sock`); requests fail over to the next on connection errors. */
  servers: string[];
  token?: string;
  /** PEM CA bundle to verify the server's certificate against. */
  ca?: string | Buffer;
  /** Per-request timeout (not applied to watch streams). */
  timeoutMs?: number;
  /** A watch stream silent this long (no event, no bookmark) is ended as unreachable; default 60 s. */
  watchIdleMs?: number;
}

export interface ListResult<T = TenetObject> {
  items: T[];
  resourceVersion: number;
  /** Set when `limit` cut the list: pass as `continueToken` for the next page. */
  continueToken?: string;
}

export interface WatchHandle {
  /** Resolves when the stream ends (closed by either side); rejects with ApiError (e.g. 410) or UnreachableError. */
  done: Promise<void>;
  close(): void;
}

export class TenetClient {
  private serverIndex = 0;

  constructor(private readonly options: ClientOptions) {
    if (options.servers.length === 0) throw new Error('at least one server URL is required');
  }

  get server(): string {
    return this.options.servers[this.serverIndex];
  }

  /** Path of a collection (no name) or an item. */
  static path(kind: KindName, tenant?: string, name?: string): string {
    const info = kindInfo(kind);
    if (!info) throw new Error(`unknown kind ${kind}`);
    const base = info.tenantScoped && tenant ? `/api/v1/tenants/${encodeURIComponent(tenant)}/${info.plural}` : `/api/v1/${info.plural}`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  /** Without a type argument the items are typed by the kind: `list('Network')` lists Networks. */
  list<K extends KindName>(
    kind: K,
    options?: { tenant?: string; labelSelector?: string; fieldSelector?: string; limit?: number; continueToken?: string },
  ): Promise<ListResult<ObjectOf<K>>>;
  list<T>(kind: KindName, options?: { tenant?: string; labelSelector?: string }): Promise<ListResult<T>>;
  async list<T>(
    kind: KindName,
    options: { tenant?: string; labelSelector?: string; fieldSelector?: string; limit?: number; continueToken?: string } = {},
  ): Promise<ListResult<T>> {
    const query = new URLSearchParams();
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.continueToken !== undefined) query.set('continue', options.continueToken);
    const suffix = query.size > 0 ? `?${query}` : '';
    const body = (await this.request('GET', TenetClient.path(kind, options.tenant) + suffix)) as List<T>;
    return {
      items: body.items,
      resourceVersion: Number(body.metadata.resourceVersion),
      ...(body.metadata.continue ? { continueToken: body.metadata.continue } : {}),
    };
  }

  get<K extends KindName>(kind: K, name: string, tenant?: string): Promise<ObjectOf<K>>;
  get<T>(kind: KindName, name: string, tenant?: string): Promise<T>;
  async get<T>(kind: KindName, name: string, tenant?: string): Promise<T> {
    return (await this.request('GET', TenetClient.path(kind, tenant, name))) as T;
  }

  /** get, but undefined on 404. */
  find<K extends KindName>(kind: K, name: string, tenant?: string): Promise<ObjectOf<K> | undefined>;
  find<T>(kind: KindName, name: string, tenant?: string): Promise<T | undefined>;
  async find<T>(kind: KindName, name: string, tenant?: string): Promise<T | undefined> {
    try {
      return await this.get<T>(kind, name, tenant);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Every address allocated in a network (GET .../networks/N/addresses), whoever holds it. */
  async usedAddresses(tenant: string, network: string): Promise<string[]> {
    const body = (await this.request('GET', `${TenetClient.path('Network', tenant, network)}/addresses`)) as { addresses: string[] };
    return body.addresses;
  }

  async create<T extends AnyObject>(object: T): Promise<T> {
    return (await this.request('POST', TenetClient.path(object.kind, object.metadata.tenant), object)) as T;
  }

  async update<T extends AnyObject>(object: T): Promise<T> {
    return (await this.request('PUT', TenetClient.path(object.kind, object.metadata.tenant, object.metadata.name), object)) as T;
  }

  async patch<T = TenetObject>(kind: KindName, name: string, tenant: string | undefined, patch: unknown): Promise<T> {
    return (await this.request('PATCH', TenetClient.path(kind, tenant, name), patch, 'application/merge-patch+json')) as T;
  }

  async updateStatus<T = TenetObject>(kind: KindName, name: string, tenant: string | undefined, status: unknown): Promise<T> {
    return (await this.request('PUT', `${TenetClient.path(kind, tenant, name)}/status`, { status })) as T;
  }

  async delete<T = TenetObject>(
    kind: KindName,
    name: string,
    tenant?: string,
    options: { cascade?: boolean; dryRun?: boolean } = {},
  ): Promise<T> {
    const query = new URLSearchParams();
    if (options.cascade) query.set('cascade', 'true');
    if (options.dryRun) query.set('dryRun', 'All');
    const suffix = query.size > 0 ? `?${query}` : '';
    return (await this.request('DELETE', TenetClient.path(kind, tenant, name) + suffix)) as T;
  }

  async apply(objects: unknown[], options: { dryRun?: boolean; message?: string } = {}): Promise<ApplyResult> {
    return (await this.request('POST', '/api/v1/apply', {
      objects,
      dryRun: options.dryRun ?? false,
      message: options.message,
    })) as ApplyResult;
  }

  async history(): Promise<HistoryEntry[]> {
    return ((await this.request('GET', '/api/v1/history')) as { items: HistoryEntry[] }).items;
  }

  async rollback(revision: number, options: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return (await this.request('POST', '/api/v1/rollback', { revision, ...(options.dryRun ? { dryRun: true } : {}) })) as ApplyResult;
  }

  async snapshot(kinds: KindName[]): Promise<{ revision: number; items: TenetObject[] }> {
    return (await this.request('GET', `/api/v1/snapshot?kinds=${kinds.join(',')}`)) as { revision: number; items: TenetObject[] };
  }

  /**
   * Streams events after `afterRevision`. `target` is one kind (optionally in one tenant, optionally
   * label-selected: an object that leaves the selection then arrives as DELETED) or several kinds.
   * A 410 rejects `done` with ApiError(410): list again and watch from the new revision.
   */
  watch(
    target: { kind: KindName; tenant?: string; labelSelector?: string } | { kinds: KindName[] },
    afterRevision: number,
    onEvent: (event: WatchEvent) => void,
  ): WatchHandle {
    const path =
      'kinds' in target
        ? `/api/v1/watch?kinds=${target.kinds.join(',')}&resourceVersion=${afterRevision}`
        : `${TenetClient.path(target.kind, target.tenant)}?watch=1&resourceVersion=${afterRevision}${target.labelSelector ? `&labelSelector=${encodeURIComponent(target.labelSelector)}` : ''}`;
    let request: http.ClientRequest | undefined;
    let closed = false;
    const done = new Promise<void>((resolve, reject) => {
      request = this.send('GET', path, undefined, undefined, (response) => {
        if ((response.statusCode ?? 500) >= 400) {
          readBody(response).then((text) => reject(toApiError(response.statusCode ?? 500, text)), reject);
          return;
        }
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent);
          }
        });
        response.on('end', () => resolve());
        response.on('error', (error) => (closed ? resolve() : reject(new UnreachableError(error.message))));
      });
      request.on('error', (error) => (closed ? resolve() : reject(new UnreachableError(`${this.server}: ${error.message}`))));
      // The controller sends a BOOKMARK at least every 10 s: silence for much longer means the connection is
      // half-open (a host that vanished without closing it), so end the stream and let the caller resume.
      const idleMs = this.options.watchIdleMs ?? WATCH_IDLE_MS;
      request.setTimeout(idleMs, () => request?.destroy(new Error(`no event or bookmark for ${idleMs / 1000} s`)));
    });
    return {
      done,
      close: () => {
        closed = true;
        request?.destroy();
      },
    };
  }

  /** Raw request with JSON body; fails over across servers on connection errors. */
  async request(method: string, path: string, body?: unknown, contentType = 'application/json', signal?: AbortSignal): Promise<unknown> {
    const attempts = this.options.servers.length;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      signal?.throwIfAborted();
      try {
        return await this.requestOnce(method, path, body, contentType, signal);
      } catch (error) {
        if (!(error instanceof UnreachableError)) throw error;
        lastError = error;
        this.serverIndex = (this.serverIndex + 1) % this.options.servers.length;
      }
    }
    throw lastError ?? new UnreachableError('no server reachable');
  }

  private requestOnce(method: string, path: string, body: unknown, contentType: string, signal?: AbortSignal): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const request = this.send(method, path, body, contentType, (response) => {
        readBody(response).then((text) => {
          const status = response.statusCode ?? 500;
          if (status >= 400) return reject(toApiError(status, text));
          try {
            resolve(text ? JSON.parse(text) : undefined);
          } catch {
            reject(new ApiError(status, 'Internal', `server answered invalid JSON`));
          }
        }, reject);
      });
      request.setTimeout(this.options.timeoutMs ?? 30000, () => request.destroy(new Error('request timed out')));
      request.on('error', (error) => reject(signal?.aborted ? error : new UnreachableError(`${this.server}: ${error.message}`)));
      if (!signal) return;
      // A long poll (the agent's trace channel) ends with its owner: an aborted request is not retried elsewhere.
      const onAbort = (): void => void request.destroy(new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      request.once('close', () => signal.removeEventListener('abort', onAbort));
    });
  }

  private send(
    method: string,
    path: string,
    body: unknown,
    contentType: string | undefined,
    onResponse: (response: http.IncomingMessage) => void,
  ): http.ClientRequest {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const server = this.server;
    let request: http.ClientRequest;
    if (server.startsWith('unix:')) {
      // Lab agents live in other network namespaces and reach the controller through a unix socket.
      request = http.request({ socketPath: server.slice('unix:'.length), path, method, headers, agent: unixKeepAlive }, onResponse);
    } else {
      const url = new URL(path, server);
      const transport = url.protocol === 'https:' ? https : http;
      request = transport.request(
        url,
        { method, headers, ca: this.options.ca, agent: url.protocol === 'https:' ? undefined : keepAlive },
        onResponse,
      );
    }
    request.end(payload);
    return request;
  }
}

/** Six missed bookmarks (the controller's default interval is 10 s). */
const WATCH_IDLE_MS = 60_000;

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });
const unixKeepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function toApiError(status: number, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as { error?: { reason?: string; message?: string; details?: string[] } };
    if (parsed.error)
      return new ApiError(status, parsed.error.reason ?? 'Error', parsed.error.message ?? `HTTP ${status}`, parsed.error.details ?? []);
  } catch {
    // not JSON: fall through to a generic error
  }
  return new ApiError(status, 'Error', `HTTP ${status}: ${text.slice(0, 200)}`);
}
