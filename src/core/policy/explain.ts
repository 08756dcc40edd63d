/**
 * explain: walks a compiled program for one packet exactly as the kernel would
 * (base chains by priority, jump/goto/return, verdict maps, set lookups, marks)
 * and reports the verdict and, per direction, the rule that decided it. It knows
 * nothing about tiers or policies: those come from the origin recorded on the
 * deciding rule by the compiler.
 */
import { canonicalIp, cidrContains, parseCidr, parseIp } from '../net/ip';
import {
  L4_NUMBER,
  type Direction,
  type L4Name,
  type Match,
  type NftChain,
  type NftProgram,
  type NftRule,
  type RuleOrigin,
} from './program';
import { parseRangeElement, type AddressRange } from './ranges';

export interface Packet {
  /** Interface the packet enters the router namespace on (a local endpoint's host-side veth, or e.g. the VXLAN device). */
  iif?: string;
  /** Interface it leaves on. */
  oif?: string;
  src: string;
  dst: string;
  protocol: L4Name;
  /** Destination port (TCP/UDP/SCTP). */
  port?: number;
  /** Conntrack state; default `new`. */
  state?: 'new' | 'established' | 'related' | 'invalid';
}

export interface Decision {
  /** `not-judged`: this program does not see this side (the endpoint is on another host) or no rule decided. */
  verdict: 'allow' | 'deny' | 'not-judged';
  chain?: string;
  /** Index of the rule inside its chain. */
  index?: number;
  origin?: RuleOrigin;
  text?: string;
}

export interface Explanation {
  allowed: boolean;
  egress: Decision;
  ingress: Decision;
  /** Chains and rules visited, for `-v` output. */
  trace: string[];
}

type ChainResult = { kind: 'accept' | 'drop'; rule: NftRule; chain: string; index: number } | { kind: 'return' } | { kind: 'end' };

class SetIndex {
  private readonly exact = new Map<string, Set<string>>();
  private readonly intervals = new Map<string, AddressRange[]>();
  constructor(program: NftProgram) {
    for (const set of program.sets) {
      if (set.interval) {
        const family = set.type.startsWith('ipv4') ? 4 : 6;
        this.intervals.set(
          set.name,
          set.elements.map((e) => parseRangeElement(e, family)).filter((r): r is AddressRange => r !== undefined),
        );
      } else this.exact.set(set.name, new Set(set.elements));
    }
  }
  hasAddress(name: string, text: string): boolean {
    const ranges = this.intervals.get(name);
    if (ranges) {
      const ip = parseIp(text);
      return !!ip && ranges.some((r) => r.family === ip.family && r.start <= ip.value && ip.value <= r.end);
    }
    return this.exact.get(name)?.has(text) ?? false;
  }
  hasElement(name: string, element: string): boolean {
    return this.exact.get(name)?.has(element) ?? false;
  }
}

export class ProgramWalker {
  private readonly chains: Map<string, NftChain>;
  private readonly sets: SetIndex;
  private readonly maps: Map<string, Record<string, string>>;

  constructor(readonly program: NftProgram) {
    this.chains = new Map(program.chains.map((c) => [c.name, c]));
    this.sets = new SetIndex(program);
    this.maps = new Map(program.maps.map((m) => [m.name, m.elements]));
  }

  /** Runs the forward hook: every base chain by priority; an accept moves to the next, a drop ends it. */
  run(packet: Packet): { accepted: boolean; decisions: Array<{ base: string; result: ChainResult }>; trace: string[] } {
    const normalized: Packet = { ...packet, src: canonical(packet.src), dst: canonical(packet.dst) };
    const trace: string[] = [];
    const decisions: Array<{ base: string; result: ChainResult }> = [];
    const bases = this.program.chains.filter((c) => c.base?.hook === 'forward').sort((a, b) => a.base!.priority - b.base!.priority);
    const state = { mark: 0 };
    for (const base of bases) {
      const result = this.runChain(base, normalized, state, trace, 0);
      decisions.push({ base: base.name, result });
      if (result.kind === 'drop') return { accepted: false, decisions, trace };
      if (result.kind !== 'accept' && base.base!.policy === 'drop') return { accepted: false, decisions, trace };
    }
    return { accepted: true, decisions, trace };
  }

