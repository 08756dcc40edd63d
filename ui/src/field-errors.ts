/**
 * The API's validation details (`objects[0] (Network acme/web): spec.mtu: must be ... (got 100)`)
 * placed on the line of the YAML the user typed that holds the field, so the message sits next to
 * what it is about. Pure (no DOM): the unit tests run it under Node.
 */
import { isMap, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';

export interface FieldError {
  /** The document (0-based) of the YAML text the detail is about. */
  document: number;
  /** `spec.ingress[0].action`, or '' when the detail names no field. */
  field: string;
  message: string;
  /** 1-based line of the field (or of its nearest parent that exists) in the text; undefined when unknown. */
  line?: number;
}

const PREFIX = /^objects\[(\d+)\](?: \([^)]*\))?: /;
const PATH = /^([A-Za-z_][\w.-]*(?:\[\d+\])*(?:\.[A-Za-z_][\w.-]*(?:\[\d+\])*)*): (.*)$/s;

/** `spec.ingress[0].action` -> ['spec', 'ingress', 0, 'action']. */
export function pathSegments(field: string): Array<string | number> {
  const segments: Array<string | number> = [];
  for (const part of field.split('.')) {
    const match = /^([^[]+)((?:\[\d+\])*)$/.exec(part);
    if (!match) return segments;
    segments.push(match[1]);
    for (const index of match[2].matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]));
  }
  return segments;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The node at `segments`, or the deepest existing one on the way (an unknown field's parent map). */
function deepestNode(document: Document, segments: Array<string | number>): Node | undefined {
  let node: unknown = document.contents;
  let found: Node | undefined = node as Node | undefined;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === segment);
      if (!pair) break;
      // The key's line: a map value starts on the next line, the key names the field.
      found = (pair.key as Node | null) ?? found;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      found = item as Node;
      node = item;
    } else break;
  }
  return found;
}

export function placeErrors(text: string, details: readonly string[]): FieldError[] {
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [];
  return details.map((detail) => {
    const prefix = PREFIX.exec(detail);
    const document = prefix ? Number(prefix[1]) : 0;
    const rest = prefix ? detail.slice(prefix[0].length) : detail;
    const path = PATH.exec(rest);
    if (!path) return { document, field: '', message: rest };
    const [, field, message] = path;
    const doc = list[document];
    const node = doc ? deepestNode(doc, pathSegments(field)) : undefined;
    const line = node?.range ? lineOf(text, node.range[0]) : undefined;
    return { document, field, message, ...(line !== undefined ? { line } : {}) };
  });
}
