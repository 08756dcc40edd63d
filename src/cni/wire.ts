/**
 * The wire format between the native shim (native/tenet-cni.c) and the agent's CNI endpoint:
 *   POST /v1/cni, Content-Type: application/x-tenet-cni, body = the runtime's stdin verbatim,
 *   one header per CNI_* variable (x-cni-command, x-cni-containerid, ...) and per podman configuration
 *   variable (x-containers-conf, x-containers-storage_conf; see podman.ts), each value
 *   percent-encoded byte by byte outside printable ASCII so any environment survives HTTP.
 *   Answer: 200, x-cni-exit-code: N, body = what the plugin prints on stdout.
 * Kept this small so the C side stays a few dozen lines with no JSON writer.
 */
import { ENV_NAMES, type CniEnv } from './env';
import type { CniInvocation, CniOutcome } from './handler';

export const CNI_PATH = '/v1/cni';
export const CNI_CONTENT_TYPE = 'application/x-tenet-cni';
export const EXIT_CODE_HEADER = 'x-cni-exit-code';
export const MAX_STDIN_BYTES = 1 << 20;

export function headerName(envName: string): string {
  return `x-${envName.toLowerCase().replace('_', '-')}`;
}

/** Inverse of the shim's encoding: %XX is one byte; everything else is itself. */
export function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes).toString('utf8');
}

export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeInvocation(headers: Record<string, string | string[] | undefined>, body: Buffer): CniInvocation {
  const env: CniEnv = {};
  for (const name of ENV_NAMES) {
    const value = headers[headerName(name)];
    if (typeof value === 'string') env[name] = percentDecode(value);
  }
  return { env, stdin: body.toString('utf8') };
}

export function encodeInvocationHeaders(env: CniEnv): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ENV_NAMES) {
    const value = env[name];
    if (value !== undefined) headers[headerName(name)] = percentEncode(value);
  }
  return headers;
}

export function outcomeHeaders(outcome: CniOutcome): Record<string, string | number> {
  return {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(outcome.stdout),
    [EXIT_CODE_HEADER]: String(outcome.exitCode),
  };
}
