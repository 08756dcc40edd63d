/** BIRD's configuration written by the agent (src/agent/bgp.ts): IPv4 and, over the same session, IPv6 unicast. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { birdAgentConfig } from '../../src/agent/bgp';
import { ipv6OfAddressDevice } from '../../src/core/dataplane/parse';

const base = { routerId: '192.168.250.11', asn: 64513, peer: '192.168.250.1', peerAsn: 64512 };

test('IPv6 floating IPs ride the IPv4 session as MP-BGP with the host IPv6 next hop; without one they are not announced', () => {
  const text = birdAgentConfig(base, ['198.18.100.1', '2001:db8:100::1'], 'fd00:250::11');
  assert.match(text, /protocol static floating \{\n {2}ipv4;\n {2}route 198\.18\.100\.1\/32 blackhole;\n\}/);
  assert.match(text, /protocol static floating6 \{\n {2}ipv6;\n {2}route 2001:db8:100::1\/128 blackhole;\n\}/);
  assert.match(text, /ipv6 \{ import none; export where proto = "floating6"; next hop address fd00:250::11; \};/);
  const v4only = birdAgentConfig(base, ['198.18.100.1', '2001:db8:100::1']);
  assert.doesNotMatch(v4only, /ipv6|2001:db8/);
  assert.throws(() => birdAgentConfig(base, ['2001:db8:100::1'], '192.168.250.11'), /IPv6 next hop/);
  assert.throws(() => birdAgentConfig(base, ['2001:db8:100::1; }'], 'fd00:250::11'), /refusing address/);
  assert.throws(() => birdAgentConfig(base, ['2001:DB8:100::1'], 'fd00:250::11'), /refusing address/, 'not canonical');
});

test("the underlay device's IPv6 address: global, usable, on the device holding the underlay IPv4 address", () => {
  const links = [
    {
      ifname: 'lo',
      addr_info: [
        { family: 'inet', local: '127.0.0.1' },
        { family: 'inet6', local: '::1', scope: 'host' },
      ],
    },
    {
      ifname: 'eth0',
      addr_info: [
        { family: 'inet', local: '192.168.250.11' },
        { family: 'inet6', local: 'fe80::1', scope: 'link' },
        { family: 'inet6', local: 'fd00:250::99', scope: 'global', tentative: true },
        { family: 'inet6', local: 'fd00:250:0::11', scope: 'global' },
      ],
    },
    { ifname: 'eth1', addr_info: [{ family: 'inet6', local: '2001:db8::1', scope: 'global' }] },
  ];
  assert.equal(ipv6OfAddressDevice(links, '192.168.250.11'), 'fd00:250::11');
  assert.equal(ipv6OfAddressDevice(links, '10.0.0.1'), undefined);
  assert.equal(
    ipv6OfAddressDevice([{ ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.168.250.11' }] }], '192.168.250.11'),
    undefined,
  );
});
