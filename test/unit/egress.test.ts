/**
 * Egress, the pure part (src/core/egress/egress.ts): who egresses, from which subnets, to which host
 * addresses never (unless a GlobalPolicy opens them), the transit addresses, and the nft fragments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHostView, type HostView } from '../../src/core/dataplane/host-view';
import type { TenetObject } from '../../src/core/model/object';
import {
  egressProgram,
  egressTransit,
  hostEgressProgram,
  hostTransitLink,
  HOST_TRANSIT_LINK_REGEX,
  TRANSIT_GATEWAY,
  transitAddress,
} from '../../src/core/egress/egress';
import { renderProgram } from '../../src/core/policy/render';
import { SLOTS } from '../../src/core/services/compile';
import { ProgramWalker } from '../../src/core/policy/explain';

const V = 'tenet.dev/v1';

/** Whether the forward hook of `program` lets a new TCP packet through (the walker explain uses). */
function explainPacketOnProgram(program: ReturnType<typeof egressProgram>, packet: { src: string; dst: string; oif: string }): boolean {
  return new ProgramWalker(program).run({ ...packet, iif: 'tv000000000001', protocol: 'tcp', port: 80 }).accepted;
}

function objects(egress: Record<string, unknown> | undefined, extra: unknown[] = []): TenetObject[] {
  return [
    { apiVersion: V, kind: 'Tenant', metadata: { name: 'blue', uid: 'u1' }, spec: egress ? { egress } : {}, status: { vni: 4096 } },
    {
      apiVersion: V,
      kind: 'Network',
      metadata: { name: 'front', tenant: 'blue' },
      spec: { subnets: [{ cidr: '10.1.0.0/24' }, { cidr: 'fd00::/64' }] },
    },
    { apiVersion: V, kind: 'Network', metadata: { name: 'back', tenant: 'blue' }, spec: { subnets: [{ cidr: '10.2.0.0/24' }] } },
    {
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name: 'e1', tenant: 'blue' },
      spec: { network: 'front', host: 'h1' },
      status: { ipv4: '10.1.0.5' },
    },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h1', labels: { role: 'db' } }, spec: { underlayIP: '192.168.250.11' } },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h2' }, spec: { underlayIP: '192.168.250.12' } },
    ...extra,
  ] as TenetObject[];
}

const view = (objs: TenetObject[]): HostView => buildHostView(objs, { hostName: 'h1', netnsPrefix: 'tenet-' });

test('no egress right, no VNI: no transit and an empty fragment (no hook, no NAT)', () => {
  const v = view(objects(undefined));
  assert.equal(egressTransit(v, v.tenants[0]), undefined);
  const program = egressProgram(undefined);
  assert.deepEqual([program.chains.length, program.sets.length], [0, 0]);
  const noVni = objects({ mode: 'nat' });
  delete (noVni[0] as { status?: unknown }).status;
  const w = view(noVni);
  assert.equal(egressTransit(w, w.tenants[0]), undefined);
});

test('egress of every network, or of the networks named; IPv4 subnets; host addresses closed', () => {
  const all = view(objects({ mode: 'nat' }));
  const transit = egressTransit(all, all.tenants[0])!;
  assert.deepEqual(transit.sources, ['10.1.0.0/24', '10.2.0.0/24']);
  assert.deepEqual(transit.ownSubnets, ['10.1.0.0/24', '10.2.0.0/24']);
  assert.deepEqual(transit.closedHostAddresses, [TRANSIT_GATEWAY, '192.168.250.11', '192.168.250.12'].sort());
  assert.deepEqual(transit.openHostAddresses, []);
  assert.equal(transit.transitIP, transitAddress(4096));
  assert.match(transit.hostLink, HOST_TRANSIT_LINK_REGEX);
  const front = view(objects({ mode: 'nat', networks: ['front'] }));
  assert.deepEqual(egressTransit(front, front.tenants[0])!.sources, ['10.1.0.0/24']);
});

test('a GlobalPolicy allow rule with a hostSelector opens those hosts (and only for the tenants it names)', () => {
  const open = (tenants?: string[]): unknown => ({
    apiVersion: V,
    kind: 'GlobalPolicy',
    metadata: { name: 'db-hosts' },
    spec: {
      appliesTo: {},
      egress: [{ action: 'allow', to: [{ hostSelector: { matchLabels: { role: 'db' } }, ...(tenants ? { tenants } : {}) }] }],
    },
  });
  const v = view(objects({ mode: 'nat' }, [open()]));
  const transit = egressTransit(v, v.tenants[0])!;
  assert.deepEqual(transit.openHostAddresses, ['192.168.250.11']);
  assert.ok(!transit.closedHostAddresses.includes('192.168.250.11'));
  const other = view(objects({ mode: 'nat' }, [open(['green'])]));
  assert.deepEqual(egressTransit(other, other.tenants[0])!.openHostAddresses, []);
});

