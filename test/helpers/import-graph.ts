/**
 * The import graph of src/, read with the TypeScript compiler's parser (not regexes: comments, strings and
 * template text that merely look like imports must not count, and `import type`, `export … from`,
 * `import()`, `typeof import()` and `require()` must all count), and the layering rules checked over it:
 *
 * - nothing in src/core imports a project module outside src/core (nor a Node built-in that does I/O):
 *   the core is pure;
 * - no cycle among the folders src/* (src/cni → src/agent → src/cni would make each unusable alone);
 * - no untyped `require(` of a project module. A lazy load that keeps the CLI's start-up fast is fine
 *   when typed: `require('./x') as typeof import('./x')` (src/cli/commands/index.ts).
 *
 * Pure apart from loadSourceGraph(), which reads the files; the rules take a graph, so a test can feed them
 * a synthetic one and see them fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export type EdgeKind = 'import' | 'export-from' | 'require' | 'dynamic-import' | 'import-type' | 'import-equals';

export interface ImportEdge {
  /** Importing file, relative to the repository root with '/' separators (src/cni/request.ts). */
  from: string;
  /** The imported project file, same form; undefined for packages and Node built-ins. */
  to?: string;
  specifier: string;
  kind: EdgeKind;
  line: number;
}

export interface UntypedRequire {
  file: string;
  line: number;
  /** The call as written, e.g. require(modulePath). */
  text: string;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
  untypedRequires: UntypedRequire[];
}

/** Maps a relative specifier of `from` to the project file it names, or undefined when none exists. */
export type Resolver = (from: string, specifier: string) => string | undefined;

const isRelative = (specifier: string): boolean => specifier.startsWith('./') || specifier.startsWith('../');

/** Is `node` the `require(...)` inside `require(...) as typeof import('same')` (or `typeof import('same').x`)? */
function typedRequire(call: ts.CallExpression, specifier: string): boolean {
  let outer: ts.Node = call.parent;
  while (ts.isParenthesizedExpression(outer)) outer = outer.parent;
  if (!ts.isAsExpression(outer) && !ts.isSatisfiesExpression(outer)) return false;
  let type: ts.TypeNode = outer.type;
  while (ts.isParenthesizedTypeNode(type)) type = type.type;
  if (!ts.isImportTypeNode(type) || !type.isTypeOf) return false;
  const argument = type.argument;
  return ts.isLiteralTypeNode(argument) && ts.isStringLiteral(argument.literal) && argument.literal.text === specifier;
}

/** Every import-like reference of one file. `file` is repository-relative; `text` is its source. */
export function scanSource(file: string, text: string, resolve: Resolver): { edges: ImportEdge[]; untypedRequires: UntypedRequire[] } {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const untypedRequires: UntypedRequire[] = [];
  const lineOf = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const add = (specifier: string, kind: EdgeKind, node: ts.Node): void => {
    edges.push({ from: file, to: isRelative(specifier) ? resolve(file, specifier) : undefined, specifier, kind, line: lineOf(node) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, 'import', node);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, 'export-from', node);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      add(node.moduleReference.expression.text, 'import-equals', node);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, 'import-type', node);
    } else if (ts.isCallExpression(node)) {
      const [argument] = node.arguments;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        if (argument && ts.isStringLiteralLike(argument)) add(argument.text, 'dynamic-import', node);
        else untypedRequires.push({ file, line: lineOf(node), text: node.getText(source) });
      } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
        if (argument && ts.isStringLiteralLike(argument)) {
          add(argument.text, 'require', node);
          // Packages and built-ins are not project modules; only a project require must be typed.
          if (isRelative(argument.text) && !typedRequire(node, argument.text))
            untypedRequires.push({ file, line: lineOf(node), text: node.getText(source) });
        } else {
          // A computed path cannot be typed or checked against the layering at all.
          untypedRequires.push({ file, line: lineOf(node), text: node.getText(source) });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { edges, untypedRequires };
}

function listTs(root: string, dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return listTs(root, relative);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative] : [];
  });
}

/** Resolves like Node's CommonJS loader does for the compiled output: x.ts, x/index.ts, or a file with its extension (x.json). */
export function fileResolver(exists: (file: string) => boolean): Resolver {
  return (from, specifier) => {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
    const stripped = base.replace(/\.js$/, '');
    for (const candidate of [`${stripped}.ts`, `${base}/index.ts`, base]) if (exists(candidate)) return candidate;
    return undefined;
  };
}

