/**
 * Starts a real `tenet controller` process (built dist/, real SQLite file) for tests.
 *
 *   const controller = await startController();
 *   t.after(() => controller.stop());
 *   await controller.client.create({...});
 *
 * A temporary data dir under os.tmpdir() is made when none is given and removed by stop();
 * a given data dir is left alone (so a test can restart on it).
 *
 * Auth is on: `client` carries the bootstrap admin token the controller wrote to DATA/admin.token
 * (also `adminToken`), and adminTokenFor(url) finds it for helpers that only know a URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TenetClient } from '../../src/client/api-client';

export interface StartOptions {
  dataDir?: string;
  /** More arguments after `controller --data-dir D --listen 127.0.0.1:0` (e.g. another --listen, --store). */
  extraArgs?: string[];
  /** Extra environment (e.g. TENET_RETAIN_REVISIONS, TENET_WATCH_BOOKMARK_MS). */
  env?: Record<string, string>;
}

export interface RunningController {
  /** First listener's URL (http://127.0.0.1:PORT). */
  url: string;
  /** Every listener's URL, in the order printed (unix:/path for sockets). */
  urls: string[];
  dataDir: string;
  pid: number;
  /** A client with the admin token (and the CA of --tls auto, when used). */
  client: TenetClient;
  /** The bootstrap admin token from DATA/admin.token. */
  adminToken: string;
  /** DATA/tls/ca.crt when the controller serves HTTPS with --tls auto. */
  caFile?: string;
  /** What the controller wrote to stderr so far (its pino log), for failure messages. */
  logs(): string;
  /** SIGTERM, wait for exit; removes a temporary data dir. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit; the data dir is kept so restart() can follow (stop() afterwards cleans up). */
  kill(): Promise<void>;
  /** Stops (SIGTERM) and starts again on the same data dir and arguments; the data dir is kept. */
  restart(): Promise<RunningController>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const LINE = /^tenet controller listening on (\S+) \(data: (.*)\)$/;
const START_TIMEOUT_MS = 20_000;

/** URL (each listener's) -> admin token of the controller started there, for helpers given only a URL. */
const adminTokens = new Map<string, string>();

export function adminTokenFor(url: string): string | undefined {
  return adminTokens.get(url);
}

export async function startController(options: StartOptions = {}): Promise<RunningController> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-controller-'));
  return launch(dataDir, temporary, options);
}

async function launch(dataDir: string, temporary: boolean, options: StartOptions): Promise<RunningController> {
  const extraArgs = options.extraArgs ?? [];
  const args = [MAIN, 'controller', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...extraArgs];
  const expectedLines = 1 + extraArgs.filter((a) => a === '--listen' || a.startsWith('--listen=')).length;
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, TENET_LOG_LEVEL: process.env.TENET_LOG_LEVEL ?? 'warn', ...(options.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 256 * 1024) stderr = stderr.slice(-128 * 1024);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  let onEarlyExit: (() => void) | undefined;
  const urls = await new Promise<string[]>((resolve, reject) => {
    const found: string[] = [];
    let buffer = '';
    const timer = setTimeout(() => fail(new Error(`controller did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n--- controller stderr ---\n${stderr.slice(-4000)}`));
    };
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        const match = LINE.exec(line);
        if (match) found.push(match[1]);
        if (found.length === expectedLines) {
          clearTimeout(timer);
          resolve(found);
        }
      }
    });
    onEarlyExit = () => fail(new Error(`controller exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`));
    child.once('exit', onEarlyExit);
  });
  child.off('exit', onEarlyExit!);
  const adminToken = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  for (const url of urls) adminTokens.set(url, adminToken);
  const caPath = path.join(dataDir, 'tls', 'ca.crt');
  const caFile = urls[0].startsWith('https:') && fs.existsSync(caPath) ? caPath : undefined;

  const finish = async (signal: NodeJS.Signals, removeTemporary: boolean) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    if (temporary && removeTemporary) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const running: RunningController = {
    url: urls[0],
    urls,
    dataDir,
    pid: child.pid!,
    client: new TenetClient({
      servers: [urls[0]],
      timeoutMs: 60_000,
      token: adminToken,
      ...(caFile ? { ca: fs.readFileSync(caFile) } : {}),
    }),
    adminToken,
    ...(caFile ? { caFile } : {}),
    logs: () => stderr,
    stop: () => finish('SIGTERM', true),
    kill: () => finish('SIGKILL', false),
    restart: async () => {
      await finish('SIGTERM', false);
      return launch(dataDir, temporary, options);
    },
  };
  return running;
}

/** Child processes a test may also want to end by pid (e.g. after a kill -9 test). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export type { ChildProcess };
