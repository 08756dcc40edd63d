/**
 * The layering of src/ (issue 11): the core imports nothing outside itself, no two src/* folders import each
 * other (directly or round a longer loop), and no project module is loaded by an untyped require. The first
 * tests check the real tree; the rest feed the rules synthetic sources and graphs to show each one fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  coreViolations,
  fileResolver,
  folderCycles,
  importProblems,
  loadSourceGraph,
  scanSource,
  untypedRequireViolations,
  type ImportEdge,
  type ImportGraph,
} from '../helpers/import-graph';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const graph = loadSourceGraph(ROOT);

/** Files whose untyped require is tolerated for now. Empty: a new one fails the suite. */
const ALLOWED_UNTYPED_REQUIRES: string[] = [];

test('every .ts under src/ is parsed, lazy loads included', () => {
  assert.ok(graph.files.length > 100, `only ${graph.files.length} files found under src/`);
  assert.ok(graph.files.includes('src/core/dataplane/attach-plan.ts'));
  // The CLI's typed lazy loads are dependencies too: `tenet lab` reaches src/lab through one.
  assert.ok(graph.edges.some((e) => e.from === 'src/cli/commands/index.ts' && e.kind === 'require' && e.to === 'src/cli/commands/lab.ts'));
  const unresolved = graph.edges.filter((e) => e.specifier.startsWith('.') && e.to === undefined);
  assert.deepEqual(unresolved, [], 'relative imports that resolve to no file');
});

test('src/core imports nothing outside src/core', () => {
  assert.deepEqual(coreViolations(graph), []);
});

test('no cycle among the src/* folders', () => {
  assert.deepEqual(folderCycles(graph), []);
});

test('no untyped require of a project module', () => {
  assert.deepEqual(untypedRequireViolations(graph, ALLOWED_UNTYPED_REQUIRES), []);
});

// --- the rules fail when they should ---

const exists = (files: string[]) => fileResolver((file) => files.includes(file));

function graphOf(sources: Record<string, string>): ImportGraph {
  const files = Object.keys(sources);
  const resolve = exists(files);
  const out: ImportGraph = { files, edges: [], untypedRequires: [] };
  for (const [file, text] of Object.entries(sources)) {
    const scanned = scanSource(file, text, resolve);
    out.edges.push(...scanned.edges);
    out.untypedRequires.push(...scanned.untypedRequires);
  }
  return out;
}

test('the parser sees every import form, and nothing that only looks like one', () => {
  const files = ['src/a/x.ts', 'src/b/y.ts', 'src/b/index.ts', 'src/c/z.ts', 'src/d/w.ts', 'src/e/v.ts', 'src/f/u.ts', 'src/g/data.json'];
  const text = [
    "import { y } from '../b/y';",
    "import type { Z } from '../c/z';",
    "export { w } from '../d/w';",
    "import v = require('../e/v');",
    "const u = () => import('../f/u');",
    "type B = typeof import('../b');",
    "import data from '../g/data.json';",
    "import fs from 'node:fs';",
    "// import { nope } from '../h/nope';",
    'const s = "import { nope } from \'../h/nope\'";',
    "const t = `require('../h/nope')`;",
  ].join('\n');
  const { edges, untypedRequires } = scanSource('src/a/x.ts', text, exists(files));
  const seen = edges.map((e) => [e.kind, e.specifier, e.to ?? null, e.line]);
  assert.deepEqual(seen, [
    ['import', '../b/y', 'src/b/y.ts', 1],
    ['import', '../c/z', 'src/c/z.ts', 2],
    ['export-from', '../d/w', 'src/d/w.ts', 3],
    ['import-equals', '../e/v', 'src/e/v.ts', 4],
    ['dynamic-import', '../f/u', 'src/f/u.ts', 5],
    ['import-type', '../b', 'src/b/index.ts', 6],
    ['import', '../g/data.json', 'src/g/data.json', 7],
    ['import', 'node:fs', null, 8],
  ]);
  assert.deepEqual(untypedRequires, []);
});

test('a core file importing from outside the core is named with its import', () => {
  const g = graphOf({
    'src/core/dataplane/plan.ts':
      "import type { AttachResult } from '../../agent/protocol';\nimport { readFileSync } from 'node:fs';\nimport { Type } from '@sinclair/typebox';\nimport { ok } from '../model/ok';",
    'src/core/model/ok.ts': 'export const ok = 1;',
    'src/agent/protocol.ts': 'export interface AttachResult { x: number }',
  });
  assert.deepEqual(coreViolations(g), [
    "src/core/dataplane/plan.ts:1 imports '../../agent/protocol' (src/agent/protocol.ts): src/core must not import from outside src/core",
    "src/core/dataplane/plan.ts:2 imports 'node:fs': src/core does no I/O",
  ]);
});

test('a folder cycle is named with one import per step, including a longer loop and type-only imports', () => {
  const g = graphOf({
    'src/agent/server.ts': "import { handle } from '../cni/endpoint';",
    'src/cni/endpoint.ts': "import type { AttachRequest } from '../agent/protocol';\nexport const handle = 1;",
    'src/agent/protocol.ts': 'export interface AttachRequest { x: number }',
    'src/lab/lab.ts': "import { run } from '../cli/run';",
    'src/cli/run.ts': "export const run = () => (require('../store/open') as typeof import('../store/open')).open;",
    'src/store/open.ts': "import { lab } from '../lab/lab';\nexport const open = 1;",
    'src/core/a.ts': 'export const a = 1;',
    'src/kernel/k.ts': "import { a } from '../core/a';",
  });
  assert.deepEqual(folderCycles(g), [
    "folder cycle src/agent → src/cni → src/agent: src/agent/server.ts:1 imports '../cni/endpoint'; src/cni/endpoint.ts:1 imports '../agent/protocol'",
    "folder cycle src/cli → src/store → src/lab → src/cli: src/cli/run.ts:1 imports '../store/open'; src/store/open.ts:1 imports '../lab/lab'; src/lab/lab.ts:1 imports '../cli/run'",
  ]);
  // Without the back edges there is no cycle.
  const acyclic: ImportGraph = {
    ...g,
    edges: g.edges.filter((e: ImportEdge) => e.from !== 'src/cni/endpoint.ts' && e.from !== 'src/store/open.ts'),
  };
  assert.deepEqual(folderCycles(acyclic), []);
});

test('untyped requires of project modules are named; typed lazy loads and packages are not', () => {
  const text = [
    "export const a = () => (require('./x') as typeof import('./x')).run;",
    "export const b = (require('./x')) as (typeof import('./x'));",
    "export const c = require('./x');",
    "export const d = require('./x') as typeof import('./y');",
    'const where = "./x";',
    'export const e = require(where);',
    "export const f = require('fastify') as unknown;",
    'export const g = import(where);',
  ].join('\n');
  const g = graphOf({ 'src/cli/y.ts': text, 'src/cli/x.ts': 'export const run = 1;' });
  assert.deepEqual(
    g.untypedRequires.map((r) => [r.line, r.text]),
    [
      [3, "require('./x')"],
      [4, "require('./x')"],
      [6, 'require(where)'],
      [8, 'import(where)'],
    ],
  );
  assert.deepEqual(untypedRequireViolations(g, ['src/cli/y.ts']), []);
  assert.match(importProblems(g).join('\n'), /^src\/cli\/y\.ts:3 require\('\.\/x'\): an untyped require of a project module/);
});