  private runChain(chain: NftChain, packet: Packet, state: { mark: number }, trace: string[], depth: number): ChainResult {
    if (depth > 16) throw new Error(`chain nesting too deep at ${chain.name}`);
    trace.push(`${'  '.repeat(depth)}chain ${chain.name}`);
    for (let index = 0; index < chain.rules.length; index++) {
      const rule = chain.rules[index];
      let dispatched: string | undefined;
      let matched = true;
      for (const match of rule.matches) {
        if (match.kind === 'vmap') {
          const key = match.field === 'iifname' ? packet.iif : packet.oif;
          dispatched = key === undefined ? undefined : this.maps.get(match.map)?.[key];
          if (dispatched === undefined) matched = false;
        } else if (!this.matches(match, packet, state)) matched = false;
        if (!matched) break;
      }
      if (!matched) continue;
      trace.push(`${'  '.repeat(depth + 1)}#${index} ${rule.comment ?? ''}`);
      for (const effect of rule.effects ?? []) {
        if (effect.kind === 'setMarkBits') state.mark |= effect.bits;
        if (effect.kind === 'clearMarkBits') state.mark &= ~effect.bits;
      }
      if (dispatched !== undefined) {
        // A verdict map entry is a goto: the target's end is this chain's end.
        const result = this.runChain(this.chain(dispatched), packet, state, trace, depth + 1);
        return result.kind === 'return' ? { kind: 'end' } : result;
      }
      const verdict = rule.verdict;
      if (!verdict || verdict.kind === 'continue') continue;
      switch (verdict.kind) {
        case 'accept':
        case 'drop':
          return { kind: verdict.kind, rule, chain: chain.name, index };
        case 'return':
          return { kind: 'return' };
        case 'jump': {
          const result = this.runChain(this.chain(verdict.target), packet, state, trace, depth + 1);
          if (result.kind === 'accept' || result.kind === 'drop') return result;
          continue;
        }
        case 'goto': {
          const result = this.runChain(this.chain(verdict.target), packet, state, trace, depth + 1);
          return result.kind === 'return' ? { kind: 'end' } : result;
        }
      }
    }
    return { kind: 'end' };
  }

  private chain(name: string): NftChain {
    const chain = this.chains.get(name);
    if (!chain) throw new Error(`program refers to missing chain ${name}`);
    return chain;
  }

  private matches(match: Match, packet: Packet, state: { mark: number }): boolean {
    const family = packet.dst.includes(':') ? 6 : 4;
    switch (match.kind) {
      case 'ct':
        return (match.states as string[]).includes(packet.state ?? 'new');
      case 'addr':
        return family === match.family && this.sets.hasAddress(match.set, match.field === 'saddr' ? packet.src : packet.dst);
      case 'family':
        return family === match.family;
      case 'l4':
        return packet.protocol === match.proto;
      case 'dport':
        return (
          packet.port !== undefined && hasPorts(packet.protocol) && match.ranges.some(([a, b]) => a <= packet.port! && packet.port! <= b)
        );
      case 'namedPort':
        return (
          family === match.family &&
          packet.port !== undefined &&
          hasPorts(packet.protocol) &&
          this.sets.hasElement(match.set, `${packet.dst} . ${L4_NUMBER[packet.protocol]} . ${packet.port}`)
        );
      case 'mark': {
        const equal = (state.mark & match.mask) >>> 0 === match.value >>> 0;
        return match.negate ? !equal : equal;
      }
      case 'vmap':
      case 'vmapLookup':
      case 'ctMark':
        // Service NAT's (prerouting): not on the forward path explain walks.
        return false;
      case 'saddrIs': {
        if (family !== match.family) return false;
        return match.address.includes('/') ? inCidr(match.address, packet.src) : canonical(match.address) === canonical(packet.src);
      }
      case 'ctDnat':
        // Explain walks connections between endpoints; none of them came in by a floating IP.
        return false;
      case 'ndp':
        // Neighbour discovery is not a connection explain walks.
        return false;
      case 'daddrIs': {
        if (family !== match.family) return false;
        return match.address.includes('/') ? inCidr(match.address, packet.dst) : canonical(match.address) === canonical(packet.dst);
      }
      case 'ifname': {
        const name = match.field === 'iifname' ? packet.iif : packet.oif;
        const equal = name !== undefined && (match.name.endsWith('*') ? name.startsWith(match.name.slice(0, -1)) : name === match.name);
        return match.negate ? !equal : equal;
      }
      case 'lookup':
        // Antispoofing's lookups: a walked packet is taken to come from its endpoint, as itself.
        return match.negate !== true;
    }
  }
}

