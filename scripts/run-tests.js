#!/usr/bin/env node
// Builds, then runs every test file under dist/test with Node's test runner.
// `npm test -- unit api` runs only the files whose path contains one of the words.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

function collect(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return collect(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const filters = process.argv.slice(2);
const files = collect(path.join(root, 'dist', 'test'))
  .filter((file) => fs.existsSync(path.join(root, path.relative(path.join(root, 'dist'), file).replace(/\.js$/, '.ts'))))
  .filter((file) => filters.length === 0 || filters.some((word) => file.includes(word)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// A test may take minutes (real labs), but never 10: a hung one fails instead of stalling CI. Force-exit
// after the last test so a stray handle cannot keep a file open forever (t.after hooks still run first).
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=600000', '--test-force-exit', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
