/**
 * One Node.js line everywhere: package.json engines.node, the release scripts/setup.sh installs, the
 * container image's base, @types/node and docs/install.md name the same major; and bin/tenet and the test
 * runner refuse an older node with a message saying which node ran and what Tenet needs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
// Plain JS shipped with bin/tenet (it runs before anything compiled loads).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const check = require(path.join(ROOT, 'bin', 'node-version.js')) as {
  needed: string;
  older(a: string, b: string): boolean;
  nodeVersionProblem(version?: string, execPath?: string): string | null;
};

const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };

function one(text: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(text);
  assert.ok(match, `${what}: ${pattern} not found`);
  return match[1];
}

test('engines.node, setup.sh, the image, @types/node and install.md agree on one Node.js line', () => {
  const needed = one(pkg.engines.node, /^>=(\d+\.\d+\.\d+)$/, 'package.json engines.node');
  assert.equal(check.needed, needed);
  const major = needed.split('.')[0];

  const setup = read('scripts/setup.sh');
  const pinned = one(setup, /^NODE_VERSION=(\d+\.\d+\.\d+)$/m, 'scripts/setup.sh');
  assert.equal(pinned.split('.')[0], major, 'setup installs the engines line');
  assert.equal(check.older(pinned, needed), false, `setup's ${pinned} satisfies ${pkg.engines.node}`);
  for (const name of ['NODE_SHA512_x64', 'NODE_SHA512_arm64', 'NPM_SHA512'])
    assert.match(setup, new RegExp(`^${name}=[0-9a-f]{128}$`, 'm'), `setup pins ${name}`);

  assert.equal(one(read('deploy/Dockerfile'), /^ARG NODE_IMAGE=node:(\d+)-/m, 'deploy/Dockerfile'), major, 'image base');
  assert.equal(one(pkg.devDependencies['@types/node'], /^\^(\d+)\./, '@types/node'), major, '@types/node');
  assert.ok(read('docs/install.md').includes(`Node.js ≥ ${needed}`), `docs/install.md states Node.js ≥ ${needed}`);
});

test('the version check refuses an older node and names it, and accepts this one and newer', () => {
  assert.equal(check.nodeVersionProblem(), null, `the suite itself runs on ${process.version}`);
  const [major, minor, patch] = check.needed.split('.').map(Number);
  for (const ok of [check.needed, `${major}.${minor}.${patch + 1}`, `${major}.${minor + 1}.0`, `${major + 2}.0.0`])
    assert.equal(check.nodeVersionProblem(ok, '/x/node'), null, ok);
  const tooOld = [`${major - 4}.20.2`, `${major - 1}.99.99`];
  if (minor > 0) tooOld.push(`${major}.${minor - 1}.99`);
  if (patch > 0) tooOld.push(`${major}.${minor}.${patch - 1}`);
  for (const old of tooOld) {
    const problem = check.nodeVersionProblem(old, '/usr/bin/node');
    assert.ok(problem, `${old} refused`);
    assert.ok(problem.includes(`/usr/bin/node is v${old}`) && problem.includes(`>= ${check.needed}`), problem);
    assert.ok(problem.includes('scripts/setup.sh'), problem);
  }
});

test('bin/tenet and the test runner stop on an older node before loading anything', () => {
  // This node made to report an old version (a preload), as the distribution's /usr/bin/node would.
  const pretend = `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.20.2' } });`;
  for (const script of [path.join(ROOT, 'bin', 'tenet'), path.join(ROOT, 'scripts', 'run-tests.js')]) {
    const run = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(pretend)}`, script, 'version'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 1, `${script}: ${run.stderr}`);
    assert.ok(run.stderr.includes(`${process.execPath} is v20.20.2`) && run.stderr.includes(`>= ${check.needed}`), run.stderr);
    assert.equal(run.stdout, '', 'nothing ran');
  }
  const fine = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tenet'), 'version', '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(fine.status, 0, fine.stderr);
});
