/**
 * One tenant router namespace's nftables table (`inet tenet`), as the agent knows it: what it last
 * committed (the record), when it last read the kernel back, which chains and dispatch entries it keeps
 * back for a while (spare chains, gone links) and when it last pruned them.
 *
 * Several producers write into the one table without knowing about each other (the policy program
 * today; antispoofing; service NAT, egress NAT and flow logs next). Each producer owns the sets, maps
 * and chains it names (a producer's names never collide with another's: each uses its own prefix) and
 * hands the table its whole fragment with `contribute(producer, fragment)`. `apply()` merges every
 * fragment into one desired program, diffs it once against the record (or the kernel, read back) and
 * commits one atomic transaction. This is the shape of Calico Felix's `nftables.Table` (desired
 * chains from several managers, one Apply) and of knftables' typed transactions.
 */
import { chainFingerprint, diffPrograms, type NftOp } from '../../core/policy/diff';
import type { NftChain, NftProgram } from '../../core/policy/program';
import { TABLE_NAME, withLazyInterfaces } from '../../core/policy/program';
import { guardBits, renderGuard } from '../../core/policy/guard';
import { adoptIntervalSets, ruleSequenceDrifted, type RuleCounter } from '../../core/policy/readback';
import { renderOps, renderProgram } from '../../core/policy/render';
import { changedElements, changedEntries } from '../../core/policy/elements';

/**
 * How long a chain no dispatch entry uses any more stays in the kernel. Deleting a chain makes the
 * nft commit wait for an RCU grace period (20-40 ms here, far more than the element operations of a
 * leave), and the next container of the same profile would add it again: an unreferenced chain
 * decides nothing (no dispatch element leads to it), so it is dropped by a later pass instead.
 */
export const SPARE_CHAIN_MS = 5000;

/**
 * Dropping the dispatch elements of deleted links and unused chains makes the transaction wait for an
 * RCU grace period (~10 ms here), however many it drops. So they are dropped only by a reconcile pass
 * (never on the attach or detach path), at most this often per namespace unless more than
 * PRUNE_BACKLOG have piled up: one wait for many, instead of one for each container that left.
 */
export const PRUNE_MS = 5000;
export const PRUNE_BACKLOG = 256;

/**
 * How often a reconcile pass reads a namespace's table back instead of trusting the record, so that a
 * hand edit or another program's change to it is found and repaired. Never on the attach path.
 */
export const READBACK_MS = 30000;

/** One atomic transaction, typed: what the diff decided, and the nft script it renders to. */
export interface NftTransaction {
  netns: string;
  /** The table is replaced as a whole (`program` is then everything it holds). */
  full: boolean;
  /** The table after the transaction. */
  program: NftProgram;
  /** Empty when `full`. */
  ops: NftOp[];
  text: string;
}

/**
 * The kernel side of a table: the libnftables worker in production (src/agent/nft/kernel.ts), a fake
 * that applies the typed operations to a program in memory in unit tests (test/helpers/fake-nft.ts).
 */
export interface NftDriver {
  commit(tx: NftTransaction): Promise<void>;
  /**
   * The table as the kernel holds it (chains carry their fingerprints, not rules); undefined when there
   * is none. `except`: sets and maps whose elements need not be listed (they may come back empty).
   */
  read(netns: string, options?: { except?: ReadonlySet<string> }): Promise<NftProgram | undefined>;
  /** Counters of every rule, without set elements (a cheap read). */
  counters(netns: string): Promise<RuleCounter[]>;
  /** The table's chains with their fingerprints, without set elements (a cheap read); undefined when there is no table. */
  chains(netns: string): Promise<NftChain[] | undefined>;
  /**
   * The guard bits the namespace's guard table (src/core/policy/guard.ts) accepts, 0 when there is no
   * guard. Optional: a driver without it (the fake) is taken to hold the guard the table asks for.
   */
  guard?(netns: string): Promise<number>;
  /** The per-element counters of one dynamicCounters set (rejects when there is no such set). */
  setCounters(netns: string, set: string): Promise<Map<string, { packets: number; bytes: number }>>;
}

