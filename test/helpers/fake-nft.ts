/**
 * A fake of the kernel side of NftTable for unit tests that need no root: it records every typed
 * transaction, applies its operations to an in-memory table the way the kernel would (atomically,
 * refusing what nft refuses: elements of a missing set, a chain a dispatch element still leads to),
 * and answers read-backs from what it holds, as `nft -j list table` is parsed: chains carry the
 * fingerprint of their rules, not the rules.
 */
import { chainFingerprint, type NftOp } from '../../src/core/policy/diff';
import type { NftChain, NftProgram, NftRule } from '../../src/core/policy/program';
import { safeComment } from '../../src/core/policy/render';
import type { RuleCounter } from '../../src/core/policy/readback';
import type { NftDriver, NftTransaction } from '../../src/agent/nft/table';

function copy(program: NftProgram): NftProgram {
  return {
    ...program,
    sets: program.sets.map((s) => ({ ...s, elements: [...s.elements] })),
    // Flat, as the kernel reads back: a grouped map's groups are the producer's, not the kernel's.
    maps: program.maps.map(({ groups: _groups, ...m }) => ({ ...m, elements: { ...m.elements } })),
    chains: [...program.chains],
    interfaces: {},
  };
}

function applyOp(table: NftProgram, op: NftOp): void {
  const set = (name: string) => table.sets.find((s) => s.name === name) ?? fail(`No such file or directory: set ${name}`);
  const map = (name: string) => table.maps.find((m) => m.name === name) ?? fail(`No such file or directory: map ${name}`);
  switch (op.op) {
    case 'addSet':
      if (!table.sets.some((s) => s.name === op.set.name)) table.sets.push({ ...op.set, elements: [...op.set.elements] });
      break;
    case 'deleteSet':
      set(op.name);
      table.sets = table.sets.filter((s) => s.name !== op.name);
      break;
    case 'addElements': {
      const s = set(op.set);
      s.elements = [...s.elements, ...op.elements.filter((e) => !s.elements.includes(e))];
      break;
    }
    case 'deleteElements': {
      const s = set(op.set);
      for (const e of op.elements) if (!s.elements.includes(e)) fail(`No such file or directory: element ${e} of ${op.set}`);
      s.elements = s.elements.filter((e) => !op.elements.includes(e));
      break;
    }
    case 'addMap':
      if (!table.maps.some((m) => m.name === op.map.name)) table.maps.push({ ...op.map, elements: { ...op.map.elements } });
      break;
    case 'deleteMap':
      map(op.name);
      table.maps = table.maps.filter((m) => m.name !== op.name);
      break;
    case 'addMapElements': {
      const m = map(op.map);
      for (const [key, target] of Object.entries(op.elements)) {
        if (m.typeof === undefined && !table.chains.some((c) => c.name === target)) fail(`No such file or directory: chain ${target}`);
        if (m.elements[key] !== undefined && m.elements[key] !== target) fail(`File exists: ${key} in ${op.map}`);
        m.elements[key] = target;
      }
      break;
    }
    case 'deleteMapElements': {
      const m = map(op.map);
      for (const key of op.keys) {
        if (m.elements[key] === undefined) fail(`No such file or directory: ${key} in ${op.map}`);
        delete m.elements[key];
      }
      break;
    }
    case 'addChain':
      if (!table.chains.some((c) => c.name === op.chain.name)) table.chains.push({ name: op.chain.name, base: op.chain.base, rules: [] });
      break;
    case 'setChainRules':
      if (!table.chains.some((c) => c.name === op.chain.name)) fail(`No such file or directory: chain ${op.chain.name}`);
      table.chains = table.chains.map((c) => (c.name === op.chain.name ? op.chain : c));
      break;
    case 'flushChain':
      table.chains = table.chains.map((c) => (c.name === op.name ? { name: c.name, base: c.base, rules: [] } : c));
      break;
    case 'deleteChain':
      if (table.maps.some((m) => Object.values(m.elements).includes(op.name))) fail(`Device or resource busy: chain ${op.name}`);
      table.chains = table.chains.filter((c) => c.name !== op.name);
      break;
  }
}

function fail(message: string): never {
  throw new Error(message);
}

export class FakeNft implements NftDriver {
  readonly tables = new Map<string, NftProgram>();
  readonly transactions: NftTransaction[] = [];
  reads = 0;

