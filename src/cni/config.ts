/**
 * The plugin configuration tenet-cni reads from stdin:
 *   {"cniVersion", "name", "type": "tenet", "tenant", "network", "agentSocket"?, "labels"?,
 *    "capabilities"?: {"ips", "mac", "bandwidth"}, "bandwidth"?, "runtimeConfig"?, "args"?, "prevResult"?,
 *    "cni.dev/valid-attachments"?}
 * Decode failures are error 6, an unsupported version error 1, anything else invalid error 7.
 */
import { bandwidthProblems, type Bandwidth } from '../core/dataplane/bandwidth';
import { LABEL_KEY_REGEX, LABEL_VALUE_REGEX, NAME_REGEX } from '../core/model/names';
import { CniCode, CniError } from './errors';
import { isSupportedVersion, LATEST_VERSION, SUPPORTED_VERSIONS, type CniVersion } from './versions';

export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

export interface TenetNetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  tenant: string;
  network: string;
  agentSocket?: string;
  labels: Record<string, string>;
  runtimeConfig: Record<string, unknown>;
  args: Record<string, unknown>;
  prevResult?: Record<string, unknown>;
  validAttachments?: ValidAttachment[];
  /**
   * Rate limits: `runtimeConfig.bandwidth` (the runtime's, per container) over the configuration's own
   * `bandwidth` (the operator's default), as the reference bandwidth plugin reads them.
   */
  bandwidth?: Bandwidth;
}

const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;
/** sockaddr_un holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes stdin; an empty or non-object document is error 6. */
export function decodeStdin(stdin: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (error) {
    throw new CniError(CniCode.DecodeFailure, 'failed to decode network configuration', (error as Error).message);
  }
  if (!isObject(parsed)) throw new CniError(CniCode.DecodeFailure, 'failed to decode network configuration', 'not a JSON object');
  return parsed;
}

/** The version the answer is written in: the request's if we speak it, else the newest we know. */
export function replyVersion(raw: Json | undefined): string {
  return raw && isSupportedVersion(raw.cniVersion) ? raw.cniVersion : LATEST_VERSION;
}

export function checkVersion(raw: Json): CniVersion {
  const version = raw.cniVersion;
  if (typeof version !== 'string' || version === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network configuration', 'cniVersion is missing');
  }
  if (!isSupportedVersion(version)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      'incompatible CNI version',
      `cniVersion ${version} is not one of ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return version;
}

export function parseNetConf(raw: Json, needsNetwork: boolean): TenetNetConf {
  const cniVersion = checkVersion(raw);
  const problems: string[] = [];
  const name = typeof raw.name === 'string' ? raw.name : '';
  if (!NETWORK_NAME.test(name))
    problems.push('name must start with a letter or digit and hold only letters, digits, "_", "." and "-" (at most 200)');
  const type = typeof raw.type === 'string' ? raw.type : '';
  if (type === '' || type.includes('/')) problems.push('type must be the plugin name');
  const tenant = raw.tenant;
  const network = raw.network;
  if (needsNetwork || tenant !== undefined) {
    if (typeof tenant !== 'string' || !NAME_REGEX.test(tenant))
      problems.push(`tenant must be a Tenet name, got ${JSON.stringify(tenant ?? null)}`);
  }
  if (needsNetwork || network !== undefined) {
    if (typeof network !== 'string' || !NAME_REGEX.test(network))
      problems.push(`network must be a Tenet name, got ${JSON.stringify(network ?? null)}`);
  }
  const agentSocket = raw.agentSocket;
  if (
    agentSocket !== undefined &&
    (typeof agentSocket !== 'string' || !agentSocket.startsWith('/') || Buffer.byteLength(agentSocket) > MAX_SOCKET_PATH)
  ) {
    problems.push(`agentSocket must be an absolute path of at most ${MAX_SOCKET_PATH} bytes`);
  }
  const labels: Record<string, string> = {};
  if (raw.labels !== undefined) {
    if (!isObject(raw.labels)) problems.push('labels must be an object of strings');
    else {
      for (const [key, value] of Object.entries(raw.labels)) {
        if (!LABEL_KEY_REGEX.test(key) || typeof value !== 'string' || !LABEL_VALUE_REGEX.test(value))
          problems.push(`label ${key}=${JSON.stringify(value)} is not a valid label`);
        else labels[key] = value;
      }
    }
  }
  for (const key of ['runtimeConfig', 'args', 'prevResult'] as const) {
    if (raw[key] !== undefined && !isObject(raw[key])) problems.push(`${key} must be an object`);
  }
  const validAttachments = parseValidAttachments(raw, problems);
  const runtimeBandwidth = isObject(raw.runtimeConfig) ? raw.runtimeConfig.bandwidth : undefined;
  const bandwidth = runtimeBandwidth ?? raw.bandwidth;
  if (bandwidth !== undefined) problems.push(...bandwidthProblems(bandwidth));
  if (problems.length > 0) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network configuration', problems.join('; '));
  return {
    cniVersion,
    name,
    type,
    tenant: typeof tenant === 'string' ? tenant : '',
    network: typeof network === 'string' ? network : '',
    agentSocket: typeof agentSocket === 'string' ? agentSocket : undefined,
    labels,
    runtimeConfig: isObject(raw.runtimeConfig) ? raw.runtimeConfig : {},
    args: isObject(raw.args) ? raw.args : {},
    prevResult: isObject(raw.prevResult) ? raw.prevResult : undefined,
    validAttachments,
    ...(bandwidth !== undefined ? { bandwidth: bandwidth as Bandwidth } : {}),
  };
}

/** libcni sends both spellings (containernetworking/cni#1101); either is accepted. */
function parseValidAttachments(raw: Json, problems: string[]): ValidAttachment[] | undefined {
  const list = raw['cni.dev/valid-attachments'] ?? raw['cni.dev/attachments'];
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) {
    problems.push('cni.dev/valid-attachments must be a list');
    return undefined;
  }
  const out: ValidAttachment[] = [];
  for (const item of list) {
    if (!isObject(item) || typeof item.containerID !== 'string' || (item.ifname !== undefined && typeof item.ifname !== 'string')) {
      problems.push('every valid attachment needs a containerID and an ifname');
      return undefined;
    }
    out.push({ containerID: item.containerID, ifname: typeof item.ifname === 'string' ? item.ifname : '' });
  }
  return out;
}
