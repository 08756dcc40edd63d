/** Runs the real tenet-cni executables the way a runtime does: environment + stdin, stdout + exit code. */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const NATIVE_SHIM = path.join(ROOT, 'native', 'tenet-cni');
export const NODE_SHIM = path.join(ROOT, 'bin', 'tenet-cni');

/** The native shim, built from source when this checkout has not built it yet. */
export function nativeShim(): string {
  const source = path.join(ROOT, 'native', 'tenet-cni.c');
  if (!fs.existsSync(NATIVE_SHIM) || fs.statSync(NATIVE_SHIM).mtimeMs < fs.statSync(source).mtimeMs) {
    execFileSync('make', ['-s', '-C', path.join(ROOT, 'native'), 'tenet-cni'], { stdio: 'inherit' });
  }
  return NATIVE_SHIM;
}

export interface PluginRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  json?: Record<string, any>;
}

export function runPlugin(executable: string, env: Record<string, string>, stdin: string): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      let json: Record<string, any> | undefined;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ exitCode: code ?? -1, stdout, stderr: Buffer.concat(err).toString('utf8'), json });
    });
    child.stdin.end(stdin);
  });
}
