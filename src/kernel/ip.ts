/**
 * iproute2 wrappers: `ip`/`bridge` batches in a named network namespace, JSON reads, namespace
 * lifecycle, sysctls. Every name and path is checked against a strict pattern before use, and batch
 * lines are built by callers from already-validated values (no line can contain a newline).
 */
import fs from 'node:fs';
import { KernelError, run } from './exec';

/** Any network namespace name this code may pass to `ip` (callers apply stricter rules of their own). */
export const NETNS_REGEX = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A namespace file path such as /run/netns/x or /proc/123/ns/net. */
export const NETNS_PATH_REGEX = /^\/(?!.*\/\.\.?(\/|$))[A-Za-z0-9_./-]{1,255}$/;
const NETNS_DIR = '/run/netns';

export function assertNetns(name: string): string {
  if (!NETNS_REGEX.test(name)) throw new KernelError(`invalid network namespace name "${name}"`, [], '', null);
  return name;
}

export function assertNetnsPath(path: string): string {
  if (!NETNS_PATH_REGEX.test(path)) throw new KernelError(`invalid network namespace path "${path}"`, [], '', null);
  return path;
}

export function checkLines(lines: readonly string[]): string {
  for (const line of lines) {
    if (/[\n\r\0]/.test(line)) throw new KernelError('batch line contains a line break', [], '', null);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Named network namespaces on this machine (the files in /run/netns). */
/**
 * The last listing of NETNS_DIR and the directory's modification time then. A host where runtimes name
 * every container's namespace holds hundreds of entries, and the agent lists them on every attach (the
 * namespace guard) and every pass: ~1-2 ms each. The listing is reused while the directory's mtime is
 * the one it was read at, and only when it was read well after that mtime (the file system's clock is
 * coarse: an entry added in the same tick as the last change could leave the mtime as it was).
 */
let lastListing: { mtimeNs: bigint; names: string[] } | undefined;
const SAME_TICK_NS = 50_000_000n;

export function listNetns(): string[] {
  try {
    const mtimeNs = fs.statSync(NETNS_DIR, { bigint: true }).mtimeNs;
    if (lastListing?.mtimeNs === mtimeNs) return [...lastListing.names];
    const readAtNs = BigInt(Date.now()) * 1_000_000n;
    const names = fs.readdirSync(NETNS_DIR).filter((name) => NETNS_REGEX.test(name));
    lastListing = readAtNs - mtimeNs > SAME_TICK_NS ? { mtimeNs, names } : undefined;
    return [...names];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export function netnsExists(name: string): boolean {
  return fs.existsSync(`${NETNS_DIR}/${assertNetns(name)}`);
}

export async function addNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'add', assertNetns(name)]);
}

/** Deletes a named namespace; absent is fine (idempotent). */
export async function delNetns(name: string): Promise<void> {
  assertNetns(name);
  if (!netnsExists(name)) return;
  const result = await run('ip', ['netns', 'del', name], { allowFailure: true });
  if (result.code !== 0 && netnsExists(name))
    throw new KernelError(`ip netns del ${name}: ${result.stderr.trim()}`, ['ip', 'netns', 'del', name], result.stderr, result.code);
}

export interface BatchResult {
  /** 1-based line numbers that failed, with the tool's message. */
  failures: { line: number; command: string; message: string }[];
}

function parseBatchFailures(lines: readonly string[], stderr: string): BatchResult {
  const failures: BatchResult['failures'] = [];
  let pending: string[] = [];
  for (const text of stderr.split('\n')) {
    const match = /^Command failed -:(\d+)/.exec(text);
    if (match) {
      const line = Number(match[1]);
      failures.push({ line, command: lines[line - 1] ?? '', message: pending.join('; ') || 'failed' });
      pending = [];
    } else if (text.trim()) pending.push(text.trim());
  }
  return { failures };
}

export interface BatchOptions {
  /** Run inside this named namespace (`-n NS`); default: the current one. */
  netns?: string;
  /** Keep going after a failed line and report every failure (default false: stop at the first and throw). */
  force?: boolean;
  family?: 4 | 6;
}

/**
 * `tool args` inside a named namespace. Not `ip -n`: that (like `ip netns exec`) copies the mount
 * namespace and remounts /sys, which costs time in proportion to the mounts, and every named network
 * namespace is a mount: with 1,500 namespaces `ip -n X` takes 11 ms where nsenter + ip takes 5.
 */
function inNetns(netns: string | undefined, tool: string, args: string[]): [string, string[]] {
  return netns === undefined ? [tool, args] : ['nsenter', [`--net=${NETNS_DIR}/${assertNetns(netns)}`, tool, ...args]];
}

async function batch(tool: 'ip' | 'bridge' | 'tc', lines: readonly string[], options: BatchOptions): Promise<BatchResult> {
  if (lines.length === 0) return { failures: [] };
  const args: string[] = [];
  if (options.family) args.push(`-${options.family}`);
  if (options.force) args.push('-force');
  args.push('-batch', '-');
  const [file, argv] = inNetns(options.netns, tool, args);
  const result = await run(file, argv, { input: checkLines(lines), allowFailure: true });
  const parsed = parseBatchFailures(lines, result.stderr);
  if (result.code !== 0 && !options.force) {
    const first = parsed.failures[0];
    const message = first ? `"${first.command}": ${first.message}` : result.stderr.trim();
    throw new KernelError(`${tool}${options.netns ? ` -n ${options.netns}` : ''}: ${message}`, [tool, ...args], result.stderr, result.code);
  }
  if (result.code !== 0 && parsed.failures.length === 0)
    parsed.failures.push({ line: 0, command: '', message: result.stderr.trim() || `exit ${result.code}` });
  return parsed;
}

export function ipBatch(lines: readonly string[], options: BatchOptions = {}): Promise<BatchResult> {
  return batch('ip', lines, options);
}

export function tcBatch(lines: readonly string[], options: BatchOptions = {}): Promise<BatchResult> {
  return batch('tc', lines, options);
}

export function bridgeBatch(lines: readonly string[], options: BatchOptions = {}): Promise<BatchResult> {
  return batch('bridge', lines, options);
}

/** Runs `ip -batch -` (or `tc -batch -`) inside the namespace at `path` (a container's, which has no name in /run/netns). */
export async function ipBatchAt(path: string, lines: readonly string[], tool: 'ip' | 'tc' = 'ip'): Promise<void> {
  const result = await run('nsenter', [`--net=${assertNetnsPath(path)}`, tool, '-batch', '-'], {
    input: checkLines(lines),
    allowFailure: true,
  });
  if (result.code !== 0) {
    const parsed = parseBatchFailures(lines, result.stderr);
    const first = parsed.failures[0];
    throw new KernelError(
      `${tool} in ${path}: ${first ? `"${first.command}": ${first.message}` : result.stderr.trim()}`,
      ['nsenter', path],
      result.stderr,
      result.code,
    );
  }
}

/** `ip -json` reads, several in one process: one parsed array per line of `lines`. */
export async function ipJsonBatch(
  lines: readonly string[],
  options: { netns?: string; family?: 4 | 6; details?: boolean } = {},
): Promise<unknown[][]> {
  const args = ['-json'];
  if (options.details) args.push('-details');
  if (options.family) args.push(`-${options.family}`);
  args.push('-batch', '-');
  const [file, argv] = inNetns(options.netns, 'ip', args);
  const result = await run(file, argv, { input: checkLines(lines) });
  return parseJsonLines(result.stdout, lines.length);
}

export async function bridgeJson(args: readonly string[], netns?: string): Promise<unknown[]> {
  const [file, argv] = inNetns(netns, 'bridge', ['-json', ...args]);
  const result = await run(file, argv);
  return parseJsonLines(result.stdout, 1)[0];
}

/** Outputs of a JSON batch: one array per command, each on its own line (an empty output is an empty array). */
export function parseJsonLines(stdout: string, expected: number): unknown[][] {
  const arrays = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown[]);
  while (arrays.length < expected) arrays.push([]);
  return arrays;
}

const SYSCTL_KEY_REGEX = /^[a-z0-9_./-]+$/;

/** `sysctl KEY...` output inside a named namespace (one process); keys that do not exist are left out. */
export async function readNetnsSysctls(netns: string, keys: readonly string[]): Promise<string> {
  for (const key of keys) if (!SYSCTL_KEY_REGEX.test(key)) throw new KernelError(`invalid sysctl ${key}`, [], '', null);
  const [file, argv] = inNetns(netns, 'sysctl', ['--', ...keys]);
  return (await run(file, argv, { allowFailure: true })).stdout;
}

/** Writes sysctls inside a named namespace (one process for all of them). */
export async function netnsSysctl(netns: string, settings: Record<string, string>): Promise<void> {
  const pairs = Object.entries(settings).map(([key, value]) => {
    if (!SYSCTL_KEY_REGEX.test(key) || !/^[0-9a-z]+$/.test(value)) throw new KernelError(`invalid sysctl ${key}=${value}`, [], '', null);
    return `${key}=${value}`;
  });
  await run('ip', ['netns', 'exec', assertNetns(netns), 'sysctl', '-q', '-w', ...pairs]);
}
