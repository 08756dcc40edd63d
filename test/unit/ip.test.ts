import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, cidrContains, cidrsOverlap, formatCidr, isCanonicalCidr, parseCidr, parseIp } from '../../src/core/net/ip';

test('IPv4 parse and format round-trip', () => {
  for (const text of ['0.0.0.0', '10.1.2.3', '255.255.255.255', '192.168.0.1']) assert.equal(canonicalIp(text), text);
  for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.-1', '', 'a.b.c.d', '1.2.3.4 ']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test('IPv6 parse and RFC 5952 format', () => {
  assert.equal(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(canonicalIp('::'), '::');
  assert.equal(canonicalIp('::1'), '::1');
  assert.equal(canonicalIp('fd00:0:0:1:0:0:0:0'), 'fd00:0:0:1::');
  assert.equal(canonicalIp('1:0:0:1:0:0:0:1'), '1:0:0:1::1');
  assert.equal(canonicalIp('1:0:0:1:1:0:0:1'), '1::1:1:0:0:1');
  assert.equal(canonicalIp('::ffff:10.0.0.1'), '::ffff:a00:1');
  for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7']) assert.equal(parseIp(bad), undefined, bad);
});

test('CIDR parsing, containment and overlap', () => {
  const net = parseCidr('10.0.0.0/24')!;
  assert.equal(formatCidr(net), '10.0.0.0/24');
  assert.ok(cidrContains(net, parseIp('10.0.0.255')!));
  assert.ok(!cidrContains(net, parseIp('10.0.1.0')!));
  assert.ok(!cidrContains(net, parseIp('::1')!));
  assert.ok(cidrsOverlap(net, parseCidr('10.0.0.128/25')!));
  assert.ok(!cidrsOverlap(net, parseCidr('10.0.1.0/24')!));
  assert.ok(isCanonicalCidr('fd00::/64'));
  assert.ok(!isCanonicalCidr('10.0.0.1/24'));
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0'), undefined);
});
