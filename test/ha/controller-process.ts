/**
 * Controllers as real processes on a shared store, killable by pid (kill -9 is the point of these
 * tests, so the process handle must be ours). Everything started here is killed on stop() and on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TENET = path.join(__dirname, '..', '..', '..', 'bin', 'tenet');

export interface ControllerProcess {
  url: string;
  pid: number;
  /** This controller's bootstrap admin token (tokens live in the shared store: valid on every controller). */
  token: string;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Output lines (stderr), for failure messages. */
  log: string[];
}

const live = new Set<ChildProcess>();
let hooked = false;

export async function startControllerProcess(storeSpec: string, extraArgs: string[] = []): Promise<ControllerProcess> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const child of live) if (child.pid !== undefined) tryKill(child.pid);
    });
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-ha-'));
  const child = spawn(
    process.execPath,
    [TENET, 'controller', '--store', storeSpec, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  live.add(child);
  const log: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    log.push(...chunk.toString().split('\n').filter(Boolean));
    if (log.length > 50) log.splice(0, log.length - 50);
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      fs.rmSync(dataDir, { recursive: true, force: true });
      resolve();
    }),
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) tryKill(child.pid);
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`controller did not start in time:\n${log.join('\n')}`)), 20_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (https?:\/\/\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`controller exited with ${code}:\n${log.join('\n')}`));
      });
    });
    const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    return { url, pid: child.pid!, token, kill, log };
  } catch (error) {
    await kill();
    throw error;
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
