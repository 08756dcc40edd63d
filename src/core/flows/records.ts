/**
 * Flow and deny records: what the agent makes of the kernel's events in a tenant router namespace
 * (native/tenet-flowd.c writes them, src/agent/flows/ reads them), with the endpoints, the service
 * translation and the deciding rule filled in from what the agent knows. Pure: the events and the
 * context come in, records go out; the unit tests drive it with hand-made events.
 */
import type { EndpointView, TenantView } from '../dataplane/host-view';
import { canonicalIp as parseCanonical } from '../net/ip';
import { parseLogPrefix } from '../policy/deny-log';
import { allowingRule } from '../policy/flow-mark';
import { explain, type Decision } from '../policy/explain';
import type { Direction, L4Name, NftProgram, RuleOrigin } from '../policy/program';
import type { FlowPeer, FlowRecord, FlowRule } from './record-types';
import { parsePacketHeaders, protocolName } from './packet';

export type { FlowPeer, FlowRecord, FlowRecordType, FlowRule } from './record-types';

/** An nflog packet as tenet-flowd writes it. */
export interface LogEvent {
  t: 'log';
  ts: number;
  prefix: string;
  in?: string;
  out?: string;
  fam?: number;
  pkt: string;
}

/** A conntrack event as tenet-flowd writes it: o/r = [src, dst, sport, dport] of the original and reply directions. */
export interface ConntrackEvent {
  t: 'ct';
  /** new: confirmed; close: a TCP connection reached TIME_WAIT or CLOSE (its end); destroy: the entry went. */
  ev: 'new' | 'close' | 'destroy';
  ts: number;
  id: number;
  fam: number;
  proto: number;
  o: [string, string, number, number];
  r: [string, string, number, number];
  op: number;
  ob: number;
  rp: number;
  rb: number;
  mark: number;
  status: number;
  start: number;
  stop: number;
}

export interface LostEvent {
  t: 'lost';
  src: 'log' | 'ct';
  ts: number;
  /** log: packets the kernel logged but could not deliver (a gap in nflog's numbers); ct: 1 per overflow. */
  n: number;
}

/** Conntrack events tenet-flowd did not write: over the rate it was given (the agent's per-namespace rate). */
export interface ThrottledEvent {
  t: 'throttled';
  ts: number;
  n: number;
}

export type FlowdEvent = LogEvent | ConntrackEvent | LostEvent | ThrottledEvent | { t: 'ready'; ts: number };

/** Where the conntrack line parser is (module state: no closure per line). */
let ctLine = '';
let ctAt = 0;

/** The next field as a whole number (NaN when empty, not all digits, or over 20 digits); steps past its tab. */
function ctNumber(): number {
  const start = ctAt;
  let value = 0;
  for (; ctAt < ctLine.length; ctAt++) {
    const c = ctLine.charCodeAt(ctAt);
    if (c === 9) break;
    if (c < 48 || c > 57 || ctAt - start >= 20) return Number.NaN;
    value = value * 10 + (c - 48);
  }
  const digits = ctAt - start;
  ctAt++;
  if (digits === 0) return Number.NaN;
  // Past 2^53 (nanosecond times) the running sum may round differently: the nearest double, as JSON.parse gives.
  return digits > 15 ? Number(ctLine.slice(start, start + digits)) : value;
}

/** The next field as an address (hex digits, dots, colons; 1 to 45 characters; undefined otherwise). */
function ctAddress(): string | undefined {
  const start = ctAt;
  for (; ctAt < ctLine.length; ctAt++) {
    const c = ctLine.charCodeAt(ctAt);
    if (c === 9) break;
    const ok = (c >= 48 && c <= 58) /* 0-9 : */ || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
    if (!ok || ctAt - start >= 45) return undefined;
  }
  const end = ctAt;
  ctAt++;
  return end > start ? ctLine.slice(start, end) : undefined;
}

const CT_EVENTS: Record<number, ConntrackEvent['ev']> = { 110: 'new', 99: 'close', 100: 'destroy' };

/**
 * A conntrack line as tenet-flowd writes it (the hot lines, two or three per connection: tab-separated,
 * cheaper to write and to read than JSON): `C EV TS ID FAM PROTO OSRC ODST OSPORT ODPORT RSRC RDST RSPORT
 * RDPORT OP OB RP RB MARK STATUS START STOP`, EV n|c|d. Read character by character (no split, no
 * regular expression: this is most of the agent's work per event) and checked field by field.
 */
