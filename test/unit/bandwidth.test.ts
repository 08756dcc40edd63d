import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bandwidthProblems, burstProblemsForMtu, shapingLines } from '../../src/core/dataplane/bandwidth';

test('bandwidth limits: rate and burst go together, in range, a burst of at least one frame', () => {
  assert.deepEqual(bandwidthProblems({ ingressRate: 8e6, ingressBurst: 64_000 }), []);
  assert.match(bandwidthProblems({ ingressRate: 8e6 }).join(), /ingressBurst is required/);
  assert.match(bandwidthProblems({ egressBurst: 64_000 }).join(), /egressRate is required/);
  assert.match(bandwidthProblems({ egressRate: -1, egressBurst: 64_000 }).join(), /egressRate must be an integer/);
  assert.match(bandwidthProblems({ ingressRate: 8e6, ingressBurst: 100 }).join(), /at least 16384 bits/);
  assert.match(bandwidthProblems({ rate: 1 }).join(), /unknown field "rate"/);
  assert.deepEqual(bandwidthProblems([]), ['bandwidth must be an object']);
});

test('a burst below one full frame of the interface is refused: tbf would pass no full-size packet', () => {
  const jumbo = 8950; // a 9000-byte underlay
  assert.deepEqual(burstProblemsForMtu({ egressRate: 8e6, egressBurst: (jumbo + 14) * 8 }, jumbo), []);
  assert.deepEqual(burstProblemsForMtu({ egressRate: 8e6, egressBurst: (jumbo + 14) * 8 - 1 }, jumbo), [
    `bandwidth.egressBurst must be at least ${(jumbo + 14) * 8} bits here: one full frame of the interface's MTU ${jumbo}`,
  ]);
  assert.equal(burstProblemsForMtu({ ingressRate: 8e6, ingressBurst: 64_000, egressRate: 8e6, egressBurst: 64_000 }, 65486).length, 2);
  assert.deepEqual(burstProblemsForMtu(undefined, 1450), []);
  assert.deepEqual(burstProblemsForMtu({ ingressRate: 0, ingressBurst: 0 }, 65486), [], 'no limit, nothing to check');
});

test('shaping lines: ingress on the host end, egress on the container end, burst in bytes', () => {
  assert.deepEqual(shapingLines({ ingressRate: 8e6, ingressBurst: 64_000 }, 'tvabc', 'eth0'), {
    host: ['qdisc replace dev tvabc root tbf rate 8000000bit burst 8000b latency 25ms'],
    container: [],
  });
  assert.deepEqual(shapingLines({ egressRate: 1e6, egressBurst: 20_001 }, 'tvabc', 'eth0').container, [
    'qdisc replace dev eth0 root tbf rate 1000000bit burst 2501b latency 25ms',
  ]);
  assert.deepEqual(shapingLines(undefined, 'tvabc', 'eth0'), { host: [], container: [] });
});
