/**
 * kubectl's JSONPath templates (`-o jsonpath='{.items[*].metadata.name}'`), the subset people use:
 * text outside braces printed as is; in braces a path of `.field`, `['field']`, `[n]` (negative from
 * the end), `[a:b]`, `[*]`, `.*`, `..field` (recursive), filters `[?(@.path)]` and
 * `[?(@.path OP literal)]` with ==, !=, <, <=, >, >=; `{range PATH}...{end}` and string literals
 * (`{"\n"}`). Several results of one expression are joined by a space, as kubectl does; strings print
 * raw, everything else as JSON. No npm package implements kubectl's template flavour (range/end and
 * literals are kubectl's own), so this small one is ours.
 */
export class JsonPathError extends Error {}

type Step =
  | { type: 'field'; name: string }
  | { type: 'index'; index: number }
  | { type: 'slice'; start?: number; end?: number }
  | { type: 'wildcard' }
  | { type: 'recursive'; name: string }
  | { type: 'filter'; path: Step[]; operator?: string; literal?: unknown };

type Node = { type: 'text'; text: string } | { type: 'path'; steps: Step[] } | { type: 'range'; steps: Step[]; body: Node[] };

export function parseTemplate(template: string): Node[] {
  const tokens: ({ type: 'text'; text: string } | { type: 'expr'; text: string })[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      tokens.push({ type: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) tokens.push({ type: 'text', text: template.slice(i, open) });
    const close = closingBrace(template, open);
    tokens.push({ type: 'expr', text: template.slice(open + 1, close).trim() });
    i = close + 1;
  }
  let position = 0;
  const parseNodes = (inRange: boolean): Node[] => {
    const nodes: Node[] = [];
    while (position < tokens.length) {
      const token = tokens[position++];
      if (token.type === 'text') {
        nodes.push(token);
        continue;
      }
      const text = token.text;
      if (text === 'end') {
        if (!inRange) throw new JsonPathError('{end} without {range}');
        return nodes;
      }
      if (text.startsWith('range ')) {
        const steps = parsePath(text.slice(6).trim());
        nodes.push({ type: 'range', steps, body: parseNodes(true) });
        continue;
      }
      if (/^(".*"|'.*')$/s.test(text)) {
        nodes.push({ type: 'text', text: unquote(text) });
        continue;
      }
      nodes.push({ type: 'path', steps: parsePath(text) });
    }
    if (inRange) throw new JsonPathError('{range} without {end}');
    return nodes;
  };
  return parseNodes(false);
}

function closingBrace(text: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  throw new JsonPathError(`unclosed { at position ${open + 1}`);
}

function unquote(text: string): string {
  const body = text.slice(1, -1);
  return body.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

function parsePath(text: string): Step[] {
  let i = 0;
  // `{.a}`, `{a}` and `{$.a}` all start at the root (or the current range item).
  if (text.startsWith('$')) i = 1;
  const steps: Step[] = [];
  const name = (): string => {
    const match = /^[A-Za-z0-9_\-/]+/.exec(text.slice(i));
    if (!match) throw new JsonPathError(`expected a field name at "${text.slice(i, i + 20)}"`);
    i += match[0].length;
    return match[0];
  };
  if (i < text.length && text[i] !== '.' && text[i] !== '[') steps.push({ type: 'field', name: name() });
  while (i < text.length) {
    if (text.startsWith('..', i)) {
      i += 2;
      steps.push({ type: 'recursive', name: name() });
    } else if (text[i] === '.') {
      i++;
      if (i >= text.length) break;
      if (text[i] === '*') {
        i++;
        steps.push({ type: 'wildcard' });
      } else steps.push({ type: 'field', name: name() });
    } else if (text[i] === '[') {
      const close = matchingBracket(text, i);
      steps.push(parseBracket(text.slice(i + 1, close).trim()));
      i = close + 1;
    } else throw new JsonPathError(`unexpected "${text[i]}" in "${text}"`);
  }
  return steps;
}

function matchingBracket(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  throw new JsonPathError(`unclosed [ in "${text}"`);
}

function parseBracket(inner: string): Step {
  if (inner === '*') return { type: 'wildcard' };
  if (/^-?\d+$/.test(inner)) return { type: 'index', index: Number(inner) };
  const slice = /^(-?\d*):(-?\d*)$/.exec(inner);
  if (slice) return { type: 'slice', ...(slice[1] ? { start: Number(slice[1]) } : {}), ...(slice[2] ? { end: Number(slice[2]) } : {}) };
  if (/^(".*"|'.*')$/.test(inner)) return { type: 'field', name: inner.slice(1, -1) };
  const filter = /^\?\(\s*@(\.[^=!<>\s]*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$/.exec(inner);
  if (filter) {
    const literal = filter[3] === undefined ? undefined : parseLiteral(filter[3]);
    return { type: 'filter', path: parsePath(filter[1]), ...(filter[2] ? { operator: filter[2], literal } : {}) };
  }
  throw new JsonPathError(`unsupported [${inner}]`);
}

function parseLiteral(text: string): unknown {
  if (/^(".*"|'.*')$/.test(text)) return text.slice(1, -1);
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  throw new JsonPathError(`unsupported filter value ${text}`);
}

function children(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object') return Object.values(value);
  return [];
}

function apply(step: Step, value: unknown): unknown[] {
  switch (step.type) {
    case 'field':
      return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, step.name)
        ? [(value as Record<string, unknown>)[step.name]]
        : [];
    case 'index': {
      if (!Array.isArray(value)) return [];
      const index = step.index < 0 ? value.length + step.index : step.index;
      return index >= 0 && index < value.length ? [value[index]] : [];
    }
    case 'slice':
      return Array.isArray(value) ? value.slice(step.start, step.end) : [];
    case 'wildcard':
      return children(value);
    case 'recursive': {
      const found: unknown[] = [];
      const walk = (node: unknown) => {
        found.push(...apply({ type: 'field', name: step.name }, node));
        for (const child of children(node)) walk(child);
      };
      walk(value);
      return found;
    }
    case 'filter':
      return children(value).filter((item) => {
        const [got] = evaluate(step.path, item);
        if (step.operator === undefined) return got !== undefined && got !== null && got !== false;
        return compare(got, step.operator, step.literal);
      });
  }
}

function compare(a: unknown, operator: string, b: unknown): boolean {
  switch (operator) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default: {
      if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
      const x = a as number | string;
      const y = b as number | string;
      return operator === '<' ? x < y : operator === '<=' ? x <= y : operator === '>' ? x > y : x >= y;
    }
  }
}

function evaluate(steps: readonly Step[], root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) current = current.flatMap((value) => apply(step, value));
  return current;
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function render(nodes: readonly Node[], data: unknown): string {
  let out = '';
  for (const node of nodes) {
    if (node.type === 'text') out += node.text;
    else if (node.type === 'path') out += evaluate(node.steps, data).map(show).join(' ');
    else for (const item of evaluate(node.steps, data).flatMap((v) => (Array.isArray(v) ? v : [v]))) out += render(node.body, item);
  }
  return out;
}

/** Renders a kubectl JSONPath template against data; JsonPathError for a template it cannot read. */
export function jsonPath(template: string, data: unknown): string {
  return render(parseTemplate(template), data);
}
