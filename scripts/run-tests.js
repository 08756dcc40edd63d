#!/usr/bin/env node
// Builds, then runs every test file under dist/test with Node's test runner.
// `npm test -- unit api` runs only the files whose path contains one of the words.
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
// The suite runs on the node that runs this script (npm test: the first `node` on PATH).
const problem = require('../bin/node-version.js').nodeVersionProblem();
if (problem) {
  console.error(`run-tests: ${problem}`);
  process.exit(1);
}
const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// The web console's bundle (esbuild, well under a second): the browser tests in test/ui load it from the controller.
const bundle = spawnSync(process.execPath, [path.join(__dirname, 'build-ui.mjs')], { cwd: root, stdio: 'inherit' });
if (bundle.status !== 0) process.exit(bundle.status ?? 1);

function collect(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return collect(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const filters = process.argv.slice(2);
// The whole suite starts with the style tools (ESLint, Prettier): a run that passes is also clean.
if (filters.length === 0) {
  const lint = spawnSync('npm', ['run', '-s', 'lint'], { cwd: root, stdio: 'inherit' });
  if (lint.status !== 0) {
    console.error('lint failed: run `npm run lint` (and `npm run format` for layout)');
    process.exit(lint.status ?? 1);
  }
}
const files = collect(path.join(root, 'dist', 'test'))
  .filter((file) => fs.existsSync(path.join(root, path.relative(path.join(root, 'dist'), file).replace(/\.js$/, '.ts'))))
  .filter((file) => filters.length === 0 || filters.some((word) => file.includes(word)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// A test may take minutes (real labs), but never 10: a hung one fails instead of stalling CI.
// Not --test-force-exit: on Node 20 it ends a file whose many top-level tests are still queued, and
// the tests it never ran are simply missing from the counts (seen: 55 of 73 conformance cases run, all
// "passed"). Test files close what they open instead.
//
// Every process of the run carries TENET_TEST_RUN=<id> (environments are inherited, also by detached
// daemons and forked children), and every random name stem the helpers hand out is noted in the
// TENET_TEST_STEMS file. At the end, a process still carrying the id or a network namespace whose name
// holds a stem is a leak of this run: named, removed, and the run fails. Other runs on the machine
// (other checkouts, other engineers) have other ids and stems, so they are never counted or touched.
const runId = crypto.randomBytes(8).toString('hex');
const stemsFile = path.join(os.tmpdir(), `tenet-test-stems-${runId}`);
fs.writeFileSync(stemsFile, '');
const netnsBefore = new Set(listNetns());
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=600000', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TENET_TEST_RUN: runId, TENET_TEST_STEMS: stemsFile },
});
const leaks = checkLeaks();
fs.rmSync(stemsFile, { force: true });
if (leaks > 0) {
  console.error(`run-tests: the run left ${leaks} process(es)/namespace(s) behind (listed above; now removed) — a test does not clean up`);
  process.exit(result.status || 1);
}
process.exit(result.status ?? 1);

function listNetns() {
  const run = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (run.status !== 0) return [];
  return run.stdout
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean);
}

function readNul(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function isZombie(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** Live processes (not zombies, not this one) carrying this run's marker, or inside one of `inodes`' namespaces. */
function runProcesses(inodes) {
  const marker = `TENET_TEST_RUN=${runId}`;
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || isZombie(pid)) continue;
    let ours = readNul(`/proc/${pid}/environ`).includes(marker);
    if (!ours && inodes.size > 0) {
      try {
        ours = inodes.has(fs.statSync(`/proc/${pid}/ns/net`).ino);
      } catch {
        ours = false;
      }
    }
    if (ours) found.push({ pid, command: readNul(`/proc/${pid}/cmdline`).join(' ') });
  }
  return found;
}

function checkLeaks() {
  const stems = fs
    .readFileSync(stemsFile, 'utf8')
    .split('\n')
    .filter((s) => s.length >= 6);
  const namespaces = listNetns().filter((name) => !netnsBefore.has(name) && stems.some((stem) => name.includes(stem)));
  const inodes = new Set();
  for (const name of namespaces) {
    try {
      inodes.add(fs.statSync(`/run/netns/${name}`).ino);
    } catch {
      // deleted meanwhile
    }
  }
  // A test's last cleanup may still be finishing (a SIGTERM just sent): give stragglers a moment.
  let processes = runProcesses(inodes);
  for (let i = 0; i < 30 && processes.length > 0; i++) {
    spawnSync('sleep', ['0.1']);
    processes = runProcesses(inodes);
  }
  for (const { pid, command } of processes) {
    console.error(`run-tests: LEFT BEHIND: process ${pid}: ${command}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const name of namespaces) {
    console.error(`run-tests: LEFT BEHIND: network namespace ${name}`);
    spawnSync('ip', ['netns', 'delete', name]);
  }
  return processes.length + namespaces.length;
}
