/**
 * Where the CLI finds its controller, token and CA: flags, then environment, then a config file
 * with kubeconfig-like contexts (~/.config/tenet/config.yaml, $XDG_CONFIG_HOME/tenet/config.yaml, or TENET_CONFIG):
 *
 *   current-context: lab
 *   contexts:
 *     - name: lab
 *       server: https://127.0.0.1:7400        # or servers: [url, url]
 *       token: tnt_...                        # or token-file: /path (relative: to this file's directory)
 *       ca-file: /path/to/ca.crt              # relative: to this file's directory
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

export interface Connection {
  servers?: string[];
  token?: string;
  caFile?: string;
}

export class ConfigError extends Error {}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TENET_CONFIG) return env.TENET_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'tenet', 'config.yaml');
}

function text(value: unknown, field: string, file: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${file}: ${field} must be a non-empty string`);
  return value.trim();
}

/** The chosen context of the config file, or {} when there is no file and no context was asked for. */
export function loadContext(contextName: string | undefined, env: NodeJS.ProcessEnv = process.env): Connection {
  const file = configPath(env);
  if (!fs.existsSync(file)) {
    if (contextName !== undefined || env.TENET_CONFIG) throw new ConfigError(`config file ${file} does not exist`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${file}: expected a mapping with contexts`);
  const doc = parsed as { 'current-context'?: unknown; contexts?: unknown };
  const contexts = doc.contexts ?? [];
  if (!Array.isArray(contexts)) throw new ConfigError(`${file}: contexts must be a list`);
  const wanted = contextName ?? text(doc['current-context'], 'current-context', file);
  if (wanted === undefined) return {};
  const found = contexts.find((c) => (c as { name?: unknown } | null)?.name === wanted) as Record<string, unknown> | undefined;
  if (!found) throw new ConfigError(`${file}: no context named "${wanted}"`);
  const server = text(found.server, 'server', file);
  const servers = found.servers === undefined ? undefined : found.servers;
  if (servers !== undefined && (!Array.isArray(servers) || servers.some((s) => typeof s !== 'string')))
    throw new ConfigError(`${file}: servers must be a list of URLs`);
  let token = text(found.token, 'token', file);
  const tokenFile = text(found['token-file'], 'token-file', file);
  // Relative paths are the config file's, like ca-file: the file must mean the same from any directory.
  if (!token && tokenFile) token = readSecretFile(path.resolve(path.dirname(file), tokenFile));
  const caFile = text(found['ca-file'], 'ca-file', file);
  return {
    ...(servers
      ? { servers: servers as string[] }
      : server
        ? {
            servers: server
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
    ...(token ? { token } : {}),
    ...(caFile ? { caFile: path.resolve(path.dirname(file), caFile) } : {}),
  };
}

export function readSecretFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Flags win over environment, environment over the config file. Empty values count as unset. */
export function resolveConnection(
  flags: { server?: string; token?: string; caFile?: string; context?: string },
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const context = loadContext(flags.context || env.TENET_CONTEXT || undefined, env);
  const serverText = flags.server || env.TENET_SERVER || undefined;
  const servers = serverText
    ? serverText
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : context.servers;
  const token = flags.token || env.TENET_TOKEN || context.token;
  const caFile = flags.caFile || env.TENET_CA || context.caFile;
  return { ...(servers ? { servers } : {}), ...(token ? { token } : {}), ...(caFile ? { caFile } : {}) };
}