export interface NftTableOptions {
  readBackMs?: number;
  pruneMs?: number;
  spareMs?: number;
  /** Every committed transaction (tests count them). */
  onTransaction?: (tx: NftTransaction) => void;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** The clock (tests move it). */
  now?: () => number;
}

/** What `apply` is called for: a reconcile pass may read back and prune; the attach/detach path never does. */
export interface ApplyOptions {
  pass: 'reconcile' | 'attach';
}

const EMPTY: NftProgram = { family: 'inet', table: TABLE_NAME, sets: [], maps: [], chains: [], interfaces: {} };

/** The fragments of every producer as one program; a name owned by two producers is a programming error. */
export function mergeFragments(fragments: ReadonlyMap<string, NftProgram>): NftProgram {
  if (fragments.size === 1) return [...fragments.values()][0];
  const owner = new Map<string, string>();
  const claim = (kind: string, name: string, producer: string): void => {
    const key = `${kind}:${name}`;
    const other = owner.get(key);
    if (other !== undefined) throw new Error(`nft ${kind} "${name}" is claimed by both ${other} and ${producer}`);
    owner.set(key, producer);
  };
  const sets: NftProgram['sets'] = [];
  const maps: NftProgram['maps'] = [];
  const chains: NftProgram['chains'] = [];
  for (const [producer, fragment] of fragments) {
    for (const set of fragment.sets) claim('set', set.name, producer);
    for (const map of fragment.maps) claim('map', map.name, producer);
    for (const chain of fragment.chains) claim('chain', chain.name, producer);
    sets.push(...fragment.sets);
    maps.push(...fragment.maps);
    chains.push(...fragment.chains);
  }
  // The interface → endpoint notes are merged only when read (nothing on the attach path reads them,
  // and merging two producers' notes of thousands of interfaces cost milliseconds per attach).
  const parts = [...fragments.values()];
  return withLazyInterfaces({ family: 'inet', table: TABLE_NAME, sets, maps, chains }, () =>
    Object.assign({}, ...parts.map((f) => f.interfaces)),
  );
}

export class NftTable {
  private readonly fragments = new Map<string, NftProgram>();
  /** What the kernel holds as far as the agent knows; undefined: read it back before diffing. */
  private record?: NftProgram;
  /** Set by distrust(): the next read-back takes no chain's fingerprint at its word. */
  private distrusted = false;
  private readAt?: number;
  private prunedAt = 0;
  /** The guard bits the kernel's guard table accepts (0: no guard), as far as the agent knows; undefined: unknown. */
  private guarded?: number;
  /** Unreferenced chain → since when. */
  private readonly spare = new Map<string, number>();
  /**
   * Host interface being deleted (a detach) → since when. Its dispatch elements may stay a while: no
   * packet arrives on a deleted link, and removing a map element also waits for an RCU grace period.
   * Set elements always leave at once (an address may be handed out again).
   */
  private readonly goneLinks = new Map<string, number>();
  private readonly readBackMs: number;
  private readonly pruneMs: number;
  private readonly spareMs: number;
  private readonly now: () => number;

  constructor(
    readonly netns: string,
    private readonly driver: NftDriver,
    private readonly options: NftTableOptions = {},
  ) {
    this.readBackMs = options.readBackMs ?? READBACK_MS;
    this.pruneMs = options.pruneMs ?? PRUNE_MS;
    this.spareMs = options.spareMs ?? SPARE_CHAIN_MS;
    this.now = options.now ?? Date.now;
  }

  /** Sets `producer`'s part of the desired table (every set, map and chain it owns); nothing reaches the kernel before apply(). */
  contribute(producer: string, fragment: NftProgram): void {
    this.fragments.set(producer, fragment);
  }

  /** Drops `producer`'s part: the next apply removes what it owned. */
  withdraw(producer: string): void {
    this.fragments.delete(producer);
  }

