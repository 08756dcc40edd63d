/**
 * Labels of a podman container, for CNI ADD. podman 4 (Debian 12's 4.3, CNI backend) hands a CNI
 * plugin no labels at all — not in CNI_ARGS (only IgnoreUnknown and K8S_POD_NAME), not in
 * runtimeConfig, not in args — and asking it (`podman inspect`) during ADD deadlocks, as the calling
 * `podman run` holds the container's lock. What it has done before ADD is store the container's
 * configuration, labels included, in its database: `<static_dir>/bolt_state.db` (static_dir defaults
 * to `<graphroot>/libpod`), bucket `ctr` / <container id> / key `config`. The plugin runs with
 * podman's environment, so CONTAINERS_CONF and CONTAINERS_STORAGE_CONF (forwarded by the shim) say
 * where that is when podman is not using /etc/containers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BoltFormatError, BoltReader } from './boltdb';

const DEFAULT_CONTAINERS_CONF = '/etc/containers/containers.conf';
const DEFAULT_STORAGE_CONF = '/etc/containers/storage.conf';
const DEFAULT_GRAPHROOT = '/var/lib/containers/storage';
const MAX_DB_BYTES = 512 << 20;
const ATTEMPTS = 3;

export interface PodmanEnv {
  CONTAINERS_CONF?: string;
  CONTAINERS_STORAGE_CONF?: string;
}

function usablePath(value: string | undefined): string | undefined {
  return value && path.isAbsolute(value) && !/[\0\n]/.test(value) ? value : undefined;
}

/** One `key = "value"` of a TOML table, as podman's own files write them (a plain basic string). */
export function tomlString(text: string, table: string, key: string): string | undefined {
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = /^\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$/.exec(line);
    if (header) {
      current = header[1];
      continue;
    }
    if (current !== table) continue;
    const match = /^([A-Za-z0-9_-]+)\s*=\s*"([^"\\]*)"\s*(#.*)?$/.exec(line);
    if (match && match[1] === key) return match[2];
  }
  return undefined;
}

const MAX_CONF_BYTES = 1 << 20;

/** A configuration file's text; the path comes from the caller's environment, so only a small regular file is read (never a FIFO or /dev/zero). */
function readText(file: string | undefined): string {
  if (!file) return '';
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile() || stat.size > MAX_CONF_BYTES) return '';
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Where podman keeps its database for this environment. */
export function podmanDatabase(env: PodmanEnv): string {
  const storage = readText(usablePath(env.CONTAINERS_STORAGE_CONF) ?? DEFAULT_STORAGE_CONF);
  const graphroot = usablePath(tomlString(storage, 'storage', 'graphroot')) ?? DEFAULT_GRAPHROOT;
  const containers = readText(usablePath(env.CONTAINERS_CONF) ?? DEFAULT_CONTAINERS_CONF);
  const staticDir = usablePath(tomlString(containers, 'engine', 'static_dir')) ?? path.join(graphroot, 'libpod');
  return path.join(staticDir, 'bolt_state.db');
}

/**
 * The labels podman stored for this container, or undefined when podman does not know it (another
 * runtime, no database, rootless storage elsewhere). A database caught mid-write is read again.
 */
export async function podmanLabels(containerId: string, env: PodmanEnv): Promise<Record<string, string> | undefined> {
  if (!/^[0-9a-f]{64}$/.test(containerId)) return undefined;
  const database = podmanDatabase(env);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let file: Buffer;
    try {
      const stat = await fs.promises.stat(database);
      if (!stat.isFile() || stat.size > MAX_DB_BYTES) return undefined;
      file = await fs.promises.readFile(database);
    } catch {
      return undefined;
    }
    try {
      const config = new BoltReader(file).get(['ctr', containerId, 'config']);
      if (!config) return undefined;
      const labels = (JSON.parse(config.toString('utf8')) as { labels?: unknown }).labels;
      if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return {};
      return Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch (error) {
      if (!(error instanceof BoltFormatError || error instanceof SyntaxError) || attempt === ATTEMPTS) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return undefined;
}