function hasPorts(protocol: L4Name): boolean {
  return protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp';
}

function inCidr(cidrText: string, address: string): boolean {
  const cidr = parseCidr(cidrText);
  const ip = parseIp(address);
  return cidr !== undefined && ip !== undefined && cidrContains(cidr, ip);
}

/** Same canonical text the compiler writes into sets. */
function canonical(text: string): string {
  return canonicalIp(text) ?? text;
}

function decisionOf(walk: ReturnType<ProgramWalker['run']>, base: string): Decision {
  const entry = walk.decisions.find((d) => d.base === base);
  if (!entry) return { verdict: 'not-judged' };
  const result = entry.result;
  if (result.kind !== 'accept' && result.kind !== 'drop') return { verdict: 'not-judged' };
  const origin = result.rule.origin;
  return {
    verdict: result.kind === 'accept' ? 'allow' : 'deny',
    chain: result.chain,
    index: result.index,
    origin,
    text: result.rule.comment,
  };
}

/**
 * A walker indexes its program's chains, sets and maps once; programs are not changed after they are
 * built, so one walker serves every packet judged against the same program (the policy matrix judges
 * thousands).
 */
const walkers = new WeakMap<NftProgram, ProgramWalker>();

function walkerFor(program: NftProgram): ProgramWalker {
  let walker = walkers.get(program);
  if (!walker) {
    walker = new ProgramWalker(program);
    walkers.set(program, walker);
  }
  return walker;
}

/** Explains a packet within one program (both endpoints local to this namespace, or one of them). */
export function explain(program: NftProgram, packet: Packet): Explanation {
  if (packet.iif !== undefined && packet.iif === packet.oif) {
    const self: Decision = { verdict: 'not-judged', text: 'traffic of an endpoint to itself is not judged' };
    return { allowed: true, egress: self, ingress: self, trace: [] };
  }
  const walk = walkerFor(program).run(packet);
  const egress = decisionOf(walk, 'egress');
  const ingress = walk.decisions.some((d) => d.base === 'ingress')
    ? decisionOf(walk, 'ingress')
    : { verdict: 'not-judged' as const, text: 'not reached' };
  return { allowed: walk.accepted, egress, ingress, trace: walk.trace };
}

/**
 * Explains a packet between two hosts: the source host's program judges egress (the packet
 * leaves through `via`, the tunnel), the destination host's program judges ingress.
 */
export function explainAcross(source: NftProgram, destination: NftProgram, packet: Packet, via = 'vxlan'): Explanation {
  const out = explain(source, { ...packet, oif: via });
  if (!out.allowed) return { ...out, ingress: { verdict: 'not-judged', text: 'dropped on the source host' } };
  const into = explain(destination, { ...packet, iif: via });
  return {
    allowed: into.allowed,
    egress: out.egress,
    ingress: into.ingress,
    trace: [...out.trace, '-- destination host --', ...into.trace],
  };
}

export function describeDecision(direction: Direction, decision: Decision): string {
  if (decision.verdict === 'not-judged') return `${direction}: not judged here${decision.text ? ` (${decision.text})` : ''}`;
  const o = decision.origin ?? {};
  const what =
    o.tier === 'default'
      ? `tenant default (${o.action})`
      : o.action === 'isolate'
        ? `tenant tier isolation: no rule of ${o.policy} allows it`
        : o.action === 'stateful'
          ? 'connection state'
          : o.policy === undefined && o.policyKind === 'GlobalPolicy'
            ? // Answers to tenant roles name no GlobalPolicy (core/policy/matrix.ts, redactOrigin).
              `${o.tier} tier, a GlobalPolicy (${o.action})`
            : `${o.tier} tier, ${o.policy}, ${direction} rule ${o.rule}${o.ruleName ? ` "${o.ruleName}"` : ''} (${o.action})`;
  return `${direction}: ${decision.verdict} by ${what}`;
}