  /** The desired table: every producer's fragment. */
  desired(): NftProgram {
    return this.fragments.size === 0 ? EMPTY : mergeFragments(this.fragments);
  }

  /** What was last committed (undefined when the kernel must be read back first). */
  programmed(): NftProgram | undefined {
    return this.record;
  }

  /** The dispatch entries and interface-keyed set elements of `iface` may stay until the next prune (its link is being deleted). */
  linkGone(iface: string): void {
    this.goneLinks.set(iface, this.now());
  }

  /**
   * What the kernel holds is no longer known (the namespace was made or deleted again, a commit
   * failed, a hand edit is suspected): the next apply reads it back. The fragments stay.
   */
  forget(): void {
    this.record = undefined;
    this.readAt = undefined;
    this.prunedAt = 0;
    this.guarded = undefined;
    this.spare.clear();
    this.goneLinks.clear();
  }

  /**
   * A hand edit the agent's own checks cannot see is suspected: a rule replaced in the middle of a chain
   * by one carrying the same comment leaves the fingerprint, the rule count and the comments as they
   * were (ruleSequenceDrifted). `tenet trace` found the kernel disagreeing with intent
   * (docs/observability.md): the next apply reads the table back and writes every chain again from the
   * fragments.
   */
  distrust(): void {
    this.forget();
    this.distrusted = true;
  }

  /**
   * `read` with the chains whose fingerprint must not be taken at its word marked unknown (the diff then
   * writes them again): every chain after distrust(), else each chain whose rules no longer run in
   * the sequence they were written in (a hand edit in the middle of the chain, ruleSequenceDrifted).
   */
  private untrusted(read: NftProgram, intended: NftProgram): NftProgram {
    const written = new Map(intended.chains.map((c) => [c.name, c]));
    const drifted = (c: NftChain): boolean => {
      const want = written.get(c.name);
      return want !== undefined && chainFingerprint(c) === chainFingerprint(want) && ruleSequenceDrifted(c, want);
    };
    if (!this.distrusted && !read.chains.some(drifted)) return read;
    const chains = read.chains.map((c) => (this.distrusted || drifted(c) ? { ...c, fingerprint: 'unknown' } : c));
    this.options.log?.('info', 'nft chains written again (changed by hand, or distrusted)', {
      netns: this.netns,
      chains: chains.filter((c) => c.fingerprint === 'unknown').map((c) => c.name),
    });
    return { ...read, chains };
  }

  /** Whether a reconcile pass should read the kernel back instead of trusting the record. */
  readBackDue(): boolean {
    return this.readAt !== undefined && this.now() - this.readAt >= this.readBackMs;
  }

  /** Makes the kernel hold the desired table: one transaction (or none when nothing changed). */
  async apply(options: ApplyOptions): Promise<NftTransaction | undefined> {
    const intended = this.desired();
    let before = this.record;
    if (before && options.pass === 'reconcile' && this.readBackDue()) {
      before = await this.readBack(before, intended);
      // A hand edit in the middle of a chain keeps its fingerprint: the rule sequence tells (ruleSequenceDrifted).
      if (before) before = this.untrusted(before, intended);
    }
    if (!before) {
      this.forget();
      const actual = await this.driver.read(this.netns).catch(() => undefined);
      this.readAt = this.now();
      before = actual ? adoptIntervalSets(actual, intended) : undefined;
      if (before) before = this.untrusted(before, intended);
    }
    let desired = this.withSpareChains(before, intended, options.pass === 'reconcile');
    let diff = diffPrograms(before, desired);
    if (diff.replace) {
      desired = intended;
      this.spare.clear();
      diff = diffPrograms(before, desired);
    }
    // The guard goes in and out with the forward hooks, in the same transaction (never a guard
    // without the marks that let traffic past it, nor hooks without their guard).
    const guard = guardBits(desired);
    if (this.guarded === undefined) this.guarded = this.driver.guard ? await this.driver.guard(this.netns).catch(() => undefined) : guard;
    const guardText = this.guarded === guard ? '' : renderGuard(guard, this.guarded === 0).join('\n') + '\n';
    if (!diff.replace && diff.ops.length === 0 && guardText === '') {
      this.record = desired;
      this.distrusted = false;
      return undefined;
    }
    const text =
      (diff.replace ? renderProgram(desired) : renderOps(desired, diff.ops).join('\n') + (diff.ops.length > 0 ? '\n' : '')) + guardText;
    const tx: NftTransaction = { netns: this.netns, full: diff.replace, program: desired, ops: diff.ops, text };
    const started = performance.now();
    try {
      await this.driver.commit(tx);
    } catch (error) {
      // What the kernel holds is now uncertain: read it back next time.
      this.forget();
      throw error;
    }
    this.record = desired;
    this.distrusted = false;
    this.guarded = guard;
    this.options.onTransaction?.(tx);
    this.options.log?.('debug', 'nft table programmed', {
      netns: this.netns,
      full: diff.replace,
      ops: diff.ops.length,
      nftMs: Math.round((performance.now() - started) * 10) / 10,
    });
    return tx;
  }

