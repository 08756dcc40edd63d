/** Rule hit counters: an agent's per-host report from nft comments, and the controller's sum over hosts. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { hostPolicyHits, policyRuleHits, sumHostReports } from '../../src/core/policy/hits';
import { validateObject } from '../../src/core/model/validate';
import { API_VERSION } from '../../src/core/model/common';

const c = (packets: number, bytes = packets * 60) => ({ packets, bytes });

test('a host report: tenant rules per tenant, global rules summed over tenants, zero and foreign counters left out', () => {
  const { policyHits, truncated } = hostPolicyHits([
    {
      tenant: 'a',
      hits: new Map([
        ['tenant:web:ingress:0', c(3)],
        ['tenant:web:ingress:1', c(0)],
        ['admin:g:egress:2', c(5)],
        ['stateful', c(99)],
      ]),
    },
    {
      tenant: 'b',
      hits: new Map([
        ['tenant:web:ingress:0', c(7)],
        ['admin:g:egress:2', c(1)],
        ['baseline:base:ingress:0', c(2)],
      ]),
    },
  ]);
  assert.equal(truncated, false);
  assert.deepEqual(policyHits, [
    { kind: 'GlobalPolicy', name: 'base', rules: [{ direction: 'ingress', index: 0, packets: 2, bytes: 120 }] },
    { kind: 'GlobalPolicy', name: 'g', rules: [{ direction: 'egress', index: 2, packets: 6, bytes: 360 }] },
    { kind: 'Policy', tenant: 'a', name: 'web', rules: [{ direction: 'ingress', index: 0, packets: 3, bytes: 180 }] },
    { kind: 'Policy', tenant: 'b', name: 'web', rules: [{ direction: 'ingress', index: 0, packets: 7, bytes: 420 }] },
  ]);
  // The report is a valid Host status.
  const host = {
    apiVersion: API_VERSION,
    kind: 'Host',
    metadata: { name: 'h1' },
    spec: { underlayIP: '10.0.0.1' },
    status: { policyHits },
  };
  assert.deepEqual(validateObject(host).problems, []);
});

test('a host report stops at the limit and says so', () => {
  const hits = new Map(Array.from({ length: 10 }, (_, i) => [`tenant:p:egress:${i}`, c(i + 1)] as const));
  const { policyHits, truncated } = hostPolicyHits([{ tenant: 't', hits }], 4);
  assert.equal(truncated, true);
  assert.deepEqual(
    policyHits[0].rules.map((r) => r.index),
    [0, 1, 2, 3],
  );
});

test('Host status rejects malformed reports', () => {
  const host = (policyHits: unknown) => ({
    apiVersion: API_VERSION,
    kind: 'Host',
    metadata: { name: 'h1' },
    spec: { underlayIP: '10.0.0.1' },
    status: { policyHits },
  });
  const rule = { direction: 'ingress', index: 0, packets: 1, bytes: 1 };
  assert.equal(validateObject(host([{ kind: 'Policy', name: 'p', rules: [rule] }])).ok, false, 'a Policy needs its tenant');
  assert.equal(
    validateObject(host([{ kind: 'GlobalPolicy', tenant: 't', name: 'p', rules: [rule] }])).ok,
    false,
    'a GlobalPolicy has none',
  );
  assert.equal(validateObject(host([{ kind: 'Policy', tenant: 't', name: 'p', rules: [{ ...rule, packets: -1 }] }])).ok, false);
  assert.equal(validateObject(host([{ kind: 'Policy', tenant: 't', name: 'P!', rules: [rule] }])).ok, false);
  assert.equal(validateObject(host([{ kind: 'Policy', tenant: 't', name: 'p', rules: [{ ...rule, direction: 'sideways' }] }])).ok, false);
  assert.equal(validateObject(host(Array.from({ length: 4097 }, () => ({ kind: 'GlobalPolicy', name: 'g', rules: [] })))).ok, false);
  assert.equal(validateObject(host([{ kind: 'Policy', tenant: 't', name: 'p', rules: [rule] }])).ok, true);
});

test('the controller sums hosts per policy and rule, fills rules without hits with 0 and drops rules the spec lost', () => {
  const summed = sumHostReports([
    [
      {
        kind: 'Policy',
        tenant: 'a',
        name: 'web',
        rules: [
          { direction: 'ingress', index: 1, packets: 4, bytes: 400 },
          { direction: 'egress', index: 5, packets: 9, bytes: 9 },
        ],
      },
    ],
    undefined,
    [
      { kind: 'Policy', tenant: 'a', name: 'web', rules: [{ direction: 'ingress', index: 1, packets: 6, bytes: 600 }] },
      { kind: 'Policy', tenant: 'b', name: 'web', rules: [{ direction: 'ingress', index: 0, packets: 100, bytes: 1 }] },
      { kind: 'GlobalPolicy', name: 'web', rules: [{ direction: 'ingress', index: 0, packets: 50, bytes: 1 }] },
    ],
  ]);
  const spec = { ingress: [{ action: 'allow' as const }, { action: 'deny' as const }], egress: [{ action: 'allow' as const }] };
  assert.deepEqual(policyRuleHits(spec, summed.get('Policy/a/web')), [
    { direction: 'ingress', index: 0, packets: 0, bytes: 0 },
    { direction: 'ingress', index: 1, packets: 10, bytes: 1000 },
    { direction: 'egress', index: 0, packets: 0, bytes: 0 },
  ]);
  assert.deepEqual(policyRuleHits({ ingress: [{ action: 'deny' }] }, summed.get('GlobalPolicy//web')), [
    { direction: 'ingress', index: 0, packets: 50, bytes: 1 },
  ]);
  assert.deepEqual(policyRuleHits({}, summed.get('Policy/b/web')), []);
  assert.deepEqual(policyRuleHits({ egress: [{ action: 'allow' }] }, summed.get('Policy/c/none')), [
    { direction: 'egress', index: 0, packets: 0, bytes: 0 },
  ]);
});