  async commit(tx: NftTransaction): Promise<void> {
    const current = this.tables.get(tx.netns);
    let next: NftProgram;
    if (tx.full) next = copy(tx.program);
    else {
      if (!current) fail(`No such file or directory: table inet tenet in ${tx.netns}`);
      next = copy(current);
      for (const op of tx.ops) applyOp(next, op);
    }
    this.transactions.push(tx);
    this.tables.set(tx.netns, next);
  }

  /** The sets and maps each read was told it need not list (as the kernel driver, it then leaves their elements out). */
  readonly excepted: string[][] = [];

  async read(netns: string, options?: { except?: ReadonlySet<string> }): Promise<NftProgram | undefined> {
    this.reads++;
    this.excepted.push([...(options?.except ?? [])].sort());
    const table = this.tables.get(netns);
    if (!table) return undefined;
    const read = copy(table);
    const except = options?.except ?? new Set<string>();
    read.sets = read.sets.map((s) => (except.has(s.name) ? { ...s, elements: [] } : s));
    read.maps = read.maps.map((m) => (except.has(m.name) ? { ...m, elements: {} } : m));
    read.chains = table.chains.map((c): NftChain => ({
      name: c.name,
      base: c.base,
      rules: [],
      // As the kernel holds it: the fingerprint the chain was written with, in its last rule's comment.
      fingerprint: c.rules.length === 0 ? 'empty' : (this.written.get(c) ?? chainFingerprint(c)),
      // As render.ts writes them (the last one shortened for the fingerprint) and readback.ts reads them.
      ruleComments: c.rules.map((r, i) =>
        i === c.rules.length - 1 ? safeComment((r.comment ?? '').slice(0, 96)) : r.comment ? safeComment(r.comment) : '',
      ),
    }));
    return read;
  }

  async chains(netns: string): Promise<NftChain[] | undefined> {
    return (await this.read(netns))?.chains;
  }

  /** Per-element counters of a dynamic set: what `count()` recorded. */
  readonly dynamicCounts = new Map<string, Map<string, { packets: number; bytes: number }>>();

  async setCounters(netns: string, set: string): Promise<Map<string, { packets: number; bytes: number }>> {
    if (!this.tables.get(netns)?.sets.some((s) => s.name === set)) fail(`No such file or directory: set ${set}`);
    return this.dynamicCounts.get(`${netns}/${set}`) ?? new Map();
  }

  async counters(netns: string): Promise<RuleCounter[]> {
    const table = this.tables.get(netns) ?? fail(`No such file or directory: table inet tenet in ${netns}`);
    return table.chains.flatMap((c) => c.rules.map((r) => ({ chain: c.name, comment: r.comment ?? '', packets: 0, bytes: 0 })));
  }

  /** A hand `nft delete table inet tenet`. */
  deleteTable(netns: string): void {
    this.tables.delete(netns);
  }

  /** A hand `nft flush table inet tenet`: every chain loses its rules; sets, maps and chains stay. */
  flushTable(netns: string): void {
    const table = this.tables.get(netns);
    if (table) table.chains = table.chains.map((c) => ({ name: c.name, base: c.base, rules: [] }));
  }

  /** Chains edited by hand → the fingerprint their (untouched) last rule still carries. */
  private readonly written = new WeakMap<NftChain, string>();

  /**
   * A hand `nft delete rule`, `nft replace rule` or `nft insert rule` in the middle of a chain: `edit`
   * gets the chain's rules and returns the new ones. The last rule, and the fingerprint its comment
   * carries, must stay as they were (as they do in the kernel after such an edit).
   */
  editRules(netns: string, chain: string, edit: (rules: NftRule[]) => NftRule[]): void {
    const table = this.tables.get(netns) ?? fail(`No such file or directory: table inet tenet in ${netns}`);
    const old = table.chains.find((c) => c.name === chain) ?? fail(`No such file or directory: chain ${chain}`);
    const rules = edit([...old.rules]);
    if (rules.at(-1) !== old.rules.at(-1)) fail('editRules: only the middle of a chain (its last rule stays)');
    const edited: NftChain = { name: old.name, base: old.base, rules };
    this.written.set(edited, this.written.get(old) ?? chainFingerprint(old));
    table.chains = table.chains.map((c) => (c === old ? edited : c));
  }

  /** The kernel's table, with the rules (what the fake holds). */
  table(netns: string): NftProgram | undefined {
    return this.tables.get(netns);
  }
}
