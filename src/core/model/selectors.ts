/**
 * Kubernetes-style label selectors: matching, and parsing the compact text form
 * used on the command line and in `?labelSelector=` (e.g. `app=web,tier!=db,env in (a,b),!legacy`).
 */

import { LABEL_KEY_REGEX, LABEL_VALUE_REGEX } from './names';

export type Labels = Record<string, string>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: SelectorRequirement[];
}

/** An empty selector ({}) matches everything; this is the Kubernetes meaning and policy import relies on it. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    if (!requirementMatches(requirement, labels)) return false;
  }
  return true;
}

export function requirementMatches(requirement: SelectorRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, requirement.key);
  switch (requirement.operator) {
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'In':
      return has && (requirement.values ?? []).includes(labels[requirement.key]);
    case 'NotIn':
      return !has || !(requirement.values ?? []).includes(labels[requirement.key]);
  }
}

/** Problems with a selector's shape that a schema cannot express (values required or forbidden by operator). */
export function selectorProblems(selector: LabelSelector, path: string): string[] {
  const problems: string[] = [];
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const at = `${path}.matchExpressions[${index}]`;
    const count = requirement.values?.length ?? 0;
    if ((requirement.operator === 'In' || requirement.operator === 'NotIn') && count === 0) {
      problems.push(`${at}.values: operator ${requirement.operator} needs at least one value`);
    }
    if ((requirement.operator === 'Exists' || requirement.operator === 'DoesNotExist') && count > 0) {
      problems.push(`${at}.values: operator ${requirement.operator} takes no values`);
    }
  });
  return problems;
}

/** Canonical, order-independent text for a selector: used as a key to share one nft set between equal selectors. */
export function selectorKey(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const expressions = (selector.matchExpressions ?? [])
    .map((r) => `${r.key} ${r.operator} (${[...(r.values ?? [])].sort().join(',')})`)
    .sort();
  return [...labels, ...expressions].join(';');
}

export class SelectorSyntaxError extends Error {}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
const VALUE = '[A-Za-z0-9_.-]*';

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h` into a selector. Throws SelectorSyntaxError. */
/**
 * A `labelSelector` query parameter: undefined when absent or empty; a syntax error becomes
 * whatever `refuse` makes of its message (the controller: a 400 naming the parameter).
 */
export function parseSelectorParam(text: string | undefined, refuse: (message: string) => Error): LabelSelector | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw refuse(`labelSelector: ${error.message}`);
    throw error;
  }
}

export function parseSelector(text: string): LabelSelector {
  const selector: Required<LabelSelector> = { matchLabels: {}, matchExpressions: [] };
  const trimmed = text.trim();
  if (trimmed === '') return selector;
  for (const clause of splitClauses(trimmed)) {
    const part = clause.trim();
    let match: RegExpMatchArray | null;
    if ((match = part.match(new RegExp(`^(${KEY})\\s*(==|=)\\s*(${VALUE})$`)))) {
      const [key, value] = [checkKey(match[1], part), checkValue(match[3], part)];
      // Clauses are ANDed, as in Kubernetes: a second `key=other` must narrow, not replace the first.
      if (!Object.hasOwn(selector.matchLabels, key)) selector.matchLabels[key] = value;
      else if (selector.matchLabels[key] !== value) selector.matchExpressions.push({ key, operator: 'In', values: [value] });
    } else if ((match = part.match(new RegExp(`^(${KEY})\\s*!=\\s*(${VALUE})$`)))) {
      selector.matchExpressions.push({ key: checkKey(match[1], part), operator: 'NotIn', values: [checkValue(match[2], part)] });
    } else if ((match = part.match(new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`)))) {
      const values = match[3].split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) {
        throw new SelectorSyntaxError(`bad value list in selector clause "${part}"`);
      }
      for (const value of values) checkValue(value, part);
      selector.matchExpressions.push({ key: checkKey(match[1], part), operator: match[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((match = part.match(new RegExp(`^!\\s*(${KEY})$`)))) {
      selector.matchExpressions.push({ key: checkKey(match[1], part), operator: 'DoesNotExist' });
    } else if ((match = part.match(new RegExp(`^(${KEY})$`)))) {
      selector.matchExpressions.push({ key: checkKey(match[1], part), operator: 'Exists' });
    } else {
      throw new SelectorSyntaxError(`cannot parse selector clause "${part}"`);
    }
  }
  return selector;
}

/** The clause grammar is looser than the label rules; a key or value no label can have is a mistake worth naming. */
function checkKey(key: string, clause: string): string {
  if (!LABEL_KEY_REGEX.test(key)) throw new SelectorSyntaxError(`"${key}" in selector clause "${clause}" is not a valid label key`);
  return key;
}

function checkValue(value: string, clause: string): string {
  if (!LABEL_VALUE_REGEX.test(value)) throw new SelectorSyntaxError(`"${value}" in selector clause "${clause}" is not a valid label value`);
  return value;
}

function splitClauses(text: string): string[] {
  const clauses: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      clauses.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  clauses.push(current);
  return clauses;
}
