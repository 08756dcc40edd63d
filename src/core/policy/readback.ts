/**
 * What the kernel holds, from `nft -j list table inet tenet`, as a program the diff understands:
 * sets and maps with their elements, chains with the fingerprint their last rule's comment carries
 * (rules themselves are not parsed back). Used only on startup and resync.
 */
import { canonicalIp } from '../net/ip';
import { safeComment } from './render';
import { L4_NUMBER, TABLE_NAME, type L4Name, type NftChain, type NftProgram, type NftSet, type NftVmap, type SetType } from './program';

type Json = Record<string, unknown>;

const PROTO_NAMES: Record<string, number> = { ...L4_NUMBER, 'ipv6-icmp': 58 } as Record<L4Name | 'ipv6-icmp', number>;

/** A concatenation's parts as rendered: addresses canonical, MACs lower-case, names as they are. */
function concatText(parts: unknown[], type: SetType): string {
  if (type.includes('inet_proto')) {
    const [ip, proto, port] = parts;
    const protoNumber = typeof proto === 'number' ? proto : (PROTO_NAMES[String(proto)] ?? Number(proto));
    return `${canonicalIp(String(ip)) ?? String(ip)} . ${protoNumber} . ${Number(port)}`;
  }
  return parts.map((part) => (typeof part === 'string' ? (canonicalIp(part) ?? part.toLowerCase()) : String(part))).join(' . ');
}

function elementText(value: unknown, type: SetType = 'ipv4_addr . inet_proto . inet_service'): string | undefined {
  if (typeof value === 'string' || typeof value === 'number') {
    const text = String(value);
    return canonicalIp(text) ?? text;
  }
  if (value && typeof value === 'object') {
    const v = value as Json;
    if (v.prefix) {
      const p = v.prefix as { addr: string; len: number };
      return `${canonicalIp(p.addr) ?? p.addr}/${p.len}`;
    }
    if (Array.isArray(v.range)) return `${canonicalIp(String(v.range[0]))}-${canonicalIp(String(v.range[1]))}`;
    if (Array.isArray(v.concat)) return concatText(v.concat as unknown[], type);
    if (v.elem) return elementText((v.elem as Json).val, type);
  }
  return undefined;
}

const CONCAT_TYPES: readonly SetType[] = ['ifname . ether_addr', 'ifname . ether_addr . ipv4_addr', 'ifname . ether_addr . ipv6_addr'];

function setType(type: unknown): SetType | undefined {
  if (type === 'ipv4_addr' || type === 'ipv6_addr' || type === 'ifname') return type;
  if (Array.isArray(type) && CONCAT_TYPES.includes(type.join(' . ') as SetType)) return type.join(' . ') as SetType;
  if (Array.isArray(type) && type.length === 3 && type[1] === 'inet_proto' && type[2] === 'inet_service') {
    return type[0] === 'ipv4_addr' ? 'ipv4_addr . inet_proto . inet_service' : 'ipv6_addr . inet_proto . inet_service';
  }
  return undefined;
}

/** The declaration of a data map read back from the kernel (which does not give it as written). */
export const READ_BACK_DATA_MAP = '*';

/** A data map's key or data as rendered: addresses canonical, protocols as numbers, concatenations joined by ` . `. */
function dataMapText(value: unknown): string | undefined {
  const part = (p: unknown): string => {
    if (typeof p === 'number') return String(p);
    const text = String(p);
    return canonicalIp(text) ?? (PROTO_NAMES[text] !== undefined ? String(PROTO_NAMES[text]) : text);
  };
  if (typeof value === 'string' || typeof value === 'number') return part(value);
  if (value && typeof value === 'object' && Array.isArray((value as Json).concat))
    return ((value as Json).concat as unknown[]).map(part).join(' . ');
  return undefined;
}

/** The items of `nft -j` output; none when it is not JSON (an empty or failed read). */
function nftItems(text: string): Json[] {
  try {
    return (JSON.parse(text) as { nftables?: Json[] }).nftables ?? [];
  } catch {
    return [];
  }
}

const FP_SUFFIX = / fp=[0-9a-f]{16}$/;

/**
 * Whether a chain read back holds another sequence of rules than the one it was written with: another
 * number of rules, or another comment at some place (render.ts writes each rule's comment, the last
 * one shortened to make room for the fingerprint). The fingerprint alone lives in the last rule's
 * comment, so a rule deleted, added or replaced by hand in the middle of a chain leaves it as it was;
 * this catches those edits from the rules' comments alone, without reading set elements. A hand rule
 * that carries exactly the comment of the rule it replaces (or none where the agent's had none) is
 * still not seen: `tenet trace` finds that one (docs/observability.md). False when `read` was not
 * read back (it carries no comments) or `written` was (its rules are not known).
 */
export function ruleSequenceDrifted(read: NftChain, written: NftChain): boolean {
  const found = read.ruleComments;
  // A chain kept back from an earlier read (a spare chain) has no rules to compare with.
  if (found === undefined || written.fingerprint !== undefined) return false;
  if (found.length !== written.rules.length) return true;
  const last = written.rules.length - 1;
  return written.rules.some((rule, i) => {
    const comment = i === last ? safeComment(`${(rule.comment ?? '').slice(0, 96)}`) : rule.comment ? safeComment(rule.comment) : '';
    return found[i] !== comment;
  });
}

