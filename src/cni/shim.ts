/**
 * The Node.js twin of native/tenet-cni.c, run by bin/tenet-cni: same wire format, same local
 * answers (VERSION; error 11, or 50 for STATUS, when the agent is unreachable). Runtimes should
 * run the native shim (installed as /opt/cni/bin/tenet) because this one pays Node's start-up
 * on every call; it exists for machines without a C compiler and to cross-check the native one.
 */
import http from 'node:http';
import { DEFAULT_AGENT_SOCKET } from '../attach/protocol';
import { ENV_NAMES, type CniEnv } from './env';
import { isObject } from './config';
import { CniCode } from './errors';
import type { CniOutcome } from './handler';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from './versions';
import { CNI_CONTENT_TYPE, CNI_PATH, encodeInvocationHeaders, EXIT_CODE_HEADER } from './wire';

export async function shim(env: CniEnv, stdin: string): Promise<CniOutcome> {
  let config: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(stdin);
    if (isObject(parsed)) config = parsed;
  } catch {
    // The agent reports decode errors, so it must still be found: take the socket as the native shim's scanner would.
    const match = /"agentSocket"\s*:\s*"([^"\\]+)"/.exec(stdin);
    if (match) config = { agentSocket: match[1] };
  }
  const version = typeof config.cniVersion === 'string' && /^[0-9A-Za-z.-]{1,32}$/.test(config.cniVersion) ? config.cniVersion : LATEST_VERSION;
  if (env.CNI_COMMAND === 'VERSION') return { exitCode: 0, stdout: `${JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS })}\n` };
  const socketPath = typeof config.agentSocket === 'string' && config.agentSocket.startsWith('/') ? config.agentSocket : DEFAULT_AGENT_SOCKET;
  const unavailable = (details: string): CniOutcome => {
    const status = env.CNI_COMMAND === 'STATUS';
    const error = status
      ? { cniVersion: version, code: CniCode.NotAvailable, msg: 'tenet agent unavailable', details }
      : { cniVersion: version, code: CniCode.TryAgainLater, msg: 'tenet agent unreachable, try again later', details };
    return { exitCode: 1, stdout: `${JSON.stringify(error)}\n` };
  };
  return new Promise<CniOutcome>((resolve) => {
    const body = Buffer.from(stdin, 'utf8');
    const request = http.request(
      {
        socketPath,
        path: CNI_PATH,
        method: 'POST',
        headers: { 'content-type': CNI_CONTENT_TYPE, 'content-length': body.length, connection: 'close', ...encodeInvocationHeaders(env) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const exit = response.headers[EXIT_CODE_HEADER];
          if (response.statusCode !== 200 || typeof exit !== 'string') return resolve(unavailable(`agent at ${socketPath} answered HTTP ${response.statusCode}`));
          resolve({ exitCode: Number.parseInt(exit, 10), stdout: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve(unavailable(`connect ${socketPath}: ${error.code ?? error.message}`)));
    request.end(body);
  });
}

export function envFromProcess(): CniEnv {
  const env: CniEnv = {};
  for (const name of ENV_NAMES) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}
