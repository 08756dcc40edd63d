/**
 * The CNI_* environment of one invocation, validated (SPEC.md v1.1.0, section 2, "Parameters").
 * Missing or malformed variables are error 4 and the message names them.
 */
import { CONTAINER_ID_REGEX, IFNAME_REGEX } from '../core/model/names';
import { CniCode, CniError } from './errors';
import type { CniCommand } from './versions';

export interface CniEnv {
  CNI_COMMAND?: string;
  CNI_CONTAINERID?: string;
  CNI_NETNS?: string;
  CNI_IFNAME?: string;
  CNI_ARGS?: string;
  CNI_PATH?: string;
  /** podman's configuration files, when not in /etc/containers: they say where its database is (podman.ts). */
  CONTAINERS_CONF?: string;
  CONTAINERS_STORAGE_CONF?: string;
}

export const ENV_NAMES = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
  'CONTAINERS_CONF',
  'CONTAINERS_STORAGE_CONF',
] as const;

export interface AttachmentParams {
  containerId: string;
  ifName: string;
  /** Empty when the runtime no longer knows it (DEL only). */
  netns: string;
  args: Map<string, string>;
}

/** "FOO=BAR;ABC=123" -> map; an item without '=' or with an empty key is invalid. */
export function parseCniArgs(text: string | undefined): Map<string, string> {
  const args = new Map<string, string>();
  if (!text) return args;
  for (const item of text.split(';')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.InvalidEnvironment, 'invalid CNI_ARGS', `item "${item}" is not KEY=VALUE`);
    args.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return args;
}

/** Netns paths are absolute, without "..", NUL or newlines (they end up in the agent's requests and logs). */
export function isNetnsPath(path: string): boolean {
  return path.startsWith('/') && path.length <= 4096 && !/[\0\n\r]/.test(path) && !path.split('/').includes('..');
}

/** Validates what ADD, DEL and CHECK need; DEL accepts an empty CNI_NETNS (the spec's cleanup-by-id case). */
export function attachmentParams(env: CniEnv, command: CniCommand): AttachmentParams {
  const bad: string[] = [];
  const containerId = env.CNI_CONTAINERID ?? '';
  if (!CONTAINER_ID_REGEX.test(containerId)) bad.push('CNI_CONTAINERID');
  const ifName = env.CNI_IFNAME ?? '';
  if (!IFNAME_REGEX.test(ifName) || ifName === '.' || ifName === '..') bad.push('CNI_IFNAME');
  const netns = env.CNI_NETNS ?? '';
  if (netns === '' ? command !== 'DEL' : !isNetnsPath(netns)) bad.push('CNI_NETNS');
  if (bad.length > 0) {
    throw new CniError(CniCode.InvalidEnvironment, `invalid or missing environment variables: ${bad.join(', ')}`, describe(env, bad));
  }
  return { containerId, ifName, netns, args: parseCniArgs(env.CNI_ARGS) };
}

function describe(env: CniEnv, names: string[]): string {
  return names.map((name) => `${name}=${JSON.stringify(env[name as keyof CniEnv] ?? null)}`).join(', ');
}
