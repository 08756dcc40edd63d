/**
 * The nftables program of one tenant router namespace, as plain data.
 * The same structure is rendered to `nft -f` text, diffed into incremental
 * operations, and walked by explain: there is one source of truth for what the
 * kernel does with a packet, so explain cannot drift from enforcement.
 */

export type Direction = 'egress' | 'ingress';
export type TierName = 'admin' | 'tenant' | 'baseline';
export type L4Name = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';

export const L4_NUMBER: Record<L4Name, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };

/** Element types we use; the address family is part of the type, so a set holds one family. */
export type SetType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'ipv4_addr . inet_proto . inet_service'
  | 'ipv6_addr . inet_proto . inet_service'
  // Antispoofing (src/core/dataplane/antispoof.ts): an endpoint's interface, MAC and addresses.
  | 'ifname'
  | 'ifname . ether_addr'
  | 'ifname . ether_addr . ipv4_addr'
  | 'ifname . ether_addr . ipv6_addr'
  // Egress (src/core/egress/egress.ts): a transit link and its tenant's transit address.
  | 'ifname . ipv4_addr'
  | 'ifname . ipv6_addr';

export interface NftSet {
  name: string;
  type: SetType;
  /** Interval sets hold prefixes and ranges (CIDR peers); plain sets hold single addresses (members). */
  interval: boolean;
  /** Canonical element text, as rendered: `10.0.0.1`, `10.0.0.0/8`, `10.0.0.0-10.0.0.9`, `10.0.0.1 . 6 . 80`, `tv0a1b . 02:aa:00:00:00:01 . 10.0.0.1`. */
  elements: string[];
  /**
   * Filled by the packet path (`update @set`), with a counter per element: declared by the program,
   * its elements are the kernel's (never diffed, never read back as state).
   */
  dynamicCounters?: boolean;
  /** Its elements are never read back while the agent has a record of the table (see NftVmap.trusted). */
  trusted?: boolean;
  comment?: string;
}

export type Verdict =
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'return' }
  | { kind: 'continue' }
  | { kind: 'jump'; target: string }
  | { kind: 'goto'; target: string }
  /** Service NAT: a VIP without a backend answers at once (TCP RST; otherwise ICMP port unreachable). */
  | { kind: 'reject'; tcpReset?: boolean };

/**
 * Verdict map keyed by interface name: per-endpoint dispatch into its profile chain. With `typeof`, a
 * data map instead (service NAT's slot tables): declared `typeof <key> : <data>`, elements `key : data`
 * as rendered (unquoted).
 */
export interface NftVmap {
  name: string;
  /** interface name -> goto target chain (a data map: key text -> data text) */
  elements: Record<string, string>;
  comment?: string;
  /** A data map's declaration, e.g. `ip daddr . meta l4proto . th dport . ct mark : ip daddr . th dport`. */
  typeof?: string;
  /**
   * How `typeof` is declared: `typeof` (expressions) or `type` (datatypes, e.g. `ipv4_addr . mark :
   * ipv4_addr . inet_service`). nft 1.0.6 refuses a rule added later that looks up a map declared by
   * `typeof` with `th dport` in its key ("conflicting protocols"); one declared by `type` works.
   */
  declare?: 'typeof' | 'type';
  /**
   * A verdict map keyed by something else than an interface name: its key type (`ipv4_addr . inet_proto .
   * inet_service`); elements `key : goto chain`, unquoted.
   */
  keyType?: string;
  /**
   * A data map the packet path fills (`update @map { key timeout Ns : data }`), declared with
   * `flags dynamic,timeout` and this size: its elements are the kernel's (never diffed, never read back as state).
   */
  dynamicSize?: number;
  /**
   * The elements by owner (service NAT: one group per service), when the producer keeps them so:
   * `elements` is then their union, made only when read, and the diff compares group by group,
   * skipping a group that is the same object as before (what makes churn cost the changed service only).
   */
  groups?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /**
   * Its elements are never read back while the agent has a record of the table: the periodic read-back
   * takes the kernel to hold what was last committed (service NAT's maps and sets grow with the services:
   * listing 130,000 elements takes nft seconds and hundreds of MB). Only a read without a record (agent
   * start, after a failed commit) lists them.
   */
  trusted?: boolean;
}

