/**
 * Serves Docker's plugin protocol on /run/docker/plugins/<name>.sock (the path dockerd hard-codes)
 * for the agent's --docker-plugin flag.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { TenetClient } from '../client/api-client';
import type { AttachApi } from '../attach/api';
import { DockerDriver } from './driver';
import { shortHash } from './naming';
import { PLUGIN_CONTENT_TYPE } from './protocol';
import { StagingNamespace } from './staging';
import { DEFAULT_NETNS_PREFIX, assertNetnsPrefix } from '../core/dataplane/names';

export const DEFAULT_PLUGIN_SOCKET = '/run/docker/plugins/tenet.sock';
const MAX_BODY = 1 << 20;

export interface DockerPluginOptions {
  attach: AttachApi;
  client: TenetClient;
  hostName: string;
  socketPath?: string;
  /** The agent's --netns-prefix: the staging namespace is one of the agent's namespaces and carries it. */
  netnsPrefix?: string;
  daemonNetnsPid?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface DockerPlugin {
  socketPath: string;
  driver: DockerDriver;
  /**
   * Stops serving and deletes the staging namespace: it is empty between calls (every interface has
   * moved out), nothing outside the driver refers to it, and the next CreateEndpoint of a restarted
   * agent makes it again. `keepStaging` is for callers that stop serving only for a moment.
   */
  close(options?: { keepStaging?: boolean }): Promise<void>;
}

/**
 * One staging namespace per host and socket, so several lab agents on one machine never share one.
 * Named under the agent's --netns-prefix (`<prefix>dkr-<hash>`; never `<prefix>t-...`, which is a
 * tenant's), so whoever sweeps an agent's namespaces by its prefix (a lab's `down`) finds it too.
 */
export function stagingNamespaceName(hostName: string, socketPath = DEFAULT_PLUGIN_SOCKET, netnsPrefix = DEFAULT_NETNS_PREFIX): string {
  return `${assertNetnsPrefix(netnsPrefix)}dkr-${shortHash(`${hostName}|${socketPath}`, 10)}`;
}

export async function startDockerPlugin(options: DockerPluginOptions): Promise<DockerPlugin> {
  const socketPath = options.socketPath ?? DEFAULT_PLUGIN_SOCKET;
  const staging = new StagingNamespace(stagingNamespaceName(options.hostName, socketPath, options.netnsPrefix));
  const driver = new DockerDriver({
    attach: options.attach,
    client: options.client,
    hostName: options.hostName,
    staging,
    daemonNetnsPid: options.daemonNetnsPid,
    log: options.log,
  });
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        body = {};
      }
      const url = (request.url ?? '').split('?')[0];
      void driver.handle(size > MAX_BODY ? '/too-large' : url, body).then((answer) => {
        const text = JSON.stringify(answer);
        response.writeHead(200, { 'content-type': PLUGIN_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) }).end(text);
      });
    });
  });
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    driver,
    close: async ({ keepStaging = false } = {}) => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(socketPath, { force: true });
      if (!keepStaging) await staging.remove();
    },
  };
}
