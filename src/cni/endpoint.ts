/**
 * The agent's CNI endpoint (POST /v1/cni), for a plain node:http server or for Fastify.
 * The agent mounts it on its attach socket; every attachment still goes through the attach API.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { AttachClient } from '../attach/client';
import type { AttachApi } from '../attach/api';
import { runCni, type CniDeps } from './handler';
import { podmanLabels } from './podman';
import { CNI_CONTENT_TYPE, CNI_PATH, decodeInvocation, MAX_STDIN_BYTES, outcomeHeaders } from './wire';

export function cniDeps(attach: AttachApi): CniDeps {
  return { attach, netnsExists: (path) => fs.existsSync(path), containerLabels: (containerId, env) => podmanLabels(containerId, env) };
}

/** Deps that reach the attach API through the agent's own socket, exactly as any other client. */
export function cniDepsForSocket(socketPath: string): CniDeps {
  return cniDeps(new AttachClient(socketPath));
}

/** For node:http servers: returns false when the request is not for the CNI endpoint. */
export function handleCniRequest(deps: CniDeps, request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== 'POST' || (request.url ?? '').split('?')[0] !== CNI_PATH) return false;
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_STDIN_BYTES) chunks.push(chunk);
  });
  request.on('end', () => {
    if (size > MAX_STDIN_BYTES) {
      response
        .writeHead(413, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 413, reason: 'InvalidRequest', message: 'configuration larger than 1 MiB' } }));
      return;
    }
    void runCni(decodeInvocation(request.headers, Buffer.concat(chunks)), deps).then((outcome) => {
      response.writeHead(200, outcomeHeaders(outcome)).end(outcome.stdout);
    });
  });
  return true;
}

/** For Fastify servers: registers POST /v1/cni with a raw body parser scoped to this route's content type. */
export async function registerCniRoute(app: FastifyInstance, deps: CniDeps): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser(CNI_CONTENT_TYPE, { parseAs: 'buffer', bodyLimit: MAX_STDIN_BYTES }, (_request, body, done) =>
      done(null, body),
    );
    scope.post(CNI_PATH, async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const outcome = await runCni(decodeInvocation(request.headers, body), deps);
      void reply.code(200).headers(outcomeHeaders(outcome)).send(outcome.stdout);
      return reply;
    });
  });
}
