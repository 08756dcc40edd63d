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

export function runCli(server: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TENET_BIN, ...args], {
      env: { ...process.env, TENET_SERVER: server, TENET_TOKEN: adminTokenFor(server) ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running CLI (get -w): lines as they come, a way to wait for one, and a stop that sends SIGINT. */
export interface CliStream {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp): Promise<string>;
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
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        check();
      }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return closed;
    },
  };
}
