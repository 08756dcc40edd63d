/** HTTP/1.1 over the agent's unix socket: routes src/attach/protocol.ts requests (and the CNI endpoint) to the AttachService. */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { AttachApiError } from '../attach/api';
import { cniDeps, handleCniRequest } from '../cni/endpoint';
import type { AttachService } from './attach-service';
import type { Log } from './reconciler';

const MAX_BODY = 1 << 20;

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function readJson(request: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      if (size > MAX_BODY) return reject(new AttachApiError(413, 'InvalidRequest', 'request body larger than 1 MiB'));
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch {
        reject(new AttachApiError(400, 'InvalidRequest', 'request body is not valid JSON'));
      }
    });
  });
}

/** `extra`: answers the requests it takes (the agent's /metrics) and returns true; false passes them on. */
export async function startAttachServer(
  socketPath: string,
  service: AttachService,
  log: Log,
  extra?: (request: http.IncomingMessage, response: http.ServerResponse) => boolean,
): Promise<http.Server> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  if (fs.existsSync(socketPath)) fs.unlinkSync(socketPath);
  const deps = cniDeps(service);
  const server = http.createServer((request, response) => {
    if (handleCniRequest(deps, request, response)) return;
    if (extra?.(request, response)) return;
    const route = `${request.method} ${(request.url ?? '').split('?')[0]}`;
    const started = process.hrtime.bigint();
    const handle = async (): Promise<unknown> => {
      switch (route) {
        case 'POST /v1/attach':
          return service.attach((await readJson(request)) as never);
        case 'POST /v1/detach':
          return service.detach((await readJson(request)) as never);
        case 'POST /v1/check':
          return service.check((await readJson(request)) as never);
        case 'GET /v1/attachments':
          return { items: await service.attachments() };
        case 'GET /v1/healthz':
          return service.healthz();
        default:
          throw new AttachApiError(404, 'NotFound', `no route ${route}`);
      }
    };
    handle().then(
      (body) => {
        send(response, 200, body);
        log('debug', 'attach api', { route, ms: Number(process.hrtime.bigint() - started) / 1e6 });
      },
      (error: unknown) => {
        const status = error instanceof AttachApiError ? error.status : 500;
        const reason = error instanceof AttachApiError ? (error.reason ?? 'Internal') : 'Internal';
        const message = (error as Error).message;
        if (status >= 500) log('warn', 'attach api error', { route, status, error: message });
        send(response, status, { error: { code: status, reason, message } });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o660);
  return server;
}
