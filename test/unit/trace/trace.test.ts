/**
 * The pure part of `tenet trace`: `nft monitor` trace lines parsed, cut into the base chains the packet
 * went through and mapped back to policy rules through the compiled program; the comparison with
 * explain; the job checks that stand between the controller and the kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceLine, traceHooks, traceIdsOf } from '../../../src/core/trace/events';
import { armScript, checkTraceJob, disarmScript } from '../../../src/core/trace/job';
import { checkHostTrace, summarizeTrace, type HostTrace } from '../../../src/core/trace/report';
import { traceText } from '../../../src/core/trace/text';
import type { NftProgram, RuleOrigin } from '../../../src/core/policy/program';
import type { Decision } from '../../../src/core/policy/explain';

const ALLOW: RuleOrigin = {
  direction: 'ingress',
  tier: 'tenant',
  policy: 'Policy t/guard',
  policyKind: 'Policy',
  rule: 0,
  ruleName: 'web',
  action: 'allow',
};
const DENY: RuleOrigin = {
  direction: 'ingress',
  tier: 'tenant',
  policy: 'Policy t/guard',
  policyKind: 'Policy',
  rule: 1,
  ruleName: 'bad',
  action: 'deny',
};

const program: NftProgram = {
  family: 'inet',
  table: 'tenet',
  sets: [],
  maps: [],
  chains: [
    { name: 'ingress', base: { hook: 'forward', priority: 1, policy: 'accept' }, rules: [] },
    {
      name: 'p_guard',
      rules: [
        { matches: [], verdict: { kind: 'accept' }, comment: 'tenant:guard:ingress:0', origin: ALLOW },
        { matches: [], verdict: { kind: 'drop' }, comment: 'tenant:guard:ingress:1', origin: DENY },
      ],
    },
  ],
} as unknown as NftProgram;

// As nft 1.0.6 prints them (the first three from the job's own table, which the report leaves out).
const LINES = [
  'trace id 00dfcb88 inet tenet_trace_0123456789abcdef trace packet: iif "v-cli" ether saddr ba:34:72:46:e2:c0 ip saddr 10.0.0.2 ip daddr 10.0.0.3 ip protocol tcp ip length 60 tcp sport 20001 tcp dport 80 tcp flags == syn',
  'trace id 00dfcb88 inet tenet_trace_0123456789abcdef trace rule ip saddr 10.0.0.2 tcp sport 20001 meta nftrace set 1 (verdict continue)',
  'trace id 00dfcb88 inet tenet_trace_0123456789abcdef trace policy accept ',
  'trace id 00dfcb88 inet tenet ingress packet: iif "tvx7" oif "v-srv" ip saddr 10.0.0.2 ip daddr 10.0.0.3 ip protocol tcp tcp sport 20001 tcp dport 80 tcp flags == syn',
  'trace id 00dfcb88 inet tenet ingress rule oifname vmap @ingress_dispatch comment "ingress dispatch" (verdict goto p_guard)',
  'trace id 00dfcb88 inet tenet p_guard rule ip saddr @x tcp dport 80 counter packets 0 bytes 0 ct mark set ct mark & 0x0000ffff | 0x12340000 accept comment "tenant:guard:ingress:0" (verdict accept)',
  'trace id 99999999 inet tenet ingress packet: iif "tvx7" ip saddr 10.0.0.9 ip daddr 10.0.0.3',
  'trace id 99999999 inet tenet p_guard rule drop comment "tenant:guard:ingress:1 fp=0123456789abcdef" (verdict drop)',
];

test('trace lines parse into events; comments lose the fingerprint; other lines are not events', () => {
  const rule = parseTraceLine(LINES[5])!;
  assert.equal(rule.kind, 'rule');
  assert.equal(rule.chain, 'p_guard');
  assert.equal(rule.verdict, 'accept');
  assert.equal(rule.comment, 'tenant:guard:ingress:0');
  assert.ok(!rule.text.includes('(verdict'));
  assert.equal(parseTraceLine(LINES[7])!.comment, 'tenant:guard:ingress:1');
  assert.equal(parseTraceLine(LINES[4])!.verdict, 'goto p_guard');
  const packet = parseTraceLine(LINES[3])!;
  assert.deepEqual(packet.packet, {
    iif: 'tvx7',
    oif: 'v-srv',
    saddr: '10.0.0.2',
    daddr: '10.0.0.3',
    protocol: 'tcp',
    sport: 20001,
    dport: 80,
  });
  assert.equal(parseTraceLine(LINES[2])!.verdict, 'accept');
  for (const other of [
    'add table inet tenet_trace_0123456789abcdef',
    'trace id zz inet tenet x rule',
    '',
    'trace id 1 inet ta$ble c rule x (verdict accept)',
  ])
    assert.equal(parseTraceLine(other), undefined, other);
});

test('hooks: one per base chain entered, the job table left out, the deciding rule mapped to its policy rule', () => {
  const lines = LINES.map((l) => parseTraceLine(l)!);
  assert.deepEqual(traceIdsOf(lines, 'tenet_trace_0123456789abcdef'), ['00dfcb88'], 'the other packet was not marked by this job');
  const hooks = traceHooks(lines, '00dfcb88', program);
  assert.equal(hooks.length, 1);
  assert.equal(hooks[0].chain, 'ingress');
  assert.equal(hooks[0].hook, 'forward');
  assert.equal(hooks[0].verdict, 'accept');
  assert.deepEqual(hooks[0].decidedBy?.origin, ALLOW);
  assert.equal(hooks[0].rules.length, 2);
  const other = traceHooks(lines, '99999999', program);
  assert.equal(other[0].verdict, 'drop');
  assert.deepEqual(other[0].decidedBy?.origin, DENY);
});

test("a later packet reusing the trace id (the kernel hashes the buffer's address) ends the first packet's hooks", () => {
  const again = [...LINES.slice(0, 6), LINES[0], LINES[3], LINES[5]].map((l) => parseTraceLine(l)!);
  assert.equal(traceHooks(again, '00dfcb88', program).length, 1);
});

const allowDecision: Decision = { verdict: 'allow', origin: ALLOW };
const notJudged: Decision = { verdict: 'not-judged' };
const base = {
  tenant: 't',
  from: { endpoint: 'cli', address: '10.0.0.2' },
  to: { endpoint: 'srv', address: '10.0.0.3' },
  protocol: 'tcp',
  port: 80,
  live: false,
};

function hostsWith(rule: { origin: RuleOrigin; verdict: string }): HostTrace[] {
  return [
    { host: 'h2', role: 'source', hooks: [], probe: { result: rule.verdict === 'accept' ? 'connected' : 'timeout' } },
    {
      host: 'h1',
      role: 'observer',
      hooks: [
        {
          table: 'tenet',
          chain: 'ingress',
          packet: { oif: 'v-srv' },
          rules: [],
          verdict: rule.verdict,
          decidedBy: { chain: 'p_guard', text: '...', verdict: rule.verdict, origin: rule.origin },
        },
      ],
      ...(rule.verdict === 'accept' ? { delivered: { interface: 'v-srv', endpoint: 'srv' } } : {}),
    },
  ];
}

test('the same rule and verdict: AGREE', () => {
  const answer = summarizeTrace(
    { ...base, explain: { allowed: true, egress: notJudged, ingress: allowDecision } },
    hostsWith({ origin: ALLOW, verdict: 'accept' }),
  );
  assert.equal(answer.verdict, 'delivered');
  assert.equal(answer.agreement, 'agree');
  assert.deepEqual(answer.ingress?.rule?.origin, ALLOW);
  assert.match(traceText(answer), /AGREE/);
});

test('the kernel dropped what intent allows: DISAGREE, naming both', () => {
  const answer = summarizeTrace(
    { ...base, explain: { allowed: true, egress: notJudged, ingress: allowDecision } },
    hostsWith({ origin: DENY, verdict: 'drop' }),
  );
  assert.equal(answer.verdict, 'dropped');
  assert.equal(answer.agreement, 'disagree');
  assert.equal(answer.died?.host, 'h1');
  assert.equal(answer.differences.length, 2, answer.differences.join('\n'));
  assert.match(answer.differences[0], /explain says ALLOWED, the kernel dropped on h1 .* rule 1 "bad"/);
  assert.match(answer.differences[1], /ingress: explain allow by .*rule 0 "web".*the kernel drop on h1 by .*rule 1 "bad"/);
  assert.match(traceText(answer), /!!! DISAGREE/);
});

test('an accepting rule of another name is a disagreement even when both let the packet through', () => {
  const other: RuleOrigin = { ...ALLOW, rule: 2, ruleName: 'other' };
  const answer = summarizeTrace(
    { ...base, explain: { allowed: true, egress: notJudged, ingress: allowDecision } },
    hostsWith({ origin: other, verdict: 'accept' }),
  );
  assert.equal(answer.verdict, 'delivered');
  assert.equal(answer.agreement, 'disagree');
});

test('nothing seen: inconclusive, never agree', () => {
  const answer = summarizeTrace({ ...base, explain: { allowed: true, egress: notJudged, ingress: allowDecision } }, [
    { host: 'h2', role: 'source', hooks: [], probe: { result: 'timeout' } },
  ]);
  assert.equal(answer.verdict, 'not-seen');
  assert.equal(answer.agreement, 'inconclusive');
});

test('jobs: only addresses, ports and names reach the nft text; anything else is refused', () => {
  const good = {
    id: '0123456789abcdef',
    tenant: 'shop',
    match: { family: 4, protocol: 'tcp', saddr: '10.0.0.2', daddr: '10.0.0.3', sport: 20001, dport: 80 },
    timeoutMs: 5000,
    live: false,
    probe: { endpoint: 'web-1' },
  };
  const job = checkTraceJob(good);
  assert.equal(
    armScript(job.id, job.match),
    'add table inet tenet_trace_0123456789abcdef\n' +
      'add chain inet tenet_trace_0123456789abcdef trace { type filter hook prerouting priority -450; policy accept; }\n' +
      'add rule inet tenet_trace_0123456789abcdef trace ip saddr 10.0.0.2 ip daddr 10.0.0.3 meta l4proto tcp tcp sport 20001 tcp dport 80 tcp flags & (syn | ack) == syn meta nftrace set 1\n',
  );
  assert.equal(disarmScript(job.id), 'delete table inet tenet_trace_0123456789abcdef\n');
  assert.match(armScript(job.id, { ...job.match, protocol: 'udp', sport: undefined }), / udp dport 80 meta nftrace set 1\n$/);
  const bad: Array<[string, unknown]> = [
    ['id', '0123; flush ruleset'],
    ['tenant', 'Shop;'],
    ['match', { ...good.match, saddr: '10.0.0.2; flush ruleset' }],
    ['match', { ...good.match, daddr: 'fe80::1' }],
    ['match', { ...good.match, protocol: 'sctp' }],
    ['match', { ...good.match, dport: 70000 }],
    ['match', { ...good.match, protocol: 'icmp', sport: undefined, dport: 80 }],
    ['timeoutMs', 3_600_000],
    ['probe', { endpoint: '../../proc/1/ns/net' }],
    ['live', 'yes'],
  ];
  for (const [key, value] of bad) assert.throws(() => checkTraceJob({ ...good, [key]: value }), Error, `${key}: ${JSON.stringify(value)}`);
  assert.throws(() => checkTraceJob({ ...good, live: true }), /live trace injects no probe/);
});

test("a host's report is bounded and checked field by field", () => {
  const hook = { table: 'tenet', chain: 'ingress', packet: {}, rules: [], verdict: 'accept' };
  assert.equal(checkHostTrace({ hooks: [hook] }, 'h1', 'observer').hooks.length, 1);
  assert.throws(() => checkHostTrace({ hooks: Array(100).fill(hook) }, 'h1', 'observer'));
  assert.throws(() =>
    checkHostTrace({ hooks: [{ ...hook, rules: [{ chain: 'c', text: 'x'.repeat(5000), verdict: 'accept' }] }] }, 'h1', 'observer'),
  );
  assert.throws(() => checkHostTrace({ hooks: 'many' }, 'h1', 'observer'));
  const odd = checkHostTrace({ hooks: [], probe: { result: 'pwned' }, route: { destination: 'x', dev: { a: 1 } } }, 'h1', 'observer');
  assert.equal(odd.probe, undefined);
  assert.equal(odd.route, undefined);
});
