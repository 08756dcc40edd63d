/**
 * deploy/: the systemd units pass `systemd-analyze verify` without a warning, every flag their
 * ExecStart passes is one the CLI has, every variable they use is set by the unit or its example
 * environment file, and every file the Dockerfile copies from the checkout exists.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const UNITS = ['tenet-controller.service', 'tenet-agent.service', 'tenet-cni-install.service'];
const TENET = path.join(ROOT, 'bin', 'tenet');

function verify(files: string[]): { status: number | null; stderr: string } {
  const run = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stderr: `${run.stderr}${run.error ? run.error.message : ''}` };
}

test('systemd-analyze verify accepts the units with no warning, and refuses a broken one', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-units-'));
  try {
    const files = UNITS.map((unit) => {
      const file = path.join(dir, unit);
      fs.copyFileSync(path.join(DEPLOY, 'systemd', unit), file);
      return file;
    });
    const good = verify(files);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(good.stderr.trim(), '', 'no warning either');

    // The check can fail: a misspelt key is a warning, a relative or missing program an error.
    const broken = path.join(dir, 'tenet-broken.service');
    fs.writeFileSync(
      broken,
      fs
        .readFileSync(files[0], 'utf8')
        .replace('ExecStart=/usr/bin/env node', 'ExecStrat=/usr/bin/env node\nExecStart=/usr/bin/no-such-node'),
    );
    const bad = verify([broken]);
    assert.ok(bad.status !== 0 && /ExecStrat|no-such-node/.test(bad.stderr), `a broken unit passed: ${bad.status} ${bad.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** `KEY=VALUE` lines of a unit section or an environment file. */
function assignments(text: string, key?: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && (key === undefined || line.startsWith(`${key}=`)));
}

test("the units' ExecStart flags exist in the CLI, and their variables are all set", () => {
  const cases: [string, string, string][] = [
    ['tenet-controller.service', 'controller', 'controller.env.example'],
    ['tenet-agent.service', 'agent', 'agent.env.example'],
  ];
  for (const [unit, command, envFile] of cases) {
    const text = fs.readFileSync(path.join(DEPLOY, 'systemd', unit), 'utf8');
    const [execStart] = assignments(text, 'ExecStart');
    assert.ok(execStart, `${unit} has ExecStart`);
    const words = execStart.slice('ExecStart='.length).split(/\s+/);
    // The node on systemd's PATH, as in a root shell: where setup installs Node.js when the system's is older.
    assert.deepEqual(words.slice(0, 4), ['/usr/bin/env', 'node', '/opt/tenet/bin/tenet', command], unit);
    const help = spawnSync(process.execPath, [TENET, command, '--help'], { encoding: 'utf8' }).stdout;
    for (const flag of words.filter((w) => w.startsWith('--')))
      assert.ok(help.includes(`${flag} `), `${unit}: tenet ${command} has no ${flag}`);

    const env = fs.readFileSync(path.join(DEPLOY, 'systemd', envFile), 'utf8');
    const defined = new Set([
      ...assignments(text, 'Environment').map((line) => line.slice('Environment='.length).split('=')[0]),
      ...assignments(env).map((line) => line.split('=')[0]),
    ]);
    const used = [...execStart.matchAll(/\$\{?([A-Z_]+)\}?/g)].map((m) => m[1]);
    assert.ok(used.length > 0, unit);
    for (const name of used) assert.ok(defined.has(name), `${unit}: ${name} is set neither by the unit nor in ${envFile}`);
  }
});

test('every file the Dockerfile copies from the checkout exists', () => {
  const text = fs.readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
  const sources = text
    .split('\n')
    .filter((line) => /^COPY\s/.test(line) && !line.includes('--from='))
    .flatMap((line) => line.trim().split(/\s+/).slice(1, -1));
  assert.ok(sources.length >= 5, sources.join(' '));
  for (const source of sources) assert.ok(fs.existsSync(path.join(ROOT, source)), `COPY ${source}: not in the checkout`);
});