test('transit addresses are unique per VNI in 100.64.0.0/10 and links are valid interface names', () => {
  const seen = new Set<string>();
  for (let vni = 4096; vni < 4096 + 5000; vni++) seen.add(transitAddress(vni));
  assert.equal(seen.size, 5000);
  assert.equal(transitAddress(4096), '100.64.16.1');
  assert.notEqual(hostTransitLink({ name: 'a', uid: '1' }), hostTransitLink({ name: 'b', uid: '1' }));
  assert.ok(hostTransitLink({ name: 'a', uid: '1' }).length <= 15);
});

test('the fragments render: filter before policy, SNAT on eg0, host masquerade and link antispoofing', () => {
  const v = view(objects({ mode: 'nat', networks: ['front'] }));
  const transit = egressTransit(v, v.tenants[0])!;
  const text = renderProgram(egressProgram(transit));
  assert.match(text, /add chain inet tenet eg_filter \{ type filter hook forward priority -5; policy accept; \}/);
  assert.match(text, /oifname "eg0" ip saddr 10\.1\.0\.0\/24 counter accept/);
  assert.match(text, /oifname "eg0" ip daddr 10\.2\.0\.0\/24 counter drop/);
  assert.match(text, /oifname "eg0" ip daddr @eg_hosts4 counter drop/);
  assert.match(text, /iifname "eg0" counter drop/);
  assert.match(text, new RegExp(`oifname "eg0" meta nfproto ipv4 counter snat ip to ${transit.transitIP.replace(/\./g, '\\.')}`));
  assert.doesNotMatch(text, /masquerade/);
  const host = renderProgram(hostEgressProgram([transit]));
  assert.match(
    host,
    new RegExp(`add element inet tenet_egress links \\{ ${transit.hostLink} \\. ${transit.transitIP.replace(/\./g, '\\.')} \\}`),
  );
  assert.match(host, /iifname "tg\*" iifname \. ip saddr != @links counter drop/);
  assert.match(host, /ip saddr 100\.64\.0\.0\/10 oifname != "tg\*" counter masquerade/);
  assert.match(host, /iifname "tg\*" oifname "tg\*" counter drop/);
  assert.doesNotMatch(host, /snat/, 'no underlay address known: no transit-to-floating translation');
  // A transit link to a floating IP behind another: accepted before the transit-to-transit drop, and
  // translated to the host's underlay address (what a client on another host would look like).
  const withUnderlay = renderProgram(hostEgressProgram([transit], undefined, '192.168.250.11'));
  const forward = withUnderlay
    .split('\n')
    .filter((l) => l.includes('chain inet tenet_egress forward') || l.includes('rule inet tenet_egress forward'));
  const floatingAt = forward.findIndex((l) => l.includes('oifname . ip daddr @floating counter accept'));
  const dropAt = forward.findIndex((l) => /iifname "tg\*" oifname "tg\*" counter drop/.test(l));
  assert.ok(floatingAt >= 0 && dropAt > floatingAt, forward.join('\n'));
  assert.match(withUnderlay, /ip saddr 100\.64\.0\.0\/10 oifname \. ip daddr @floating counter snat ip to 192\.168\.250\.11/);
  assert.doesNotMatch(
    renderProgram(hostEgressProgram([transit], undefined, '192.168.250.11; flush ruleset')),
    /flush ruleset|snat/,
    'a bad address never reaches nft',
  );
  assert.throws(
    () =>
      renderProgram({
        ...hostEgressProgram([transit]),
        chains: [{ name: 'x', rules: [{ matches: [], effects: [{ kind: 'snat', family: 4, address: '1.2.3.4 ; flush ruleset' }] }] }],
      }),
    /refusing snat/,
  );
});

test('explain walks the egress filter: a source without egress right is dropped on eg0, one with it goes on to policy', () => {
  const v = view(objects({ mode: 'nat', networks: ['front'] }));
  const program = egressProgram(egressTransit(v, v.tenants[0]));
  assert.equal(explainPacketOnProgram(program, { src: '10.1.0.5', dst: '203.0.113.10', oif: 'eg0' }), true);
  assert.equal(explainPacketOnProgram(program, { src: '10.2.0.5', dst: '203.0.113.10', oif: 'eg0' }), false);
  assert.equal(explainPacketOnProgram(program, { src: '10.1.0.5', dst: '10.2.0.9', oif: 'eg0' }), false);
});