type Group = Readonly<Record<string, string>>;
type Groups = ReadonlyMap<string, Group>;

/** Groups made from others by changing a few (see groupsChanged): what they came from and which names may differ. */
const groupDeltas = new WeakMap<Groups, { from: Groups; names: ReadonlySet<string> }>();

/**
 * Changes held on top of a shared base before they are folded into a new one. A change copies the
 * changes held (at most this many), never the base: 10,000 services' groups are copied once per this
 * many changed services instead of once per pass.
 */
export const GROUP_LAYER_LIMIT = 512;

/** A change held by LayeredGroups: the group (undefined: removed), and whether it now comes after the base's (a removed base group added again). */
interface Layer {
  group: Group | undefined;
  appended: boolean;
}

/**
 * A persistent map of groups: a base shared by every version made from it, and this version's changes.
 * Read-only like every program part. It iterates in the order a Map changed the same way would (a
 * replaced group in its place, a new or re-added one at the end), so a program made by changes renders
 * as one made at once.
 */
class LayeredGroups implements ReadonlyMap<string, Group> {
  constructor(
    readonly base: ReadonlyMap<string, Group>,
    readonly delta: ReadonlyMap<string, Layer>,
    readonly size: number,
  ) {}

  get(name: string): Group | undefined {
    const layer = this.delta.get(name);
    return layer ? layer.group : this.base.get(name);
  }

  has(name: string): boolean {
    const layer = this.delta.get(name);
    return layer ? layer.group !== undefined : this.base.has(name);
  }

  *entries(): MapIterator<[string, Group]> {
    for (const entry of this.base) {
      const layer = this.delta.get(entry[0]);
      if (!layer) yield entry;
      else if (!layer.appended && layer.group !== undefined) yield [entry[0], layer.group];
    }
    for (const [name, layer] of this.delta)
      if (layer.group !== undefined && (layer.appended || !this.base.has(name))) yield [name, layer.group];
    return undefined;
  }

  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
    return undefined;
  }

  *values(): MapIterator<Group> {
    for (const [, group] of this.entries()) yield group;
    return undefined;
  }

  [Symbol.iterator](): MapIterator<[string, Group]> {
    return this.entries();
  }

  forEach(callback: (value: Group, key: string, map: ReadonlyMap<string, Group>) => void, thisArg?: unknown): void {
    for (const [name, group] of this.entries()) callback.call(thisArg, group, name, this);
  }
}

/**
 * `from` with the groups of `names` replaced (a value) or removed (undefined): a new map, noted as made
 * so, so that a diff against `from` looks at those names only (10,000 services, one changed: one group
 * looked into instead of 10,000). `from` is left as it is and shares its entries with the new map
 * (LayeredGroups): a change costs the changed groups and the changes held, not a copy of every group.
 */
export function groupsChanged(from: Groups, changes: ReadonlyMap<string, Group | undefined>): Groups {
  const layered = from instanceof LayeredGroups ? from : undefined;
  const base = layered ? layered.base : from;
  const delta = new Map<string, Layer>(layered ? layered.delta : []);
  let size = from.size;
  for (const [name, group] of changes) {
    const had = from.has(name);
    const layer = delta.get(name);
    if (group === undefined) {
      if (!had) continue;
      size--;
      if (base.has(name)) delta.set(name, { group: undefined, appended: false });
      else delta.delete(name);
    } else if (had) {
      // Replaced in place (a Map keeps a replaced key where it was).
      delta.set(name, { group, appended: layer?.appended ?? false });
    } else {
      size++;
      // New, or removed and now back: after everything else, as a Map would put it.
      delta.delete(name);
      delta.set(name, { group, appended: base.has(name) });
    }
  }
  let out: Groups = new LayeredGroups(base, delta, size);
  if (delta.size > GROUP_LAYER_LIMIT) out = new Map(out);
  groupDeltas.set(out, { from, names: new Set(changes.keys()) });
  return out;
}

