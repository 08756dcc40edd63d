/**
 * Renders the program model (and incremental operations on it) as `nft -f` text.
 * Every name that reaches this text was produced by names.ts from validated
 * object names; comments are filtered to a harmless alphabet anyway.
 */
import type { Effect, Match, NftChain, NftProgram, NftRule, NftSet, NftVmap, Verdict } from './program';
import { chainFingerprint, type NftOp } from './diff';

const SAFE_COMMENT = /[^A-Za-z0-9 _./:=#,+-]/g;

export function safeComment(text: string): string {
  return text.replace(SAFE_COMMENT, '_').slice(0, 120);
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

export function renderMatch(match: Match): string {
  switch (match.kind) {
    case 'ct':
      return `ct state ${match.states.join(',')}`;
    case 'addr':
      return `${match.family === 4 ? 'ip' : 'ip6'} ${match.field} @${match.set}`;
    case 'family':
      return `meta nfproto ${match.family === 4 ? 'ipv4' : 'ipv6'}`;
    case 'l4':
      return `meta l4proto ${match.proto === 'icmpv6' ? 'ipv6-icmp' : match.proto}`;
    case 'dport': {
      const parts = match.ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`));
      return parts.length === 1 ? `th dport ${parts[0]}` : `th dport { ${parts.join(', ')} }`;
    }
    case 'namedPort':
      return `${match.family === 4 ? 'ip' : 'ip6'} daddr . meta l4proto . th dport @${match.set}`;
    case 'mark':
      return `meta mark & ${hex(match.mask)} ${match.negate ? '!=' : '=='} ${hex(match.value)}`;
    case 'vmap':
      return `${match.field} vmap @${match.map}`;
    case 'vmapLookup':
      return `${match.keys.join(' . ')} vmap @${match.map}`;
    case 'ctMark':
      return `ct mark ${hex(match.value)}`;
    case 'saddrIs':
      return `${match.family === 4 ? 'ip' : 'ip6'} saddr ${match.address}`;
    case 'ctDnat':
      return 'ct status dnat';
    case 'daddrIs':
      return `${match.family === 4 ? 'ip' : 'ip6'} daddr ${match.address}`;
    case 'ifname':
      if (!/^[a-z0-9]{1,15}\*?$/.test(match.name)) throw new Error(`refusing interface name "${match.name}"`);
      return `${match.field} ${match.negate ? '!= ' : ''}"${match.name}"`;
    case 'lookup':
      return `${match.keys.join(' . ')} ${match.negate ? '!= ' : ''}@${match.set}`;
  }
}

function renderEffect(effect: Effect): string {
  switch (effect.kind) {
    case 'setMarkBits':
      return `meta mark set meta mark | ${hex(effect.bits)}`;
    case 'clearMarkBits':
      return `meta mark set meta mark & ${hex(~effect.bits)}`;
    case 'log':
      return `limit rate ${effect.limit.perSecond}/second burst ${effect.limit.burst} packets log prefix "${safeComment(effect.prefix).slice(0, 120)}" group ${effect.group}`;
    case 'ctMarkRule': {
      const shift = effect.direction === 'egress' ? 0 : 16;
      return `ct mark set ct mark & ${hex(~(0xffff << shift))} | ${hex((effect.id & 0xffff) << shift)}`;
    }
    case 'countByInterface':
      return `update @${effect.set} { iifname }`;
    case 'natMap': {
      const ip = effect.family === 4 ? 'ip' : 'ip6';
      return `${effect.nat} ${ip}${effect.withPort ? ' addr . port' : ''} to ${effect.key} map @${effect.map}`;
    }
    case 'masquerade':
      return 'masquerade';
    case 'snatTo':
      if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(effect.address)) throw new Error(`not an IPv4 address: ${JSON.stringify(effect.address)}`);
      return `snat ip to ${effect.address}`;
    case 'ctMarkSet':
      return `ct mark set ${effect.expr}`;
    case 'mapUpdate':
      return `update @${effect.map} { ${effect.key} timeout ${Math.trunc(effect.timeoutSeconds)}s : ${effect.data} }`;
  }
}

export function renderVerdict(verdict: Verdict): string {
  switch (verdict.kind) {
    case 'jump':
    case 'goto':
      return `${verdict.kind} ${verdict.target}`;
    case 'reject':
      return verdict.tcpReset ? 'reject with tcp reset' : 'reject';
    default:
      return verdict.kind;
  }
}

/** The rule body as it follows `add rule inet T CHAIN`. Counters are on every rule. */
export function renderRule(rule: NftRule): string {
  const parts = rule.matches.map(renderMatch);
  // Rules that only dispatch (vmap) count in the chains they reach.
  if (!rule.matches.some((m) => m.kind === 'vmap' || m.kind === 'vmapLookup')) parts.push('counter');
  for (const effect of rule.effects ?? []) parts.push(renderEffect(effect));
  if (rule.verdict) parts.push(renderVerdict(rule.verdict));
  if (rule.comment) parts.push(`comment "${safeComment(rule.comment)}"`);
  return parts.join(' ');
}

function setHeader(set: NftSet): string {
  const flags = set.dynamicCounters ? ' flags dynamic; counter;' : set.interval ? ' flags interval;' : '';
  const comment = set.comment ? ` comment "${safeComment(set.comment)}";` : '';
  return `{ type ${set.type};${flags}${comment} }`;
}

function chunk<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function elementLines(verb: 'add' | 'delete', family: string, table: string, name: string, elements: readonly string[]): string[] {
  // Long element lists are split so no single line grows without bound.
  return chunk(elements, 2000).map((part) => `${verb} element ${family} ${table} ${name} { ${part.join(', ')} }`);
}

type MapKind = 'data' | 'ifname' | 'keyed';

function mapEntries(elements: Record<string, string>, kind: MapKind): string[] {
  return Object.entries(elements).map(([key, value]) =>
    kind === 'data' ? `${key} : ${value}` : kind === 'keyed' ? `${key} : goto ${value}` : `"${key}" : goto ${value}`,
  );
}

function mapKind(map: Pick<NftVmap, 'typeof' | 'keyType'>): MapKind {
  return map.typeof !== undefined ? 'data' : map.keyType !== undefined ? 'keyed' : 'ifname';
}

function mapHeader(map: NftVmap): string {
  if (map.typeof !== undefined) {
    const dynamic = map.dynamicSize !== undefined ? ` size ${Math.trunc(map.dynamicSize)}; flags dynamic,timeout;` : '';
    return `{ ${map.declare ?? 'typeof'} ${map.typeof};${dynamic} }`;
  }
  return `{ type ${map.keyType ?? 'ifname'} : verdict; }`;
}

function chainHeader(chain: NftChain): string {
  if (!chain.base) return '';
  return ` { type ${chain.base.type ?? 'filter'} hook ${chain.base.hook} priority ${chain.base.priority}; policy ${chain.base.policy}; }`;
}

/**
 * Whole program as one transaction that creates or replaces the table:
 * `add table` + `delete table` first makes it idempotent whether or not the table exists.
 */
export function renderProgram(program: NftProgram, options: { replace?: boolean } = {}): string {
  const { family, table } = program;
  const lines: string[] = [];
  if (options.replace !== false) {
    lines.push(`add table ${family} ${table}`, `delete table ${family} ${table}`);
  }
  lines.push(`add table ${family} ${table}`);
  lines.push(...renderOps(program, creationOps(program)));
  return lines.join('\n') + '\n';
}

/** Operations that build the program from an empty table. */
export function creationOps(program: NftProgram): NftOp[] {
  const ops: NftOp[] = [];
  for (const set of program.sets) ops.push({ op: 'addSet', set });
  for (const map of program.maps) ops.push({ op: 'addMap', map: { ...map, elements: {} } });
  for (const chain of program.chains) ops.push({ op: 'addChain', chain });
  for (const map of program.maps) {
    if (Object.keys(map.elements).length > 0) ops.push({ op: 'addMapElements', map: map.name, elements: map.elements });
  }
  for (const chain of program.chains) ops.push({ op: 'setChainRules', chain });
  return ops;
}

export function renderOps(
  program: Pick<NftProgram, 'family' | 'table'> & Partial<Pick<NftProgram, 'maps'>>,
  ops: readonly NftOp[],
): string[] {
  const { family, table } = program;
  // Element operations name a map only: what kind of map it is comes from the program (or the op's own addMap).
  const kinds = new Map<string, MapKind>((program.maps ?? []).map((m) => [m.name, mapKind(m)]));
  for (const op of ops) if (op.op === 'addMap') kinds.set(op.map.name, mapKind(op.map));
  const kindOf = (name: string): MapKind => kinds.get(name) ?? 'ifname';
  const lines: string[] = [];
  for (const op of ops) {
    switch (op.op) {
      case 'addSet':
        lines.push(`add set ${family} ${table} ${op.set.name} ${setHeader(op.set)}`);
        if (op.set.elements.length > 0) lines.push(...elementLines('add', family, table, op.set.name, op.set.elements));
        break;
      case 'deleteSet':
        lines.push(`delete set ${family} ${table} ${op.name}`);
        break;
      case 'addElements':
        lines.push(...elementLines('add', family, table, op.set, op.elements));
        break;
      case 'deleteElements':
        lines.push(...elementLines('delete', family, table, op.set, op.elements));
        break;
      case 'addMap':
        lines.push(`add map ${family} ${table} ${op.map.name} ${mapHeader(op.map)}`);
        if (Object.keys(op.map.elements).length > 0)
          lines.push(`add element ${family} ${table} ${op.map.name} { ${mapEntries(op.map.elements, mapKind(op.map)).join(', ')} }`);
        break;
      case 'deleteMap':
        lines.push(`delete map ${family} ${table} ${op.name}`);
        break;
      case 'addMapElements':
        lines.push(
          ...chunk(mapEntries(op.elements, kindOf(op.map)), 2000).map(
            (part) => `add element ${family} ${table} ${op.map} { ${part.join(', ')} }`,
          ),
        );
        break;
      case 'deleteMapElements':
        lines.push(
          ...chunk(
            op.keys.map((k) => (kindOf(op.map) === 'ifname' ? `"${k}"` : k)),
            2000,
          ).map((part) => `delete element ${family} ${table} ${op.map} { ${part.join(', ')} }`),
        );
        break;
      case 'addChain':
        lines.push(`add chain ${family} ${table} ${op.chain.name}${chainHeader(op.chain)}`);
        break;
      case 'setChainRules': {
        lines.push(`flush chain ${family} ${table} ${op.chain.name}`);
        // The last rule's comment carries the chain's fingerprint, so a resync can tell what is already right.
        const fp = chainFingerprint(op.chain);
        op.chain.rules.forEach((rule, i) => {
          const last = i === op.chain.rules.length - 1;
          const marked = last ? { ...rule, comment: `${(rule.comment ?? '').slice(0, 96)} fp=${fp}` } : rule;
          lines.push(`add rule ${family} ${table} ${op.chain.name} ${renderRule(marked)}`);
        });
        break;
      }
      case 'flushChain':
        lines.push(`flush chain ${family} ${table} ${op.name}`);
        break;
      case 'deleteChain':
        lines.push(`delete chain ${family} ${table} ${op.name}`);
        break;
    }
  }
  return lines;
}
