import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRecorder, CONNTRACK_RATE } from '../../../src/agent/flows/recorder';
import { FlowReader, flowdArguments } from '../../../src/agent/flows/reader';
import type { FlowContext, FlowRecord, LogEvent } from '../../../src/core/flows/records';
import type { TenantView } from '../../../src/core/dataplane/host-view';

const context: FlowContext = { host: 'h1', tenant: { name: 't', endpoints: [], services: [] } as unknown as TenantView };

function deny(port: number): LogEvent {
  const ip = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 3];
  const udp = [0x9c, 0x40, port >> 8, port & 255, 0, 8, 0, 0];
  return { t: 'log', ts: 0, prefix: 'default-deny ingress', pkt: Buffer.from([...ip, ...udp]).toString('hex') };
}

test('a namespace over its rate is throttled and counted; another namespace is not held back', () => {
  let now = 0;
  const recorder = new FlowRecorder(
    () => context,
    () => undefined,
    1000,
    { perSecond: 10, burst: 20 },
    () => now,
  );
  for (let i = 0; i < 100; i++) recorder.event('flooder', deny(i + 1));
  assert.equal(recorder.counters.recorded, 20, 'the burst');
  assert.equal(recorder.counters.throttled, 80);
  recorder.event('quiet', deny(7));
  assert.equal(recorder.counters.recorded, 21, 'another namespace has its own budget');
  now += 1000;
  for (let i = 0; i < 100; i++) recorder.event('flooder', deny(i + 1));
  assert.equal(recorder.counters.recorded, 31, 'ten more after a second');
  assert.equal(recorder.counters.throttled, 170);
});

test('pushes send what is new in bounded batches; what the ring let go unsent is counted exactly; a failed push is sent again', async () => {
  const recorder = new FlowRecorder(
    () => context,
    () => undefined,
    50,
    { perSecond: 1e9, burst: 1e9 },
  );
  for (let i = 0; i < 30; i++) recorder.event('ns', deny(i + 1));
  const sent: { records: FlowRecord[]; evicted: number }[] = [];
  await recorder.push(async (batch) => void sent.push(batch));
  assert.deepEqual(
    sent.map((b) => [b.records.length, b.evicted]),
    [[30, 0]],
  );
  // 120 more while the controller is away: the ring (50) keeps the newest, 70 are let go.
  for (let i = 0; i < 120; i++) recorder.event('ns', deny(1000 + i));
  await recorder.push(async () => {
    throw new Error('controller unreachable');
  });
  assert.equal(recorder.counters.evicted, 0, 'a failed push counts nothing');
  await recorder.push(async (batch) => void sent.push(batch));
  const last = sent[sent.length - 1];
  assert.equal(last.evicted, 70);
  assert.equal(last.records.length, 50);
  assert.deepEqual(
    last.records.map((r) => r.to.port),
    Array.from({ length: 50 }, (_, i) => 1000 + 70 + i),
    'the newest 50, in order',
  );
  assert.equal(recorder.counters.evicted, 70);
  await recorder.push(async (batch) => void sent.push(batch));
  assert.equal(sent.length, 2, 'nothing new: nothing sent');
});

test("the flow reader's rate: 0 is no limit; anything tenet-flowd would refuse is refused before it starts, with the reason", () => {
  assert.deepEqual(flowdArguments({ perSecond: 0, burst: 0 }), ['100', '0', '0']);
  assert.deepEqual(flowdArguments({ perSecond: 0, burst: 400 }), ['100', '0', '0'], 'no limit: the burst is not used');
  assert.deepEqual(flowdArguments({ perSecond: 200, burst: 400 }), ['100', '200', '400']);
  assert.deepEqual(flowdArguments(), ['100', String(CONNTRACK_RATE.perSecond), String(CONNTRACK_RATE.burst)]);
  for (const rate of [
    { perSecond: -1, burst: 10 },
    { perSecond: 10, burst: 0 },
    { perSecond: 1.5, burst: 10 },
    { perSecond: 2_000_000, burst: 10 },
    { perSecond: Number.NaN, burst: 10 },
  ])
    assert.throws(() => flowdArguments(rate), /the rate is 0 \(no limit\) or a whole number from 1 to 1000000/, JSON.stringify(rate));
  // Refused in the constructor: nothing is started.
  assert.throws(
    () =>
      new FlowReader(
        'tn-t-shop',
        () => undefined,
        () => undefined,
        { perSecond: -5, burst: 1 },
      ),
    /flow reader rate -5\/s/,
  );
});
