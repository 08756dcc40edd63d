/**
 * The Node.js twin of native/tenet-cni.c, run by bin/tenet-cni: same wire format, same local
 * answers (VERSION; error 6 for a configuration that is not a JSON object and 7 for an unusable
 * agentSocket, before any connection; error 11, or 50 for STATUS, when the agent is unreachable). Runtimes should
 * run the native shim (installed as /opt/cni/bin/tenet) because this one pays Node's start-up
 * on every call; it exists for machines without a C compiler and to cross-check the native one.
 */
import http from 'node:http';
import { DEFAULT_AGENT_SOCKET } from '../attach/protocol';
import { ENV_NAMES, type CniEnv } from './env';
import { isObject, MAX_SOCKET_PATH } from './config';
import { CniCode } from './errors';
import type { CniOutcome } from './handler';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from './versions';
import { CNI_CONTENT_TYPE, CNI_PATH, encodeInvocationHeaders, EXIT_CODE_HEADER } from './wire';

export async function shim(env: CniEnv, stdin: string): Promise<CniOutcome> {
  let config: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(stdin);
    if (isObject(parsed)) config = parsed;
  } catch {
    // not JSON: answered below (VERSION needs no configuration)
  }
  const version =
    typeof config?.cniVersion === 'string' && /^[0-9A-Za-z.-]{1,32}$/.test(config.cniVersion) ? config.cniVersion : LATEST_VERSION;
  if (env.CNI_COMMAND === 'VERSION')
    return { exitCode: 0, stdout: `${JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS })}\n` };
  // Without a configuration the agent cannot even be found, and retrying would not help: permanent errors, never 11.
  const permanent = (code: number, msg: string, details: string): CniOutcome => ({
    exitCode: 1,
    stdout: `${JSON.stringify({ cniVersion: version, code, msg, details })}\n`,
  });
  if (!config) return permanent(CniCode.DecodeFailure, 'failed to decode network configuration', 'stdin is not a JSON object');
  const socket = config.agentSocket;
  if (
    socket !== undefined &&
    (typeof socket !== 'string' ||
      !socket.startsWith('/') ||
      Buffer.byteLength(socket) > MAX_SOCKET_PATH ||
      /[\\"\u0000-\u001f]/.test(socket))
  ) {
    return permanent(
      CniCode.InvalidNetworkConfig,
      'invalid network configuration',
      `agentSocket must be an absolute path of at most ${MAX_SOCKET_PATH} bytes, without escapes`,
    );
  }
  const socketPath = typeof socket === 'string' ? socket : DEFAULT_AGENT_SOCKET;
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
          if (response.statusCode !== 200 || typeof exit !== 'string')
            return resolve(unavailable(`agent at ${socketPath} answered HTTP ${response.statusCode}`));
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