/** Parses every .ts file under src/ of the repository at `root`. */
export function loadSourceGraph(root: string): ImportGraph {
  const files = listTs(root, 'src').sort();
  const resolve = fileResolver((file) => fs.existsSync(path.join(root, file)) && fs.statSync(path.join(root, file)).isFile());
  const graph: ImportGraph = { files, edges: [], untypedRequires: [] };
  for (const file of files) {
    const scanned = scanSource(file, fs.readFileSync(path.join(root, file), 'utf8'), resolve);
    graph.edges.push(...scanned.edges);
    graph.untypedRequires.push(...scanned.untypedRequires);
  }
  return graph;
}

/** src/cni/request.ts → cni; src/version.ts → version (a top-level file is its own unit). */
export function folderOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  return parts.length === 2 ? parts[1].replace(/\.ts$/, '') : parts[1];
}

/** Node built-ins a pure core has no business with. */
const IO_BUILTINS = new Set([
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'tls',
  'worker_threads',
  'cluster',
  'readline',
  'os',
  'process',
]);

const where = (edge: ImportEdge): string => `${edge.from}:${edge.line} imports '${edge.specifier}'`;

export function coreViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const edge of graph.edges) {
    if (folderOf(edge.from) !== 'core') continue;
    if (isRelative(edge.specifier)) {
      if (edge.to === undefined) problems.push(`${where(edge)}, which resolves to no file under src/`);
      else if (folderOf(edge.to) !== 'core') problems.push(`${where(edge)} (${edge.to}): src/core must not import from outside src/core`);
    } else if (IO_BUILTINS.has(edge.specifier.replace(/^node:/, ''))) {
      problems.push(`${where(edge)}: src/core does no I/O`);
    }
  }
  return problems;
}

/**
 * Cycles among src/* folders, each named by its folders and, for every step, one import that makes it
 * (file:line and specifier), so the message says which line to move. Strongly connected components
 * (Tarjan) find every folder caught in a cycle; one shortest cycle through each component is reported.
 */
export function folderCycles(graph: ImportGraph): string[] {
  const witness = new Map<string, ImportEdge>(); // "a→b" → first edge from folder a to folder b
  const next = new Map<string, Set<string>>();
  for (const edge of graph.edges) {
    if (edge.to === undefined) continue;
    const a = folderOf(edge.from);
    const b = folderOf(edge.to);
    if (!a || !b || a === b) continue;
    if (!witness.has(`${a}→${b}`)) witness.set(`${a}→${b}`, edge);
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const folders = [...new Set([...next.keys(), ...[...next.values()].flatMap((s) => [...s])])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const strongConnect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of [...(next.get(v) ?? [])].sort()) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const folder of folders) if (!index.has(folder)) strongConnect(folder);
  return components.map((component) => {
    const inside = new Set(component);
    // Shortest path back to the start (breadth-first, inside the component).
    const start = component[0];
    const parent = new Map<string, string>();
    const queue = [start];
    let closing: string | undefined;
    while (queue.length > 0 && closing === undefined) {
      const v = queue.shift()!;
      for (const w of [...(next.get(v) ?? [])].sort()) {
        if (!inside.has(w)) continue;
        if (w === start) {
          closing = v;
          break;
        }
        if (!parent.has(w)) {
          parent.set(w, v);
          queue.push(w);
        }
      }
    }
    const cycle = [start];
    for (let v = closing!; v !== start; v = parent.get(v)!) cycle.splice(1, 0, v);
    cycle.push(start);
    const steps = cycle.slice(1).map((b, i) => where(witness.get(`${cycle[i]}→${b}`)!));
    return `folder cycle src/${cycle.join(' → src/')}${component.length > cycle.length - 1 ? ` (the cycle joins ${component.map((f) => `src/${f}`).join(', ')})` : ''}: ${steps.join('; ')}`;
  });
}

/** `allowed`: files (repository-relative) whose untyped requires are tolerated for now. */
export function untypedRequireViolations(graph: ImportGraph, allowed: readonly string[] = []): string[] {
  return graph.untypedRequires
    .filter((r) => !allowed.includes(r.file))
    .map(
      (r) =>
        `${r.file}:${r.line} ${r.text}: an untyped require of a project module (import it, or load it lazily as require('./x') as typeof import('./x'))`,
    );
}

export function importProblems(graph: ImportGraph, allowedUntypedRequires: readonly string[] = []): string[] {
  return [...coreViolations(graph), ...folderCycles(graph), ...untypedRequireViolations(graph, allowedUntypedRequires)];
}