test('a floating IP bound to a service picks its slot as a VIP does: keys 1..SLOTS, numgen offset 1', () => {
  const v = view(
    objects(undefined, [
      {
        apiVersion: V,
        kind: 'Endpoint',
        metadata: { name: 'w1', tenant: 'blue', labels: { app: 'web' } },
        spec: { network: 'front', host: 'h1' },
        status: { phase: 'ready', ipv4: '10.1.0.6' },
      },
      {
        apiVersion: V,
        kind: 'Service',
        metadata: { name: 'web', tenant: 'blue' },
        spec: { selector: { matchLabels: { app: 'web' } }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] },
        status: { virtualIPs: ['10.96.0.10'] },
      },
      { apiVersion: V, kind: 'FloatingIPPool', metadata: { name: 'pool' }, spec: { cidrs: ['203.0.113.0/24'] } },
      {
        apiVersion: V,
        kind: 'FloatingIP',
        metadata: { name: 'fip', tenant: 'blue' },
        spec: { target: { service: 'web' } },
        status: { address: '203.0.113.50', pool: 'pool' },
      },
    ]),
  );
  const transit = egressTransit(v, v.tenants[0])!;
  const program = egressProgram(transit);
  const slotKeys = program.maps.flatMap((m) => Object.keys(m.elements ?? {})).filter((k) => k.startsWith('203.0.113.50 . '));
  const slots = slotKeys.map((k) => Number(k.split(' . ')[3])).sort((a, b) => a - b);
  assert.deepEqual(
    slots,
    Array.from({ length: SLOTS }, (_, i) => i + 1),
  );
  // Every slot the rule can pick has an element, and no element is out of its reach.
  assert.match(renderProgram(program), new RegExp(`numgen random mod ${SLOTS} offset 1`));
});

test('IPv6 (NAT66): transit address, sources, closed host addresses of both families, v6 floating DNAT, host masquerade6 and NDP', () => {
  const v = view(
    objects({ mode: 'nat', networks: ['front'] }, [
      {
        apiVersion: V,
        kind: 'FloatingIPPool',
        metadata: { name: 'p6' },
        spec: { cidrs: ['2001:db8:100::/120'] },
      },
      {
        apiVersion: V,
        kind: 'FloatingIP',
        metadata: { name: 'web6', tenant: 'blue' },
        spec: { target: { endpoint: 'e1' } },
        status: { address: '2001:db8:100::1', pool: 'p6' },
      },
    ]).map((o) =>
      o.kind === 'Host'
        ? ({ ...o, spec: { ...o.spec, underlayIPv6: o.metadata.name === 'h1' ? 'fd00:250::11' : 'fd00:250::12' } } as TenetObject)
        : o.kind === 'Endpoint'
          ? ({ ...o, status: { ipv4: '10.1.0.5', ipv6: 'fd00::5' } } as TenetObject)
          : o,
    ),
  );
  const transit = egressTransit(v, v.tenants[0])!;
  assert.equal(transit.transitIP6, 'fd74:656e:6574::1000', 'the ULA /96 plus the VNI (4096)');
  assert.deepEqual(transit.sources6, ['fd00::/64']);
  assert.deepEqual(transit.closedHostAddresses6, ['fd00:250::11', 'fd00:250::12']);
  assert.deepEqual(
    transit.floating.map((f) => [f.address, f.family, f.target]),
    [['2001:db8:100::1', 6, 'fd00::5']],
    'an IPv6 floating IP lands on the endpoint IPv6 address',
  );
  const text = renderProgram(egressProgram(transit));
  assert.match(text, /oifname "eg0" ip6 daddr @eg_hosts6 counter drop/);
  assert.match(text, /oifname "eg0" ip6 daddr fd00::\/64 counter drop/);
  assert.match(text, /oifname "eg0" ip6 saddr fd00::\/64 counter accept/);
  assert.match(text, /add element inet tenet eg_fip6 \{ 2001:db8:100::1 : fd00::5 \}/);
  assert.match(text, /iifname "eg0" meta nfproto ipv6 counter dnat ip6 to ip6 daddr map @eg_fip6/);
  assert.match(text, /oifname "eg0" meta nfproto ipv6 counter snat ip6 to fd74:656e:6574::1000/, 'NAT66 to the transit address');
  const host = renderProgram(hostEgressProgram([transit], undefined, '192.168.250.11', 'fd00:250::11'));
  assert.match(
    host,
    new RegExp(
      `add element inet tenet_egress links6 \\{ ${transit.hostLink} \\. 2001:db8:100::1, ${transit.hostLink} \\. fd74:656e:6574::1000 \\}`,
    ),
  );
  assert.match(host, /iifname "tg\*" iifname \. ip6 saddr != @links6 counter drop/);
  assert.match(host, /oifname \. ip6 daddr @floating6 counter accept/);
  assert.match(host, /iifname "tg\*" icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert \} counter accept/);
  assert.match(host, /ip6 saddr fd74:656e:6574::\/96 oifname != "tg\*" counter masquerade/);
  assert.match(host, /ip6 saddr fd74:656e:6574::\/96 oifname \. ip6 daddr @floating6 counter snat ip6 to fd00:250::11/);
  assert.doesNotMatch(host, /add element inet tenet_egress (links|floating) \{[^}]*2001:db8/, 'no IPv6 address in an IPv4 set');
});

test('the SNAT to the transit address renders only an IPv4 address', () => {
  const v = view(objects({ mode: 'nat', networks: ['front'] }));
  const transit = egressTransit(v, v.tenants[0])!;
  assert.throws(() => renderProgram(egressProgram({ ...transit, transitIP: '100.64.0.1; flush ruleset' })), /refusing snat address/);
});