/** The names in which `groups` may differ from `from`, when it was made from it by groupsChanged; undefined otherwise. */
export function groupsChangedFrom(groups: Groups, from: Groups): ReadonlySet<string> | undefined {
  const delta = groupDeltas.get(groups);
  return delta?.from === from ? delta.names : undefined;
}

/** A map whose elements are `groups`' union, computed when first read (see NftVmap.groups). */
export function groupedMap(
  map: Omit<NftVmap, 'elements' | 'groups'>,
  groups: ReadonlyMap<string, Readonly<Record<string, string>>>,
): NftVmap {
  let union: Record<string, string> | undefined;
  const out = { ...map, groups } as NftVmap;
  Object.defineProperty(out, 'elements', {
    enumerable: true,
    get(): Record<string, string> {
      if (!union) {
        union = {};
        for (const group of groups.values()) Object.assign(union, group);
      }
      return union;
    },
  });
  return out;
}

export type Match =
  | { kind: 'ct'; states: Array<'established' | 'related' | 'invalid' | 'new'> }
  | { kind: 'addr'; family: 4 | 6; field: 'saddr' | 'daddr'; set: string }
  | { kind: 'family'; family: 4 | 6 }
  | { kind: 'l4'; proto: L4Name }
  /** `th dport { ... }` with inclusive ranges; only after an l4 match of tcp/udp/sctp. */
  | { kind: 'dport'; ranges: Array<[number, number]> }
  /** destination address, protocol and port together in a named-port set. */
  | { kind: 'namedPort'; family: 4 | 6; set: string }
  /** `meta mark & mask == value` (negate: !=). */
  | { kind: 'mark'; mask: number; value: number; negate?: boolean }
  | { kind: 'vmap'; field: 'iifname' | 'oifname'; map: string }
  /** `ip daddr . meta l4proto . th dport vmap @map`: a verdict map keyed by a concatenation (service NAT's affinity dispatch). */
  | { kind: 'vmapLookup'; keys: LookupKey[]; map: string }
  /** `ct mark VALUE`. */
  | { kind: 'ctMark'; value: number }
  /** `ip saddr PREFIX` / `ip6 saddr ADDRESS`: one address or prefix written into the rule (antispoofing). */
  | { kind: 'saddrIs'; family: 4 | 6; address: string }
  /** `ip daddr PREFIX` / `ip6 daddr ADDRESS` written into the rule (egress: the tenant's own subnets never leave). */
  | { kind: 'daddrIs'; family: 4 | 6; address: string }
  /** `oifname "eg0"` / `iifname != "tg*"`: an interface by name, `*` at the end as nft's wildcard (fixed texts of the producers, never user input). */
  | { kind: 'ifname'; field: 'iifname' | 'oifname'; name: string; negate?: boolean }
  /** `ct status dnat`: the connection's destination was translated (a floating IP's, src/core/egress/egress.ts). */
  | { kind: 'ctDnat' }
  /** `icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }`: neighbour discovery (the host's egress table). */
  | { kind: 'ndp' }
  /** `iifname . ether saddr . ip saddr @set` (or `!= @set`): the packet's fields looked up together in a set. */
  | { kind: 'lookup'; keys: LookupKey[]; set: string; negate?: boolean };

export type LookupKey =
  'iifname' | 'oifname' | 'ether saddr' | 'ip saddr' | 'ip6 saddr' | 'ip daddr' | 'ip6 daddr' | 'meta l4proto' | 'th dport';

