/**
 * Reading manifests for `apply`, `diff` and `delete -f`: files, directories and stdin, in YAML
 * (several documents per file) or JSON, with JSON arrays and `kind: List` flattened. Every object
 * keeps where it came from, so each problem a user sees names the file and the document.
 *
 * Parsing (parseManifestText) and checking (checkManifests) are pure; only loadManifests touches
 * the file system, and stdin comes in through a function so tests can feed it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { kindInfo, resolveKind } from '../core/model/registry';
import { validateObject, networkOverlapProblems } from '../core/model/validate';
import { refKey, refOf, type TenetObject } from '../core/model/object';
import type { Network } from '../core/model/kinds/network';
import { isName, describeNameRule } from '../core/model/names';
import { compareByDependency, stripServerFields } from './normalize';
import { CliError } from './context';

/** Where an object came from: file (or `<stdin>`), 1-based document number, and item number inside a list. */
export interface Origin {
  source: string;
  document: number;
  item?: number;
}

export interface ManifestDocument {
  origin: Origin;
  value: unknown;
}

export interface LocatedObject {
  origin: Origin;
  object: TenetObject;
}

export interface ParseResult {
  documents: ManifestDocument[];
  problems: string[];
}

export type ManifestFormat = 'yaml' | 'json' | 'auto';

/** Files larger than this are refused before parsing: the controller takes at most 32 MiB in one apply. */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export function originText(origin: Origin): string {
  const item = origin.item === undefined ? '' : ` item ${origin.item}`;
  return `${origin.source} document ${origin.document}${item}`;
}