function parseConntrackLine(line: string): ConntrackEvent | undefined {
  if (line.charCodeAt(1) !== 9 || line.charCodeAt(3) !== 9) return undefined;
  const ev = CT_EVENTS[line.charCodeAt(2)];
  if (!ev) return undefined;
  ctLine = line;
  ctAt = 4;
  const ts = ctNumber();
  const id = ctNumber();
  const fam = ctNumber();
  const proto = ctNumber();
  const osrc = ctAddress();
  const odst = ctAddress();
  const osport = ctNumber();
  const odport = ctNumber();
  const rsrc = ctAddress();
  const rdst = ctAddress();
  const rsport = ctNumber();
  const rdport = ctNumber();
  const op = ctNumber();
  const ob = ctNumber();
  const rp = ctNumber();
  const rb = ctNumber();
  const mark = ctNumber();
  const status = ctNumber();
  const start = ctNumber();
  const stop = ctNumber();
  // The last field ended the line (ctAt one past it), and every field was there and well formed.
  if (ctAt !== line.length + 1 || osrc === undefined || odst === undefined || rsrc === undefined || rdst === undefined) return undefined;
  const numbers = [ts, id, fam, proto, osport, odport, rsport, rdport, op, ob, rp, rb, mark, status, start, stop];
  if (numbers.some(Number.isNaN)) return undefined;
  return {
    t: 'ct',
    ev,
    ts,
    id,
    fam,
    proto,
    o: [osrc, odst, osport, odport],
    r: [rsrc, rdst, rsport, rdport],
    op,
    ob,
    rp,
    rb,
    mark,
    status,
    start,
    stop,
  };
}

/** One line of tenet-flowd's output, checked field by field (undefined: not a line it writes). */
export function parseFlowdLine(line: string): FlowdEvent | undefined {
  if (line.charCodeAt(0) === 67 /* C */) return parseConntrackLine(line);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.ts !== 'number') return undefined;
  const tuple = (x: unknown): boolean =>
    Array.isArray(x) &&
    x.length === 4 &&
    typeof x[0] === 'string' &&
    typeof x[1] === 'string' &&
    typeof x[2] === 'number' &&
    typeof x[3] === 'number';
  switch (v.t) {
    case 'ready':
      return { t: 'ready', ts: v.ts };
    case 'lost':
      return (v.src === 'log' || v.src === 'ct') && (v.n === undefined || (Number.isSafeInteger(v.n) && (v.n as number) >= 0))
        ? { t: 'lost', src: v.src, ts: v.ts, n: (v.n as number | undefined) ?? 1 }
        : undefined;
    case 'throttled':
      return Number.isSafeInteger(v.n) && (v.n as number) >= 0 ? { t: 'throttled', ts: v.ts, n: v.n as number } : undefined;
    case 'log':
      return typeof v.prefix === 'string' && typeof v.pkt === 'string' ? (v as unknown as LogEvent) : undefined;
    case 'ct':
      return (v.ev === 'new' || v.ev === 'close' || v.ev === 'destroy') && tuple(v.o) && tuple(v.r) && typeof v.proto === 'number'
        ? (v as unknown as ConntrackEvent)
        : undefined;
    default:
      return undefined;
  }
}

/**
 * Canonical text of an address, remembered: the same few addresses come in every event, and parsing them
 * was a third of the agent's time per record (bench/dataplane.ts part (d)). Bounded: cleared when full.
 */
const canonicalCache = new Map<string, string | undefined>();
const CANONICAL_CACHE = 4096;

function canonicalIp(address: string): string | undefined {
  let known = canonicalCache.get(address);
  if (known === undefined && !canonicalCache.has(address)) {
    if (canonicalCache.size >= CANONICAL_CACHE) canonicalCache.clear();
    known = parseCanonical(address);
    canonicalCache.set(address, known);
  }
  return known;
}

/** What the agent knows of one namespace when an event arrives. */
export interface FlowContext {
  host: string;
  tenant: TenantView;
  /** The namespace's compiled policy program (the policy producer's), for rule names and allowed flows' rules. */
  program?: NftProgram;
}

/** A tenant view's endpoints by address and by name, made once per view (a scan per record cost the agent per connection). */
interface EndpointIndex {
  byAddress: Map<string, EndpointView>;
  byName: Map<string, EndpointView>;
}

