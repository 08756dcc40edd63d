/**
 * Guards on request bodies before JSON.parse. V8 parses nesting of any depth, but everything after it
 * (schema checks, error rendering, JSON.stringify of stored objects) recurses, so a small body of
 * 200,000 '[' would end in a stack overflow far from the boundary that should have refused it.
 */

/** Every request body but apply's: one object is far below it. */
export const BODY_LIMIT = 1024 * 1024;

/**
 * `apply` carries all the documents of an export in one body (one transaction, one history revision),
 * so it needs room for a large intent; the object-count cap (10,000) binds before this one for most.
 */
export const APPLY_BODY_LIMIT = 32 * 1024 * 1024;

/** No Tenet object nests beyond ~12 levels (apply wraps them in two more); 64 leaves room and stays far below any recursion limit. */
export const MAX_JSON_DEPTH = 64;

/** The depth at which text first exceeds `limit` nested arrays/objects, or undefined when it never does. Strings are skipped. */
export function nestingBeyond(text: string, limit = MAX_JSON_DEPTH): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return undefined;
}
