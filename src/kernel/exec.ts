/**
 * The one place that starts kernel tools. Argument vectors only (execFile/spawn, never a shell), an
 * optional stdin for `-batch -` / `-f -`, a timeout, and errors that carry the tool's own message.
 */
import { spawn } from 'node:child_process';

export class KernelError extends Error {
  constructor(
    message: string,
    readonly command: string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Resolve instead of rejecting on a non-zero exit (for `-force` batches whose errors are reported per line). */
  allowFailure?: boolean;
}

export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 20000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new KernelError(`${file}: ${error.message}`, [file, ...args], '', null));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) return reject(new KernelError(`${file} ${args.join(' ')}: timed out`, [file, ...args], stderr, code));
      if (code !== 0 && !options.allowFailure) {
        const detail = stderr.trim().split('\n').slice(-3).join('; ') || `exit code ${code}`;
        return reject(new KernelError(`${file} ${args.slice(0, 6).join(' ')}: ${detail}`, [file, ...args], stderr, code));
      }
      resolve({ stdout, stderr, code });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