const endpointIndexes = new WeakMap<TenantView, EndpointIndex>();

function endpointIndex(tenant: TenantView): EndpointIndex {
  let index = endpointIndexes.get(tenant);
  if (!index) {
    index = { byAddress: new Map(), byName: new Map() };
    for (const endpoint of tenant.endpoints) {
      // The first endpoint of a name keeps it (as Array.find did).
      if (!index.byName.has(endpoint.name)) index.byName.set(endpoint.name, endpoint);
      for (const a of [endpoint.ipv4, endpoint.ipv6]) if (a) index.byAddress.set(canonicalIp(a) ?? a, endpoint);
    }
    endpointIndexes.set(tenant, index);
  }
  return index;
}

function peer(tenant: TenantView, address: string, port?: number): FlowPeer {
  const canonical = canonicalIp(address) ?? address;
  const endpoint = endpointIndex(tenant).byAddress.get(canonical);
  const out: FlowPeer = { address: canonical };
  if (port !== undefined && port !== 0) out.port = port;
  if (endpoint) {
    out.endpoint = endpoint.name;
    if (Object.keys(endpoint.labels).length > 0) out.labels = { ...endpoint.labels };
    if (endpoint.host !== undefined) out.host = endpoint.host;
  }
  return out;
}

function ruleFromOrigin(origin: RuleOrigin | undefined, direction: Direction): FlowRule | undefined {
  if (!origin || origin.tier === undefined || origin.tier === 'base') return undefined;
  const out: FlowRule = { direction, tier: origin.tier, action: origin.action ?? 'allow' };
  if (origin.policy !== undefined) out.policy = origin.policy;
  if (origin.rule !== undefined) out.rule = origin.rule;
  if (origin.ruleName !== undefined) out.ruleName = origin.ruleName;
  return out;
}

/** The origin of the policy rule whose counter comment is `comment` (its name, its policy's full label). */
function originOfComment(program: NftProgram | undefined, comment: string): RuleOrigin | undefined {
  for (const chain of program?.chains ?? [])
    for (const rule of chain.rules) if (rule.comment === comment && rule.origin) return rule.origin;
  return undefined;
}

/** A deny or log record from an nflog packet; undefined when the prefix or the packet is not Tenet's. */
export function logRecord(event: LogEvent, context: FlowContext): Omit<FlowRecord, 'seq'> | undefined {
  const decision = parseLogPrefix(event.prefix);
  const headers = parsePacketHeaders(event.pkt);
  if (!decision || !headers) return undefined;
  let rule: FlowRule;
  if (decision.tier !== undefined && decision.policy !== undefined && decision.rule !== undefined) {
    const comment = `${decision.tier}:${decision.policy}:${decision.direction}:${decision.rule}`;
    const origin = originOfComment(context.program, comment);
    rule = {
      direction: decision.direction,
      tier: decision.tier,
      policy:
        origin?.policy ??
        (decision.tier === 'tenant' ? `Policy ${context.tenant.name}/${decision.policy}` : `GlobalPolicy ${decision.policy}`),
      rule: decision.rule,
      action: decision.verdict,
    };
    if (origin?.ruleName !== undefined) rule.ruleName = origin.ruleName;
  } else if (decision.verdict === 'isolate') {
    rule = { direction: decision.direction, tier: 'tenant', action: 'isolate' };
    // Which policies isolate this side: the profile's isolation rule says (explain over the program).
    const walked = walk(context, headers.src, headers.dst, headers.protocol, headers.dport, event.in, event.out);
    const side = walked?.[decision.direction];
    if (side?.origin?.action === 'isolate' && side.origin.policy) rule.policy = side.origin.policy;
  } else rule = { direction: decision.direction, tier: 'default', action: 'default-deny' };
  const record: Omit<FlowRecord, 'seq'> = {
    time: new Date(event.ts).toISOString(),
    host: context.host,
    tenant: context.tenant.name,
    type: decision.verdict === 'log' ? 'log' : 'deny',
    verdict: decision.verdict === 'log' ? 'logged' : 'denied',
    protocol: headers.protocol,
    from: peer(context.tenant, headers.src, headers.sport),
    to: peer(context.tenant, headers.dst, headers.dport),
    rule,
  };
  if (event.in || event.out) record.interfaces = { ...(event.in ? { in: event.in } : {}), ...(event.out ? { out: event.out } : {}) };
  return record;
}

