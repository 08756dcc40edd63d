/** Runs the real `bin/tenet` as a child process (argument vector, no shell) and collects what it printed. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { adminTokenFor } from '../helpers/controller';

export const TENET_BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tenet');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Long enough for a loaded machine; a CLI still running then is stuck, and the test says where. */
const CLI_TIMEOUT_MS = 60_000;

export function runCli(
  server: string,
  args: string[],
  options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TENET_BIN, ...args], {
      env: { ...process.env, TENET_SERVER: server, TENET_TOKEN: adminTokenFor(server) ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timeoutMs = options.timeoutMs ?? CLI_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tenet ${args.join(' ')} did not finish within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

const WAIT_TIMEOUT_MS = 45_000;

/** A long-running CLI (get -w): lines as they come, a way to wait for one, and a stop that sends SIGINT. */
export interface CliStream {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first line matching; rejects (with what was printed) if none came within `timeoutMs` (default 45 s). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<CliResult>;
}

export function streamCli(server: string, args: string[]): CliStream {
  const child = spawn(process.execPath, [TENET_BIN, ...args], {
    env: { ...process.env, TENET_SERVER: server, TENET_TOKEN: adminTokenFor(server) ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let waiters: { pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    waiters = waiters.filter((w) => {
      const line = stdout.split('\n').find((l) => w.pattern.test(l));
      if (line === undefined) return true;
      w.resolve(line);
      return false;
    });
  };
  const closed = new Promise<CliResult>((resolve) => {
    child.on('close', (code) => {
      for (const w of waiters)
        w.reject(new Error(`tenet exited (${code}) before printing ${w.pattern}; stdout: ${stdout} stderr: ${stderr}`));
      waiters = [];
      resolve({ code, stdout, stderr });
    });
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return {
    child,
    output: () => stdout,
    waitFor: (pattern, timeoutMs = WAIT_TIMEOUT_MS) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.pattern !== pattern);
          reject(
            new Error(
              `tenet ${args.join(' ')} printed no line matching ${pattern} within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`,
            ),
          );
        }, timeoutMs);
        const settle =
          <T>(done: (value: T) => void) =>
          (value: T) => {
            clearTimeout(timer);
            done(value);
          };
        waiters.push({ pattern, resolve: settle(resolve), reject: settle(reject) });
        check();
      }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return closed;
    },
  };
}