  /**
   * The periodic read-back: the kernel's table, except the elements of trusted sets and maps, which are
   * taken from the record (NftVmap.trusted). Undefined (read everything) when it cannot be read so.
   */
  private async readBack(record: NftProgram, intended: NftProgram): Promise<NftProgram | undefined> {
    const trusted = new Set([...record.sets.filter((s) => s.trusted), ...record.maps.filter((m) => m.trusted)].map((x) => x.name));
    const actual = await this.driver.read(this.netns, { except: trusted }).catch(() => undefined);
    if (!actual) return undefined;
    this.readAt = this.now();
    this.guarded = undefined;
    // What the kernel holds beyond the record (spare chains, kept dispatch entries) was read back; the
    // spare-chain and gone-link marks stay as they are.
    const sets = new Map(record.sets.map((s) => [s.name, s]));
    const maps = new Map(record.maps.map((m) => [m.name, m]));
    const adopted = adoptIntervalSets(actual, intended);
    return {
      ...adopted,
      sets: adopted.sets.map((s) => (trusted.has(s.name) && sets.has(s.name) ? sets.get(s.name)! : s)),
      maps: adopted.maps.map((m) => (trusted.has(m.name) && maps.has(m.name) ? maps.get(m.name)! : m)),
    };
  }

  /**
   * Whether the kernel's table still holds every chain of the record with the rules and hook it was
   * written with (a cheap read without set elements: fingerprints, rule counts and comments), and the
   * guard table what it should: false after a hand flush or delete of either, or a rule deleted or
   * replaced in the middle of a chain. True when there is no record to compare with.
   */
  async intact(): Promise<boolean> {
    const record = this.record;
    if (!record) return true;
    const chains = await this.driver.chains(this.netns).catch(() => undefined);
    if (!chains) return false;
    if (this.driver.guard && (await this.driver.guard(this.netns).catch(() => -1)) !== guardBits(record)) return false;
    const actual = new Map(chains.map((c) => [c.name, c]));
    return record.chains.every((chain) => {
      const found = actual.get(chain.name);
      if (found === undefined || found.base?.policy !== chain.base?.policy || found.base?.hook !== chain.base?.hook) return false;
      // A chain without rules carries no fingerprint comment: read back, it is 'empty'.
      return chain.rules.length === 0 && chain.fingerprint === undefined
        ? chainFingerprint(found) === 'empty'
        : chainFingerprint(found) === chainFingerprint(chain) && !ruleSequenceDrifted(found, chain);
    });
  }

  /** The per-element counters of one of the table's dynamicCounters sets. */
  setCounters(set: string): Promise<Map<string, { packets: number; bytes: number }>> {
    return this.driver.setCounters(this.netns, set);
  }

  /** Counters of every rule in the kernel's table (rejects when there is no table). */
  counters(): Promise<RuleCounter[]> {
    return this.driver.counters(this.netns);
  }

