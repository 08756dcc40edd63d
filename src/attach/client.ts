/**
 * AttachApi over the agent's unix socket: HTTP/1.1 with JSON bodies, as protocol.ts specifies.
 */
import http from 'node:http';
import type { AttachErrorBody, AttachRequest, AttachResult, Attachment, DetachRequest } from './protocol';
import { AgentUnreachableError, AttachApiError, type AttachApi } from './api';

export class AttachClient implements AttachApi {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 60_000,
  ) {}

  attach(request: AttachRequest): Promise<AttachResult> {
    return this.call<AttachResult>('POST', '/v1/attach', request);
  }

  detach(request: DetachRequest): Promise<{ detached: boolean }> {
    return this.call('POST', '/v1/detach', request);
  }

  check(request: AttachRequest): Promise<AttachResult> {
    return this.call<AttachResult>('POST', '/v1/check', request);
  }

  async attachments(): Promise<Attachment[]> {
    return (await this.call<{ items: Attachment[] }>('GET', '/v1/attachments')).items;
  }

  healthz(): Promise<{ ok: boolean; controllerReachable: boolean }> {
    return this.call('GET', '/v1/healthz');
  }

  close(): void {
    this.agent.destroy();
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise<T>((resolve, reject) => {
      const request = http.request(
        { socketPath: this.socketPath, path, method, headers, agent: this.agent, timeout: this.timeoutMs },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? {} : JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300 && parsed !== undefined) return resolve(parsed as T);
            const error = (parsed as AttachErrorBody | undefined)?.error;
            reject(new AttachApiError(status, error?.reason, error?.message ?? `agent answered ${status}: ${text.slice(0, 200)}`));
          });
        },
      );
      request.on('timeout', () =>
        request.destroy(new AgentUnreachableError(`agent at ${this.socketPath} did not answer within ${this.timeoutMs} ms`)),
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        reject(
          error instanceof AgentUnreachableError
            ? error
            : new AgentUnreachableError(`agent at ${this.socketPath} unreachable: ${error.code ?? error.message}`),
        );
      });
      request.end(payload);
    });
  }
}
