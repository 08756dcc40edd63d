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
export async function stopPid(
  pid: number | undefined,
  marker: string,
  graceMs = 5000,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
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
export async function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 20000,
  extra?: () => string,
): Promise<void> {
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

/** What /proc says about one process; `env` is read only when asked (it is the larger file). */
export interface ProcessInfo {
  pid: number;
  argv: string[];
  env(): string[];
  /** Inode of its network namespace (comparable with netnsInode), or undefined when unreadable. */
  netns(): number | undefined;
}

function readNul(file: string): string[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\0')
      .filter((s) => s !== '');
  } catch {
    return [];
  }
}

/**
 * Every live process (not this one, not zombies) for which `match` is true. Processes are found by
 * what they are — their arguments, an environment marker they inherited, the namespace they are in —
 * so one restarted by hand or forked by a child (socat's `fork`) is found as well as the pid we recorded.
 */
export function findProcesses(match: (info: ProcessInfo) => boolean): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || isZombie(pid)) continue;
    const info: ProcessInfo = {
      pid,
      argv: readNul(`/proc/${pid}/cmdline`),
      env: () => readNul(`/proc/${pid}/environ`),
      netns: () => {
        try {
          return fs.statSync(`/proc/${pid}/ns/net`).ino;
        } catch {
          return undefined;
        }
      },
    };
    if (info.argv.length === 0) continue; // kernel thread, or gone meanwhile
    if (match(info)) found.push(pid);
  }
  return found;
}

/** Inode of a named network namespace (/run/netns/NAME), or undefined when it does not exist. */
export function netnsInode(name: string): number | undefined {
  try {
    return fs.statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

/** True when argv holds `flag value` or `flag=value`. */
export function hasArg(argv: string[], flag: string, value: string): boolean {
  return argv.some((arg, i) => (arg === flag && argv[i + 1] === value) || arg === `${flag}=${value}`);
}

/** SIGTERM to every pid, SIGKILL to those still there after `graceMs`; resolves once all are gone. */
export async function killProcesses(pids: number[], graceMs = 3000): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const alive = () => pids.filter((pid) => isAlive(pid) && !isZombie(pid));
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await sleep(50);
  for (const pid of alive()) signal(pid, 'SIGKILL');
  const hard = Date.now() + 5000;
  while (alive().length > 0 && Date.now() < hard) await sleep(20);
}

/**
 * Kills a process group we created (spawned with `detached: true`: its pid is the group id) and
 * everything in it, forked children included.
 */
export async function killGroup(pgid: number | undefined): Promise<void> {
  if (!pgid) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    return; // no such group: all gone
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    // Members that are zombies still count for kill(0); they are gone once reaped by their parents.
    if (findProcesses((p) => groupOf(p.pid) === pgid).length === 0) return;
    await sleep(20);
  }
}

function groupOf(pid: number): number | undefined {
  try {
    // Fields after the command (which may hold spaces) start after the last ')': state ppid pgrp ...
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}