/**
 * undefined when the output holds no tenet table. Several outputs (a terse listing, then single sets or
 * maps listed with their elements) read as one: a later set or map replaces an earlier one of its name.
 */
export function parseTableJson(text: string | readonly string[]): NftProgram | undefined {
  const items = (typeof text === 'string' ? [text] : text).flatMap(nftItems);
  if (!items.some((i) => (i.table as Json | undefined)?.name === TABLE_NAME)) return undefined;
  const program: NftProgram = { family: 'inet', table: TABLE_NAME, sets: [], maps: [], chains: [], interfaces: {} };
  const chains = new Map<string, NftChain>();
  const sets = new Map<string, NftSet>();
  const maps = new Map<string, NftVmap>();
  const lastComment = new Map<string, string>();
  const comments = new Map<string, string[]>();
  for (const item of items) {
    if (item.set) {
      const s = item.set as Json;
      if (s.table !== TABLE_NAME) continue;
      const type = setType(s.type);
      if (!type) continue;
      // A set with per-element statements (a counter) is filled by the packet path: its elements are not state.
      const dynamicCounters = Array.isArray(s.stmt) && s.stmt.length > 0;
      const set: NftSet = {
        name: String(s.name),
        type,
        interval: Array.isArray(s.flags) && (s.flags as string[]).includes('interval'),
        elements: dynamicCounters
          ? []
          : ((s.elem as unknown[]) ?? []).map((e) => elementText(e, type)).filter((e): e is string => e !== undefined),
        ...(dynamicCounters ? { dynamicCounters: true } : {}),
      };
      sets.set(set.name, set);
    } else if (item.map) {
      const m = item.map as Json;
      if (m.table !== TABLE_NAME) continue;
      const map: NftVmap = { name: String(m.name), elements: {} };
      if (m.map !== 'verdict') {
        // A data map (service NAT): its declaration is not read back; adoptIntervalSets gives it the desired one of the same name.
        map.typeof = READ_BACK_DATA_MAP;
        // One the packet path fills holds no state of the program.
        if (Array.isArray(m.flags) && (m.flags as string[]).some((f) => f === 'dynamic' || f === 'timeout')) {
          map.dynamicSize = typeof m.size === 'number' ? m.size : 0;
          maps.set(map.name, map);
          continue;
        }
        for (const entry of (m.elem as unknown[][]) ?? []) {
          const [key, data] = entry;
          const k = dataMapText(key);
          const d = dataMapText(data);
          if (k !== undefined && d !== undefined) map.elements[k] = d;
        }
        maps.set(map.name, map);
        continue;
      }
      for (const entry of (m.elem as unknown[][]) ?? []) {
        const [key, verdict] = entry;
        const target = ((verdict as Json)?.goto as Json | undefined)?.target;
        // A verdict map keyed by a concatenation (service affinity dispatch) reads back like a data map's key.
        const k = typeof key === 'string' ? key : dataMapText(key);
        if (Array.isArray(m.type)) map.keyType = (m.type as string[]).join(' . ');
        if (k !== undefined && typeof target === 'string') map.elements[k] = target;
      }
      // keyType comes with the first element; a terse listing has none.
      if (Array.isArray(m.type)) map.keyType = (m.type as string[]).join(' . ');
      maps.set(map.name, map);
    } else if (item.chain) {
      const c = item.chain as Json;
      if (c.table !== TABLE_NAME) continue;
      const chain: NftChain = { name: String(c.name), rules: [] };
      if (c.hook) {
        const priority = typeof c.prio === 'number' ? c.prio : 0;
        chain.base = {
          hook: c.hook === 'prerouting' || c.hook === 'postrouting' ? c.hook : 'forward',
          priority,
          policy: c.policy === 'drop' ? 'drop' : 'accept',
          ...(c.type === 'nat' ? { type: 'nat' as const } : {}),
        };
      }
      chains.set(chain.name, chain);
    } else if (item.rule) {
      const r = item.rule as Json;
      if (r.table !== TABLE_NAME) continue;
      const comment = typeof r.comment === 'string' ? r.comment : '';
      lastComment.set(String(r.chain), comment);
      const sequence = comments.get(String(r.chain)) ?? [];
      sequence.push(comment.replace(FP_SUFFIX, ''));
      comments.set(String(r.chain), sequence);
    }
  }
  program.sets.push(...sets.values());
  program.maps.push(...maps.values());
  for (const chain of chains.values()) {
    const comment = lastComment.get(chain.name);
    const match = comment ? / fp=([0-9a-f]{16})$/.exec(comment) : null;
    // A chain without a readable fingerprint is treated as unknown content: it will be rewritten.
    chain.fingerprint = match ? match[1] : comment === undefined ? 'empty' : 'unknown';
    chain.ruleComments = comments.get(chain.name) ?? [];
    program.chains.push(chain);
  }
  return program;
}