/**
 * Walks of a program for a connection's first packet, remembered per program and tenant view: explain is
 * a pure function of them and the packet, and short connections between the same endpoints to the same
 * port ask the same question thousands of times a second (the walk was two thirds of the agent's CPU per
 * conntrack record; bench/dataplane.ts part (d)). Bounded: cleared when full.
 */
const walks = new WeakMap<NftProgram, { tenant: TenantView; answers: Map<string, { egress: Decision; ingress: Decision } | undefined> }>();
const WALKS_PER_PROGRAM = 4096;

function walkRemembered(
  context: FlowContext,
  src: string,
  dst: string,
  protocol: string,
  port: number | undefined,
  iif: string | undefined,
  oif: string | undefined,
): { egress: Decision; ingress: Decision } | undefined {
  if (!context.program) return undefined;
  let memory = walks.get(context.program);
  if (!memory || memory.tenant !== context.tenant) {
    memory = { tenant: context.tenant, answers: new Map() };
    walks.set(context.program, memory);
  }
  const key = `${src} ${dst} ${protocol} ${port ?? ''} ${iif ?? ''} ${oif ?? ''}`;
  if (memory.answers.has(key)) return memory.answers.get(key);
  const answer = walk(context, src, dst, protocol, port, iif, oif);
  if (memory.answers.size >= WALKS_PER_PROGRAM) memory.answers.clear();
  memory.answers.set(key, answer);
  return answer;
}

function walk(
  context: FlowContext,
  src: string,
  dst: string,
  protocol: string,
  port: number | undefined,
  iif: string | undefined,
  oif: string | undefined,
): { egress: Decision; ingress: Decision } | undefined {
  if (!context.program) return undefined;
  const known: readonly string[] = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv6'];
  if (!known.includes(protocol)) return undefined;
  try {
    return explain(context.program, { src, dst, protocol: protocol as L4Name, port, iif: iif || undefined, oif: oif || undefined });
  } catch {
    return undefined;
  }
}

const IPS_DST_NAT = 0x20;

/** Each tenant view's services by virtual IP, made once per view (a walk of 10,000 services for every translated flow cost ms each). */
const servicesByVip = new WeakMap<TenantView, Map<string, string>>();

function serviceAt(tenant: TenantView, address: string): string | undefined {
  let index = servicesByVip.get(tenant);
  if (!index) {
    index = new Map();
    for (const service of tenant.services)
      for (const vip of [...(service.spec.virtualIPs ?? []), ...(service.status?.virtualIPs ?? [])]) {
        const key = canonicalIp(vip) ?? vip;
        // The first service naming an address keeps it (as the walk in order did).
        if (!index.has(key)) index.set(key, service.metadata.name);
      }
    servicesByVip.set(tenant, index);
  }
  return index.get(address);
}

/** What every record of the same connection shape shares: the peers apart from the source port, the service, the allowing rules. */
interface ConnectionShape {
  protocol: string;
  /** The source without its port (each connection has its own). */
  from: FlowPeer;
  to: FlowPeer;
  service?: FlowRecord['service'];
  egress?: FlowRule;
  ingress?: FlowRule;
}

/**
 * Connection shapes, remembered per tenant view and program: short connections between the same two
 * endpoints differ only in the source port, and working the rest out again for each of them (peers,
 * the allowing rules from the mark or a walk, the service) was most of the agent's CPU per record
 * (bench/dataplane.ts part (d)). Records share a shape's objects and are never changed once made.
 * Bounded: cleared when full.
 */
const shapes = new WeakMap<TenantView, { program?: NftProgram; host: string; byKey: Map<string, ConnectionShape> }>();
const SHAPES_PER_VIEW = 4096;

function connectionShape(event: ConntrackEvent, context: FlowContext): ConnectionShape {
  let memory = shapes.get(context.tenant);
  if (!memory || memory.program !== context.program || memory.host !== context.host) {
    memory = { program: context.program, host: context.host, byKey: new Map() };
    shapes.set(context.tenant, memory);
  }
  const [src, dst, , dport] = event.o;
  const [replySrc, , replySport] = event.r;
  const key = `${event.proto} ${src} ${dst} ${dport} ${replySrc} ${replySport} ${event.mark >>> 0} ${event.status & IPS_DST_NAT}`;
  let shape = memory.byKey.get(key);
  if (!shape) {
    shape = makeShape(event, context);
    if (memory.byKey.size >= SHAPES_PER_VIEW) memory.byKey.clear();
    memory.byKey.set(key, shape);
  }
  return shape;
}