  /** `desired` plus the chains of `before` it dropped less than spareMs ago (what the kernel will then hold). */
  private withSpareChains(before: NftProgram | undefined, desired: NftProgram, mayPrune: boolean): NftProgram {
    const marks = this.spare;
    const wanted = new Set(desired.chains.map((c) => c.name));
    // A spare chain may refer to a set or map the change deletes: then nothing is kept back.
    const keepSets = new Set(desired.sets.map((x) => x.name));
    const keepMaps = new Set(desired.maps.map((x) => x.name));
    const deletesContainer = before
      ? before.sets.some((x) => !keepSets.has(x.name)) || before.maps.some((x) => !keepMaps.has(x.name))
      : true;
    const now = this.now();
    const links = this.goneLinks;
    const prune = mayPrune && (now - this.prunedAt >= this.pruneMs || links.size + marks.size > PRUNE_BACKLOG);
    // Expired: kept back long enough; dropped only when this pass prunes.
    const expired = (since: number): boolean => prune && now - since >= this.spareMs;
    if (prune) this.prunedAt = now;
    for (const [key, since] of links) if (expired(since)) links.delete(key);
    const pinned = new Set<string>();
    let maps = desired.maps;
    if (!deletesContainer && links.size > 0) {
      maps = desired.maps.map((map) => {
        // Data maps are not keyed by links (and a grouped one would have to build its union to be looked at).
        if (map.typeof !== undefined) return map;
        const old = before!.maps.find((m) => m.name === map.name);
        const extra: Record<string, string> = {};
        for (const [key, target] of Object.entries(old?.elements ?? {})) {
          if (map.elements[key] !== undefined || !links.has(key)) continue;
          extra[key] = target;
          pinned.add(target);
        }
        // Recorded as a change of the producer's map, so this and the next diffs follow changes (elements.ts).
        return Object.keys(extra).length > 0 ? { ...map, elements: changedEntries(map.elements, extra) } : map;
      });
    }
    // Likewise set elements keyed by a gone link (interface-keyed sets, antispoofing's), unless the name
    // is in use again: deleting a set element also waits for a grace period, and nothing can arrive
    // on a deleted link. A re-made link of the same name gets exactly its new elements.
    let sets = desired.sets;
    if (!deletesContainer && links.size > 0) {
      const linkOf = (element: string): string => element.split(' . ')[0];
      sets = desired.sets.map((set) => {
        if (!set.type.startsWith('ifname') || set.dynamicCounters) return set;
        const old = before!.sets.find((x) => x.name === set.name);
        if (!old || old.elements === set.elements) return set;
        const wanted = new Set(set.elements);
        const inUse = new Set(set.elements.map(linkOf));
        const extra = old.elements.filter((e) => !wanted.has(e) && links.has(linkOf(e)) && !inUse.has(linkOf(e)));
        return extra.length > 0 ? { ...set, elements: changedElements(set.elements, extra, []) } : set;
      });
    }
    const kept: NftChain[] = [];
    for (const chain of deletesContainer ? [] : before!.chains) {
      if (wanted.has(chain.name) || chain.base) continue;
      const since = marks.get(chain.name) ?? now;
      // A chain a kept dispatch element still leads to stays with it.
      if (!expired(since) || pinned.has(chain.name)) kept.push(chain);
    }
    const keptNames = new Set(kept.map((c) => c.name));
    for (const name of [...marks.keys()]) if (!keptNames.has(name)) marks.delete(name);
    for (const name of keptNames) if (!marks.has(name)) marks.set(name, now);
    if (kept.length === 0 && maps === desired.maps && sets.every((set, i) => set === desired.sets[i])) return desired;
    // Not a spread of `desired`: its interface notes are built only when read.
    return withLazyInterfaces(
      { family: desired.family, table: desired.table, sets, maps, chains: [...desired.chains, ...kept] },
      () => desired.interfaces,
    );
  }
}