/**
 * Interval sets are named after their content (peer CIDRs), and the kernel rewrites their elements
 * (merging, prefixes): a read-back interval set with the desired name already holds the desired content.
 */
export function adoptIntervalSets(actual: NftProgram, desired: NftProgram): NftProgram {
  const wanted = new Map(desired.sets.filter((s) => s.interval).map((s) => [s.name, s]));
  // Likewise a data map's declaration: the desired map of the same name (producers own their names) was declared so.
  const maps = new Map(desired.maps.map((m) => [m.name, m]));
  const adoptedMaps = actual.maps.map((m) =>
    m.typeof === READ_BACK_DATA_MAP && maps.get(m.name)?.typeof !== undefined
      ? { ...m, typeof: maps.get(m.name)!.typeof, ...(maps.get(m.name)!.declare ? { declare: maps.get(m.name)!.declare } : {}) }
      : m,
  );
  return {
    ...actual,
    maps: adoptedMaps,
    sets: actual.sets.map((s) => (s.interval && wanted.has(s.name) ? { ...s, elements: [...wanted.get(s.name)!.elements] } : s)),
  };
}

export interface RuleCounter {
  chain: string;
  comment: string;
  packets: number;
  bytes: number;
  /** Which counter of the rule (0: the first; a logging rule has a second one after its limit, deny-accounting.ts). */
  index?: number;
}

/** Counters of every rule (from `nft -j list table`), with the comment that names the policy rule. */
export function parseCounters(text: string): RuleCounter[] {
  const out: RuleCounter[] = [];
  for (const item of nftItems(text)) {
    const r = item.rule as Json | undefined;
    if (!r || r.table !== TABLE_NAME) continue;
    let index = 0;
    for (const expr of (r.expr as Json[]) ?? []) {
      const counter = expr.counter as { packets?: number; bytes?: number } | undefined;
      if (counter) {
        const comment = typeof r.comment === 'string' ? r.comment.replace(FP_SUFFIX, '') : '';
        out.push({ chain: String(r.chain), comment, packets: counter.packets ?? 0, bytes: counter.bytes ?? 0, index: index++ });
      }
    }
  }
  return out;
}

/** Per policy rule (`tier:policy:direction:index`), summed over the nft rules it compiled into. */
export function ruleHits(counters: readonly RuleCounter[]): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const c of counters) {
    if (!/^(admin|tenant|baseline):[a-z0-9-]+:(ingress|egress):[0-9]+$/.test(c.comment)) continue;
    // A `log` rule's second counter (after its rate limit, deny-accounting.ts) is not another hit.
    if ((c.index ?? 0) > 0) continue;
    const entry = out.get(c.comment) ?? { packets: 0, bytes: 0 };
    entry.packets += c.packets;
    entry.bytes += c.bytes;
    out.set(c.comment, entry);
  }
  return out;
}

export interface PolicyRuleHits {
  /** `Policy tenant/name` keys use the policy name as compiled: tier:name. */
  tier: string;
  policy: string;
  ruleHits: Array<{ direction: string; index: number; packets: number; bytes: number }>;
}

/**
 * Per-rule hits grouped per policy, in the shape of PolicyStatus.ruleHits (summing several namespaces or
 * hosts is adding the numbers of equal (policy, direction, index)).
 */
export function hitsByPolicy(hitMaps: ReadonlyArray<Map<string, { packets: number; bytes: number }>>): PolicyRuleHits[] {
  const out = new Map<string, PolicyRuleHits>();
  for (const hits of hitMaps) {
    for (const [key, value] of hits) {
      const [tier, policy, direction, index] = key.split(':');
      const id = `${tier}:${policy}`;
      let entry = out.get(id);
      if (!entry) out.set(id, (entry = { tier, policy, ruleHits: [] }));
      const existing = entry.ruleHits.find((r) => r.direction === direction && r.index === Number(index));
      if (existing) {
        existing.packets += value.packets;
        existing.bytes += value.bytes;
      } else entry.ruleHits.push({ direction, index: Number(index), packets: value.packets, bytes: value.bytes });
    }
  }
  for (const entry of out.values())
    entry.ruleHits.sort((a, b) => (a.direction < b.direction ? -1 : a.direction > b.direction ? 1 : a.index - b.index));
  return [...out.values()].sort((a, b) => (a.policy < b.policy ? -1 : 1));
}

/** Per-element counters of a dynamicCounters set (`nft -j list set …`), by element. */
export function parseSetCounters(text: string): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const item of nftItems(text)) {
    const set = item.set as Json | undefined;
    if (!set || set.table !== TABLE_NAME) continue;
    for (const entry of (set.elem as Json[]) ?? []) {
      const elem = entry?.elem as Json | undefined;
      const counter = elem?.counter as { packets?: number; bytes?: number } | undefined;
      if (elem && counter && (typeof elem.val === 'string' || typeof elem.val === 'number'))
        out.set(String(elem.val), { packets: counter.packets ?? 0, bytes: counter.bytes ?? 0 });
    }
  }
  return out;
}