function makeShape(event: ConntrackEvent, context: FlowContext): ConnectionShape {
  const [src, dst, , dport] = event.o;
  const [replySrc, , replySport] = event.r;
  const protocol = protocolName(event.proto);
  // Destination NAT: the reply comes from the backend, not from the address the client asked for.
  const translated = (event.status & IPS_DST_NAT) !== 0 || (canonicalIp(replySrc) ?? replySrc) !== (canonicalIp(dst) ?? dst);
  const to = translated ? peer(context.tenant, replySrc, replySport) : peer(context.tenant, dst, dport);
  const from = peer(context.tenant, src);
  const shape: ConnectionShape = { protocol, from, to };
  if (translated) {
    const address = canonicalIp(dst) ?? dst;
    const name = serviceAt(context.tenant, address);
    shape.service = { ...(name ? { name } : {}), address, ...(dport ? { port: dport } : {}) };
  }
  // Conntrack confirms a connection only once its first packet passed every hook: it was allowed.
  // Which rules allowed it: the ids the accepting rules wrote into the ct mark (the kernel's answer);
  // failing that (no id, or one two rules share), the namespace's program walked for the packet as the
  // filter saw it (after DNAT).
  let walked: ReturnType<typeof walk> | null = null;
  for (const direction of ['egress', 'ingress'] as const) {
    const marked = context.program ? allowingRule(context.program, event.mark >>> 0, direction) : undefined;
    let rule = marked ? ruleFromOrigin(marked, direction) : undefined;
    if (rule) rule.source = 'kernel';
    else {
      if (walked === null) {
        const iif = from.endpoint !== undefined ? localInterface(context.tenant, from.endpoint) : undefined;
        const oif = to.endpoint !== undefined ? localInterface(context.tenant, to.endpoint) : undefined;
        walked = walkRemembered(context, from.address, to.address, protocol, to.port, iif, oif);
      }
      const decision = walked?.[direction];
      rule = decision?.verdict === 'allow' ? ruleFromOrigin(decision.origin, direction) : undefined;
      if (rule) rule.source = 'intent';
    }
    if (rule) shape[direction] = rule;
  }
  return shape;
}

/** ISO text of a time in ms, remembered for the last one: the events of one reader's round share a few. */
let isoAt = Number.NaN;
let isoText = '';

function isoTime(ms: number): string {
  if (ms !== isoAt) {
    isoText = new Date(ms).toISOString();
    isoAt = ms;
  }
  return isoText;
}

/** A flow-start (conntrack NEW) or flow-end (a TCP connection closing, or DESTROY) record. */
export function conntrackRecord(event: ConntrackEvent, context: FlowContext): Omit<FlowRecord, 'seq'> {
  const shape = connectionShape(event, context);
  const sport = event.o[2];
  const record: Omit<FlowRecord, 'seq'> = {
    time: isoTime(event.ts),
    host: context.host,
    tenant: context.tenant.name,
    type: event.ev === 'new' ? 'flow-start' : 'flow-end',
    verdict: 'allowed',
    protocol: shape.protocol,
    from: sport !== undefined && sport !== 0 ? { ...shape.from, port: sport } : shape.from,
    to: shape.to,
  };
  if (shape.service) record.service = shape.service;
  if (shape.egress) record.egress = shape.egress;
  if (shape.ingress) record.ingress = shape.ingress;
  if (event.ev !== 'new') {
    if (event.start > 0) record.start = new Date(Math.floor(event.start / 1e6)).toISOString();
    // A closing connection's entry lives on (TIME_WAIT): its end is the moment it closed.
    if (event.ev === 'close') record.end = isoTime(event.ts);
    else if (event.stop > 0) record.end = new Date(Math.floor(event.stop / 1e6)).toISOString();
    record.packets = { forward: event.op, reply: event.rp };
    record.bytes = { forward: event.ob, reply: event.rb };
  }
  return record;
}

function localInterface(tenant: TenantView, name: string): string | undefined {
  const endpoint = endpointIndex(tenant).byName.get(name);
  return endpoint?.local ? endpoint.hostIfName : undefined;
}