/** Parses one file's text into its documents; a syntax error is a problem with its line and column. */
export function parseManifestText(text: string, source: string, format: ManifestFormat): ParseResult {
  const effective = format === 'auto' ? (/^\s*[[{]/.test(text) ? 'json' : 'yaml') : format;
  return effective === 'json' ? parseJson(text, source) : parseYaml(text, source);
}

function parseJson(text: string, source: string): ParseResult {
  try {
    const value: unknown = JSON.parse(text);
    return flatten(value, { source, document: 1 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { documents: [], problems: [`${source}: invalid JSON${jsonPosition(text, message)}: ${message}`] };
  }
}

/** JSON.parse reports a character offset; people want a line and column. */
function jsonPosition(text: string, message: string): string {
  const explicit = message.match(/line (\d+) column (\d+)/);
  if (explicit) return ` at line ${explicit[1]}, column ${explicit[2]}`;
  const offset = message.match(/position (\d+)/);
  if (offset) {
    const before = text.slice(0, Number(offset[1]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return ` at line ${line}, column ${column}`;
  }
  if (/end of (JSON|data) input/i.test(message)) return ` at line ${text.split('\n').length} (unexpected end)`;
  return '';
}

function parseYaml(text: string, source: string): ParseResult {
  const documents: ManifestDocument[] = [];
  const problems: string[] = [];
  const parsed = YAML.parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  // An empty stream is an array too, with its own errors (e.g. a bad directive and nothing else).
  const streamErrors = (parsed as { errors?: { message: string }[] }).errors ?? [];
  if (streamErrors.length > 0)
    return { documents, problems: streamErrors.map((error) => `${source}: invalid YAML: ${firstLine(error.message)}`) };
  const list = Array.from(parsed);
  list.forEach((doc, index) => {
    const number = index + 1;
    if (doc.errors.length > 0) {
      for (const error of doc.errors) problems.push(`${source} document ${number}: invalid YAML: ${firstLine(error.message)}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push(`${source} document ${number}: ${error instanceof Error ? firstLine(error.message) : String(error)}`);
      return;
    }
    // Empty documents (a trailing `---`, a file of comments) carry nothing to apply.
    if (value === null || value === undefined) return;
    const result = flatten(value, { source, document: number });
    documents.push(...result.documents);
    problems.push(...result.problems);
  });
  return { documents, problems };
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/:\s*$/, '');
}

/** A JSON array or a `kind: List` holds several objects; anything else is one object. */
function flatten(value: unknown, origin: Origin): ParseResult {
  if (Array.isArray(value))
    return { documents: value.map((item, i) => ({ origin: { ...origin, item: i + 1 }, value: item })), problems: [] };
  if (isRecord(value) && value.kind === 'List') {
    if (!Array.isArray(value.items)) return { documents: [], problems: [`${originText(origin)}: a List needs an "items" array`] };
    return { documents: value.items.map((item, i) => ({ origin: { ...origin, item: i + 1 }, value: item })), problems: [] };
  }
  return { documents: [{ origin, value }], problems: [] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatOf(file: string): ManifestFormat {
  return path.extname(file).toLowerCase() === '.json' ? 'json' : 'yaml';
}

/**
 * Loads every path: `-` is stdin (read once), a directory contributes its *.yaml, *.yml and *.json
 * files (not recursive, sorted by name, hidden files skipped), anything else is read as one file.
 */
export async function loadManifests(paths: readonly string[], readStdin: () => Promise<string>): Promise<ParseResult> {
  const documents: ManifestDocument[] = [];
  const problems: string[] = [];
  let stdinUsed = false;
  for (const given of paths) {
    if (given === '-') {
      if (stdinUsed) {
        problems.push('-: stdin can be given only once');
        continue;
      }
      stdinUsed = true;
      const text = await readStdin();
      if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) {
        problems.push(`<stdin>: larger than ${MAX_MANIFEST_BYTES} bytes`);
        continue;
      }
      add(parseManifestText(text, '<stdin>', 'auto'));
      continue;
    }
    let files: string[];
    try {
      files = await filesOf(given);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    for (const file of files) {
      try {
        const stat = await fs.stat(file);
        if (stat.size > MAX_MANIFEST_BYTES) {
          problems.push(`${file}: larger than ${MAX_MANIFEST_BYTES} bytes`);
          continue;
        }
        add(parseManifestText(await fs.readFile(file, 'utf8'), file, formatOf(file)));
      } catch (error) {
        problems.push(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    }
  }
  return { documents, problems };

  function add(result: ParseResult): void {
    documents.push(...result.documents);
    problems.push(...result.problems);
  }
}

async function filesOf(given: string): Promise<string[]> {
  let stat;
  try {
    stat = await fs.stat(given);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${given}: no such file or directory` : `${given}: cannot read: ${code ?? String(error)}`);
  }
  if (!stat.isDirectory()) return [given];
  const names = (await fs.readdir(given))
    .filter((name) => !name.startsWith('.') && MANIFEST_EXTENSIONS.includes(path.extname(name).toLowerCase()))
    .sort();
  if (names.length === 0) throw new Error(`${given}: directory holds no *.yaml, *.yml or *.json files`);
  return names.map((name) => path.join(given, name));
}

export interface CheckOptions {
  /** Fills metadata.tenant of tenant-scoped objects that have none; an object naming another tenant is a problem. */
  tenant?: string;
}

export interface CheckResult {
  objects: LocatedObject[];
  problems: string[];
}

/**
 * Validates every document on its own (schema and meaning) and the set as a whole (duplicates,
 * overlapping subnets within one tenant). Server-managed fields are dropped first: a manifest is
 * intent, so `get -o yaml` output can be applied as it is.
 */
export function checkManifests(documents: readonly ManifestDocument[], options: CheckOptions = {}): CheckResult {
  const objects: LocatedObject[] = [];
  const problems: string[] = [];
  if (options.tenant !== undefined && !isName(options.tenant)) {
    return { objects, problems: [`--tenant "${options.tenant}": must be ${describeNameRule()}`] };
  }
  for (const document of documents) {
    const where = originText(document.origin);
    let candidate = document.value;
    if (isRecord(candidate)) {
      candidate = stripServerFields(candidate);
      const tenantProblem = fillTenant(candidate as Record<string, unknown>, options.tenant);
      if (tenantProblem) {
        problems.push(`${where}${describeTarget(candidate)}: ${tenantProblem}`);
        continue;
      }
    }
    const result = validateObject(candidate);
    if (!result.ok) {
      for (const problem of result.problems) problems.push(`${where}${describeTarget(candidate)}: ${problem}`);
      continue;
    }
    objects.push({ origin: document.origin, object: candidate as TenetObject });
  }
  problems.push(...duplicateProblems(objects), ...overlapProblems(objects));
  return { objects, problems };
}

function fillTenant(candidate: Record<string, unknown>, tenant: string | undefined): string | undefined {
  if (tenant === undefined || typeof candidate.kind !== 'string') return undefined;
  const info = kindInfo(candidate.kind);
  if (!info?.tenantScoped || !isRecord(candidate.metadata)) return undefined;
  const given = candidate.metadata.tenant;
  if (given === undefined) candidate.metadata = { ...candidate.metadata, tenant };
  else if (given !== tenant) return `metadata.tenant is "${String(given)}" but --tenant says "${tenant}"`;
  return undefined;
}

/** ` (Network acme/web)` when the document says what it is, so problems are easy to find. */
function describeTarget(candidate: unknown): string {
  if (!isRecord(candidate) || typeof candidate.kind !== 'string' || !isRecord(candidate.metadata)) return '';
  const name = typeof candidate.metadata.name === 'string' ? candidate.metadata.name : '?';
  const tenant = typeof candidate.metadata.tenant === 'string' ? `${candidate.metadata.tenant}/` : '';
  return ` (${printable(candidate.kind)} ${printable(tenant + name)})`;
}

/** Names in error messages may be anything a user typed: show them without control characters. */
function printable(text: string): string {
  const clean = JSON.stringify(text).slice(1, -1);
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}

function duplicateProblems(objects: readonly LocatedObject[]): string[] {
  const seen = new Map<string, Origin>();
  const problems: string[] = [];
  for (const { origin, object } of objects) {
    const key = refKey(refOf(object));
    const first = seen.get(key);
    if (first) problems.push(`${originText(origin)}: ${refPath(object)} is also defined in ${originText(first)}`);
    else seen.set(key, origin);
  }
  return problems;
}

function overlapProblems(objects: readonly LocatedObject[]): string[] {
  const problems: string[] = [];
  const networks = objects.filter((o) => o.object.kind === 'Network');
  networks.forEach((entry, index) => {
    const network = entry.object as Network;
    const earlier = networks
      .slice(0, index)
      .map((o) => o.object as Network)
      .filter((other) => other.metadata.tenant === network.metadata.tenant);
    for (const problem of networkOverlapProblems(network, earlier))
      problems.push(`${originText(entry.origin)} (${refPath(entry.object)}): ${problem}`);
  });
  return problems;
}

/** `network/acme/web` or `tenant/acme`: how the CLI names objects in its output. */
export function refPath(object: { kind: string; metadata?: { tenant?: string; name: string }; tenant?: string; name?: string }): string {
  const tenant = object.metadata ? object.metadata.tenant : object.tenant;
  const name = object.metadata ? object.metadata.name : (object.name ?? '');
  const kind = (resolveKind(object.kind)?.kind ?? object.kind).toLowerCase();
  return tenant ? `${kind}/${tenant}/${name}` : `${kind}/${name}`;
}

/** Reads all of stdin as UTF-8. */
export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Everything `apply`, `diff` and `delete -f` need: load, check, and fail with every problem in one
 * go (one per line, file and document named) before anything is sent. Objects come back in dependency order.
 */
export async function readIntentFiles(
  paths: readonly string[],
  options: CheckOptions & { readStdin?: () => Promise<string> } = {},
): Promise<LocatedObject[]> {
  if (paths.length === 0) throw new CliError('no manifests given: use -f FILE, -f DIRECTORY or -f - (stdin)', 2);
  const loaded = await loadManifests(paths, options.readStdin ?? readAllStdin);
  const checked = checkManifests(loaded.documents, options);
  const problems = [...loaded.problems, ...checked.problems];
  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new CliError(`invalid manifests (${count}, nothing was sent):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  if (checked.objects.length === 0) throw new CliError(`no objects found in ${paths.join(', ')}`);
  return [...checked.objects].sort((a, b) => compareByDependency(a.object, b.object));
}
