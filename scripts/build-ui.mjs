#!/usr/bin/env node
// Bundles the web console (ui/) into dist/console with esbuild: one script, one style sheet, the page.
// `npm run build` and scripts/setup.sh run it; the controller serves the result under /ui/ (docs/ui.md).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'console');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'ui', 'src', 'main.tsx')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
  tsconfig: path.join(root, 'ui', 'tsconfig.json'),
});
for (const file of ['index.html', 'app.css']) fs.copyFileSync(path.join(root, 'ui', file), path.join(out, file));
