/**
 * Every denied packet accounted for (docs/observability.md, "Every packet accounted for"): the logging
 * rule counts before and after its limit, the agent tallies what it made of each logged packet per
 * rule, nflog's numbering turns a delivery gap into an exact lost count, and a closing TCP connection
 * ends its flow record at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRecorder, type FlowCounters } from '../../../src/agent/flows/recorder';
import { conntrackRecord, parseFlowdLine, type ConntrackEvent, type FlowContext, type LogEvent } from '../../../src/core/flows/records';
import type { DenyRuleCount } from '../../../src/core/flows/record-types';
import { denyLogCounts } from '../../../src/core/flows/deny-accounting';
import { parseCounters, ruleHits } from '../../../src/core/policy/readback';
import { renderRule } from '../../../src/core/policy/render';
import { denyLogRule } from '../../../src/core/policy/deny-log';
import type { TenantView } from '../../../src/core/dataplane/host-view';
import { checkDenyRuleCount } from '../../../src/core/flows/validate';

const context: FlowContext = { host: 'h1', tenant: { name: 't', endpoints: [], services: [] } as unknown as TenantView };

function logEvent(prefix: string, port: number): LogEvent {
  const ip = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 3];
  const udp = [0x9c, 0x40, port >> 8, port & 255, 0, 8, 0, 0];
  return { t: 'log', ts: 0, prefix, pkt: Buffer.from([...ip, ...udp]).toString('hex') };
}

test('a logging rule counts before and after its limit; the difference is what the limit held back; hits count once', () => {
  const text = renderRule(denyLogRule({ matches: [{ kind: 'l4', proto: 'udp' }], verdict: { kind: 'drop' } }, 'deny tenant:p:ingress:1'));
  assert.match(text, / counter limit rate 20\/second burst 20 packets counter log prefix "deny tenant:p:ingress:1" group 100 /);
  // What `nft -j list table` answers for that rule (in two nft rules: v4 and v6), a `log` rule and a plain rule.
  const rule = (comment: string, ...counters: number[]) => ({
    rule: {
      family: 'inet',
      table: 'tenet',
      chain: 'c',
      comment,
      expr: counters.flatMap((packets, i) => [{ counter: { packets, bytes: packets * 10 } }, ...(i === 0 ? [{ limit: {} }] : [])]),
    },
  });
  const json = JSON.stringify({
    nftables: [
      rule('log deny tenant:p:ingress:1', 60000, 30),
      rule('log deny tenant:p:ingress:1', 40000, 21),
      rule('tenant:p:ingress:1', 100000),
      rule('tenant:p:egress:2', 500, 20),
      rule('tenant:p:egress:3', 7),
      rule('log isolate ingress', 9, 9),
      rule('log not-ours', 5, 5),
    ],
  });
  const counters = parseCounters(json);
  assert.deepEqual([...denyLogCounts(counters)].sort(), [
    ['deny tenant:p:ingress:1', { seen: 100000, logged: 51 }],
    ['isolate ingress', { seen: 9, logged: 9 }],
    ['log tenant:p:egress:2', { seen: 500, logged: 20 }],
  ]);
  // The `log` rule's second counter is not a second hit.
  assert.deepEqual(ruleHits(counters).get('tenant:p:egress:2'), { packets: 500, bytes: 5000 });
});

test('the agent tallies each logged packet of a rule as recorded, throttled or ignored; reports carry the kernel counts', async () => {
  let now = 0;
  const recorder = new FlowRecorder(
    () => context,
    () => undefined,
    1000,
    { perSecond: 10, burst: 20 },
    () => now,
  );
  const prefix = 'deny tenant:p:ingress:1';
  for (let i = 0; i < 30; i++) recorder.event('ns', logEvent(prefix, 9999));
  recorder.event('ns', { ...logEvent(prefix, 1), pkt: 'zz' }); // throttled (over the burst) before it is parsed
  now += 10_000;
  recorder.event('ns', { ...logEvent(prefix, 1), pkt: '00' }); // a packet that makes no record
  recorder.event('ns', { t: 'lost', src: 'log', ts: 0, n: 4 });
  recorder.event('ns', logEvent('something else', 1));
  recorder.kernelCounts('ns', new Map([[prefix, { seen: 100_000, logged: 36 }]]));
  const pushes: { rules?: DenyRuleCount[]; counters: FlowCounters; records: unknown[] }[] = [];
  await recorder.push(async (batch) => void pushes.push(batch));
  const [rule] = pushes[0].rules!;
  assert.deepEqual(rule, {
    tenant: 't',
    rule: prefix,
    seen: 100_000,
    logged: 36,
    suppressed: 99_964,
    recorded: 20,
    throttled: 11,
    ignored: 1,
  });
  assert.ok(checkDenyRuleCount(rule));
  assert.equal(pushes[0].counters.lostLog, 4, 'the gap in the nflog numbers, exactly');
  // Every packet the rule saw: recorded + throttled + ignored + suppressed + lost.
  assert.equal(rule.recorded + rule.throttled + rule.ignored + rule.suppressed + pushes[0].counters.lostLog, rule.seen);
  // Nothing moved: the next push sends nothing; a new kernel count is sent again.
  await recorder.push(async (batch) => void pushes.push(batch));
  assert.equal(pushes.length, 1);
  recorder.kernelCounts('ns', new Map([[prefix, { seen: 100_010, logged: 36 }]]));
  await recorder.push(async (batch) => void pushes.push(batch));
  assert.equal(pushes[1].rules![0].suppressed, 99_974);
  assert.equal(pushes[1].records.length, 0);
  // A namespace gone takes its tallies with it.
  recorder.forget('ns');
  assert.deepEqual(recorder.ruleCounts(), []);
  // Malformed counts are refused.
  assert.ok(!checkDenyRuleCount({ ...rule, rule: 'accept everything' }));
  assert.ok(!checkDenyRuleCount({ ...rule, seen: -1 }));
  assert.ok(!checkDenyRuleCount({ ...rule, tenant: 'T/x' }));
});

test('a TCP connection that closes ends its flow record with its counters; lost lines carry their count', () => {
  const close = parseFlowdLine(
    JSON.stringify({
      t: 'ct',
      ev: 'close',
      ts: Date.parse('2026-12-07T00:00:05Z'),
      id: 7,
      fam: 4,
      proto: 6,
      o: ['10.0.0.2', '10.0.0.3', 40000, 80],
      r: ['10.0.0.3', '10.0.0.2', 80, 40000],
      op: 6,
      ob: 400,
      rp: 4,
      rb: 300,
      mark: 0,
      status: 14,
      start: Date.parse('2026-12-07T00:00:04Z') * 1e6,
      stop: 0,
    }),
  ) as ConntrackEvent;
  assert.equal(close.ev, 'close');
  const record = conntrackRecord(close, context);
  assert.equal(record.type, 'flow-end');
  assert.equal(record.end, '2026-12-07T00:00:05.000Z', 'the moment it closed, not when the entry goes');
  assert.equal(record.start, '2026-12-07T00:00:04.000Z');
  assert.deepEqual(record.packets, { forward: 6, reply: 4 });
  assert.deepEqual(record.bytes, { forward: 400, reply: 300 });
  assert.deepEqual(parseFlowdLine('{"t":"lost","src":"log","n":12,"ts":1}'), { t: 'lost', src: 'log', ts: 1, n: 12 });
  assert.deepEqual(parseFlowdLine('{"t":"lost","src":"ct","ts":1}'), { t: 'lost', src: 'ct', ts: 1, n: 1 });
  assert.equal(parseFlowdLine('{"t":"lost","src":"log","n":-3,"ts":1}'), undefined);
  assert.equal(parseFlowdLine(JSON.stringify({ ...close, ev: 'update' })), undefined);
  // Conntrack events tenet-flowd itself held back over the namespace's rate: counted as throttled.
  assert.deepEqual(parseFlowdLine('{"t":"throttled","n":250,"ts":1}'), { t: 'throttled', ts: 1, n: 250 });
  assert.equal(parseFlowdLine('{"t":"throttled","n":1.5,"ts":1}'), undefined);
  const recorder = new FlowRecorder(
    () => context,
    () => undefined,
  );
  recorder.event('ns', { t: 'throttled', ts: 1, n: 250 });
  recorder.event('ns', close);
  assert.equal(recorder.counters.throttled, 250);
  assert.equal(recorder.counters.recorded, 1);
});

test("tenet-flowd's tab-separated conntrack lines read as the JSON ones did; anything else in them is refused", () => {
  const fields = (ev: string, extra: Partial<Record<number, string>> = {}) => {
    const f = ['C', ev, '1000', '7', '4', '6', '10.1.0.2', '10.96.0.10', '41000', '5432', '10.1.0.3', '10.1.0.2', '5432', '41000'];
    f.push('5', '400', '4', '300', String(0x12340000), String(0x20 | 0x8 | 0x4), '1796613679128551955', '0');
    for (const [i, v] of Object.entries(extra)) f[Number(i)] = v!;
    return f.join('\t');
  };
  // The same event as tenet-flowd wrote it in JSON (start in nanoseconds: past 2^53 in both forms).
  const json = parseFlowdLine(
    `{"t":"ct","ev":"close","ts":1000,"id":7,"fam":4,"proto":6,"o":["10.1.0.2","10.96.0.10",41000,5432],"r":["10.1.0.3","10.1.0.2",5432,41000],"op":5,"ob":400,"rp":4,"rb":300,"mark":${0x12340000},"status":${0x20 | 0x8 | 0x4},"start":1796613679128551955,"stop":0}`,
  );

  assert.deepEqual(parseFlowdLine(fields('c')), json);
  assert.equal((parseFlowdLine(fields('n')) as ConntrackEvent).ev, 'new');
  assert.equal((parseFlowdLine(fields('d')) as ConntrackEvent).ev, 'destroy');
  assert.equal((parseFlowdLine(fields('c', { 6: 'fd00::2', 11: 'fd00::2' })) as ConntrackEvent).o[0], 'fd00::2');
  for (const bad of [
    fields('u'),
    fields('c', { 2: '' }),
    fields('c', { 8: '-1' }),
    fields('c', { 8: '0x10' }),
    fields('c', { 14: '1e3' }),
    fields('c', { 14: ' 5' }),
    fields('c', { 6: '' }),
    fields('c', { 6: '10.1.0.2 x' }),
    fields('c', { 7: '"a"' }),
    `${fields('c')}\textra`,
    fields('c').split('\t').slice(0, 21).join('\t'),
    'C',
  ])
    assert.equal(parseFlowdLine(bad), undefined, JSON.stringify(bad));
});
