/** Background processes of a lab (controller, agents): started detached with logs to files, stopped by pid. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';

export const CLI_MAIN = path.resolve(__dirname, '..', 'cli', 'main.js');

export function startDetached(file: string, args: string[], logFile: string, env: Record<string, string> = {}): number {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  fs.closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${file}`);
  return child.pid;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The command line of a pid, to make sure a recorded pid still is the process we started. */
export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; only when the pid's command line still contains `marker`. */
export async function stopPid(pid: number | undefined, marker: string, graceMs = 5000, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (!pid || !isAlive(pid) || !commandLine(pid).includes(marker)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    while (isAlive(pid) && !isZombie(pid)) await sleep(20);
  }
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `probe` resolves true (polling), or throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20000, extra?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${extra ? `\n${extra()}` : ''}`);
}

/** GET on a unix socket; true on a 2xx answer. */
export function unixGet(socketPath: string, urlPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.request({ socketPath, path: urlPath, method: 'GET', timeout: 1000 }, (response) => {
      response.resume();
      resolve((response.statusCode ?? 500) < 300);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
    request.end();
  });
}

/** GET on a unix socket; the parsed JSON body of a 2xx answer, else undefined. */
export function unixGetJson(socketPath: string, urlPath: string): Promise<unknown> {
  return new Promise((resolve) => {
    const request = http.request({ socketPath, path: urlPath, method: 'GET', timeout: 1000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if ((response.statusCode ?? 500) >= 300) return resolve(undefined);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(undefined);
        }
      });
      response.on('error', () => resolve(undefined));
    });
    request.on('error', () => resolve(undefined));
    request.on('timeout', () => request.destroy());
    request.end();
  });
}

export function tail(file: string | undefined, lines = 20): string {
  if (!file || !fs.existsSync(file)) return '';
  return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}