export type Effect =
  | { kind: 'setMarkBits'; bits: number }
  | { kind: 'clearMarkBits'; bits: number }
  /**
   * nflog to `group` of the namespace, at most `limit` packets per second (a `limit` is a match in nft:
   * over the rate the rule ends there, so a logging rule never carries a verdict; deny-log.ts).
   */
  | { kind: 'log'; prefix: string; group: number; limit: { perSecond: number; burst: number } }
  /** `ct mark set ct mark & KEEP | id << shift`: the accepting rule's id in its direction's half of the ct mark (flow-mark.ts). */
  | { kind: 'ctMarkRule'; direction: Direction; id: number }
  /** `update @set { iifname }`: counts the packet under its input interface in a dynamicCounters set. */
  | { kind: 'countByInterface'; set: string }
  /**
   * Service NAT through a data map: `dnat ip addr . port to <key> map @map` (address and port from the
   * map), or `snat ip to <key> map @map` (address only). `key` is rendered as given (fixed texts of
   * src/core/services/compile.ts, never user input).
   */
  | { kind: 'natMap'; nat: 'dnat' | 'snat'; family: 4 | 6; withPort: boolean; key: string; map: string }
  /** Source NAT to the output interface's address (egress NAT; src/core/egress/egress.ts). */
  | { kind: 'masquerade' }
  /**
   * Source NAT to one fixed address (a host's underlay address, a tenant's transit address; rendered only
   * when it parses as one of `family`): where the address is known, unlike masquerade it does not look the
   * output interface's address up for every new connection.
   */
  | { kind: 'snat'; family: 4 | 6; address: string }
  /** `ct mark set EXPR`; `expr` is a fixed text of src/core/services/compile.ts (never user input). */
  | { kind: 'ctMarkSet'; expr: string }
  /** `update @map { KEY timeout Ns : DATA }` (a dynamicSize map); `key` and `data` are fixed texts of the compiler. */
  | { kind: 'mapUpdate'; map: string; key: string; timeoutSeconds: number; data: string };

/** Where a rule came from: what explain reports and what counters are attributed to. */
export interface RuleOrigin {
  direction?: Direction;
  tier?: TierName | 'default' | 'base';
  /** `Policy tenant/name` or `GlobalPolicy name`. */
  policy?: string;
  policyKind?: 'Policy' | 'GlobalPolicy';
  /** Index of the rule in the policy's ingress/egress list. */
  rule?: number;
  ruleName?: string;
  action?: 'allow' | 'deny' | 'pass' | 'log' | 'isolate' | 'default-allow' | 'default-deny' | 'stateful';
}

export interface NftRule {
  matches: Match[];
  effects?: Effect[];
  verdict?: Verdict;
  /** Every rule counts; the comment carries a stable id the agent maps counters back with. */
  comment?: string;
  origin?: RuleOrigin;
}

export interface BaseHook {
  /** forward: policy; prerouting: antispoofing (before routing and before connection tracking), service NAT; postrouting: hairpin NAT. */
  hook: 'forward' | 'prerouting' | 'postrouting' | 'input';
  /** Chain type; default filter. */
  type?: 'filter' | 'nat';
  /** nft priority as a number (filter is 0). */
  priority: number;
  policy: 'accept' | 'drop';
}

export interface NftChain {
  name: string;
  base?: BaseHook;
  rules: NftRule[];
  /** Set only on chains read back from the kernel, whose rules are not parsed: the content hash they were written with. */
  fingerprint?: string;
  /**
   * Set only on chains read back from the kernel: each rule's comment in order (without the
   * fingerprint). A rule deleted, added or replaced by hand in the middle of a chain leaves the
   * fingerprint as it was, but not this sequence (readback.ts, ruleSequenceDrifted).
   */
  ruleComments?: string[];
}

export interface NftProgram {
  family: 'inet';
  table: string;
  sets: NftSet[];
  maps: NftVmap[];
  chains: NftChain[];
  /** Not part of the kernel state: which local interface belongs to which endpoint (for explain and reports). */
  interfaces: Record<string, string>;
}

export const TABLE_NAME = 'tenet';

/**
 * `program` with its `interfaces` notes computed on first read. For programs remade on every attach
 * from thousands of endpoints: the notes are for explain and reports, which the attach path never
 * is, and building a record of thousands of keys costs milliseconds.
 */
export function withLazyInterfaces(program: Omit<NftProgram, 'interfaces'>, interfaces: () => Record<string, string>): NftProgram {
  let made: Record<string, string> | undefined;
  return {
    ...program,
    get interfaces(): Record<string, string> {
      return (made ??= interfaces());
    },
  };
}

/** Mark bit set by an admin-tier `pass`: the rest of the admin tier is skipped. */
export const PASS_MARK = 0x01000000;
