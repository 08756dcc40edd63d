/** The pure data-plane core: naming, the HostView filter, desired state, parsing of ip -json, and the diff. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildHostView, DEFAULT_OVERLAY_MTU, overlayMtu } from '../../src/core/dataplane/host-view';
import { desiredHostState, desiredNamespace, desiredVethState } from '../../src/core/dataplane/desired';
import {
  diffHost,
  diffNamespace,
  isEmptyPlan,
  recordAttached,
  recordDetached,
  stateAfterPlan,
  sysctlChanges,
  type ActualNamespace,
} from '../../src/core/dataplane/diff';
import {
  NameError,
  endpointNameFor,
  hostVethName,
  tenantNamespaceName,
  tenantOfNamespace,
  vxlanDeviceName,
  vxlanMac,
  hostVethMac,
  HOST_VETH_REGEX,
} from '../../src/core/dataplane/names';
import { mtuOfAddress, parseNamespace, parseSysctls } from '../../src/core/dataplane/parse';
import { attachPlan } from '../../src/core/dataplane/attach-plan';
import type { TenetObject } from '../../src/core/model/object';
import { ROUTER_SYSCTLS, type NamespaceState } from '../../src/core/dataplane/state';

const V = 'tenet.dev/v1';
const tenant = (name: string, vni?: number): TenetObject => ({
  apiVersion: V,
  kind: 'Tenant',
  metadata: { name, uid: `uid-${name}` },
  spec: {},
  ...(vni ? { status: { vni } } : {}),
});
const network = (t: string, name: string, cidrs: string[]): TenetObject => ({
  apiVersion: V,
  kind: 'Network',
  metadata: { name, tenant: t },
  spec: { subnets: cidrs.map((cidr) => ({ cidr })) },
});
const host = (name: string, ip: string): TenetObject => ({ apiVersion: V, kind: 'Host', metadata: { name }, spec: { underlayIP: ip } });
const endpoint = (t: string, name: string, net: string, on: string, ipv4: string, ipv6?: string): TenetObject => ({
  apiVersion: V,
  kind: 'Endpoint',
  metadata: { name, tenant: t, labels: { app: name } },
  spec: { network: net, host: on, containerId: name, ifName: 'eth0' },
  status: { ipv4, ...(ipv6 ? { ipv6 } : {}), mac: '02:00:00:00:00:aa' },
});

const world: TenetObject[] = [
  tenant('red', 100),
  tenant('blue', 200),
  tenant('idle', 300),
  network('red', 'front', ['10.0.1.0/24', 'fd00:1::/64']),
  network('red', 'back', ['10.0.2.0/24']),
  network('blue', 'front', ['10.0.1.0/24']),
  network('idle', 'front', ['10.0.1.0/24']),
  host('h1', '192.168.0.1'),
  host('h2', '192.168.0.2'),
  endpoint('red', 'a', 'front', 'h1', '10.0.1.2', 'fd00:1::2'),
  endpoint('red', 'b', 'back', 'h2', '10.0.2.2'),
  endpoint('red', 'c', 'front', 'h2', '10.0.1.3'),
  endpoint('blue', 'x', 'front', 'h2', '10.0.1.2'),
  endpoint('idle', 'y', 'front', 'h2', '10.0.1.9'),
  { apiVersion: V, kind: 'GlobalPolicy', metadata: { name: 'g' }, spec: { appliesTo: {} } },
];

test('names: strict patterns, deterministic, inverse of the namespace name', () => {
  assert.equal(tenantNamespaceName('tenet-', 'red'), 'tenet-t-red');
  assert.equal(tenantOfNamespace('tenet-', 'tenet-t-red'), 'red');
  assert.equal(tenantOfNamespace('tenet-', 'other-t-red'), undefined);
  assert.equal(tenantOfNamespace('tl-a-h1-', 'tl-a-h2-t-red'), undefined, 'another host of the same lab is not ours');
  assert.throws(() => tenantNamespaceName('Bad;', 'red'), NameError);
  assert.throws(() => tenantNamespaceName('tenet-', 'a b'), NameError);
  const veth = hostVethName('red', 'a');
  assert.match(veth, HOST_VETH_REGEX);
  assert.ok(veth.length <= 15);
  assert.equal(hostVethName('red', 'a'), veth);
  assert.notEqual(hostVethName('blue', 'a'), veth, 'the same endpoint name in another tenant gets another veth');
  assert.equal(vxlanDeviceName(4096), 'tvx4096');
  assert.throws(() => vxlanDeviceName(0), NameError);
  assert.throws(() => vxlanDeviceName(1 << 24), NameError);
  assert.match(vxlanMac('h1', 100, 'u1'), /^02(:[0-9a-f]{2}){5}$/);
  assert.notEqual(vxlanMac('h1', 100, 'u1'), vxlanMac('h2', 100, 'u1'));
  assert.notEqual(vxlanMac('h1', 100, 'u1'), vxlanMac('h1', 100, 'u2'), 'another tenant on the same VNI and host gets another MAC');
  assert.notEqual(vxlanMac('h1', 100, 'u1'), vxlanMac('h1', 101, 'u1'));
  const name = endpointNameFor('ABC_def.1', 'eth0');
  assert.match(name, /^abc-def-1-[0-9a-f]{8}$/);
  assert.notEqual(endpointNameFor('ABC_def.1', 'eth1'), name);
  assert.notEqual(endpointNameFor('abc-def-1', 'eth0'), name, 'ids that reduce to the same text still differ');
  assert.ok(endpointNameFor('f'.repeat(128), 'eth0').length <= 63);
  assert.throws(() => endpointNameFor('a;b', 'eth0'), NameError);
  assert.throws(() => endpointNameFor('a', 'eth0 x'), NameError);
});

test('host view: only tenants with local endpoints, all their endpoints, all hosts and global policies', () => {
  const view = buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' });
  assert.deepEqual(
    view.tenants.map((t) => t.name),
    ['red'],
  );
  const red = view.tenants[0];
  assert.equal(red.vni, 100);
  assert.equal(red.routerNamespace, 'tenet-t-red');
  assert.equal(red.vxlanDevice, 'tvx100');
  assert.deepEqual(
    red.endpoints.map((e) => [e.name, e.local, e.host]),
    [
      ['a', true, 'h1'],
      ['b', false, 'h2'],
      ['c', false, 'h2'],
    ],
  );
  assert.equal(red.endpoints[0].hostIfName, hostVethName('red', 'a'));
  assert.equal(red.endpoints[1].hostIfName, undefined);
  assert.deepEqual(
    red.networks.map((n) => [n.name, n.subnets.map((s) => s.gateway), n.mtu]),
    [
      ['back', ['10.0.2.1'], 1450],
      ['front', ['10.0.1.1', 'fd00:1::1'], 1450],
    ],
  );
  assert.equal(view.underlayIP, '192.168.0.1');
  assert.deepEqual(
    view.hosts.map((h) => h.name),
    ['h1', 'h2'],
  );
  assert.equal(view.globalPolicies.length, 1);
  const h2 = buildHostView(world, { hostName: 'h2', netnsPrefix: 'p-' });
  assert.deepEqual(
    h2.tenants.map((t) => t.name),
    ['blue', 'idle', 'red'],
  );
});

test('desired state: local routes and neighbours on veths, remote ones on the VXLAN device, one FDB entry per remote host', () => {
  const state = desiredHostState(buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' }));
  assert.equal(state.namespaces.length, 1);
  const ns = state.namespaces[0];
  const veth = hostVethName('red', 'a');
  assert.deepEqual(ns.vxlan, {
    name: 'tvx100',
    vni: 100,
    local: '192.168.0.1',
    port: 4789,
    mac: vxlanMac('h1', 100, 'uid-red'),
    mtu: 1450,
    learning: false,
  });
  assert.deepEqual(ns.veths, [{ name: veth, mac: hostVethMac(veth), mtu: 1450, endpoint: 'a' }]);
  assert.deepEqual(ns.loAddresses, ['10.0.1.1/32', '10.0.2.1/32', 'fd00:1::1/128']);
  assert.deepEqual(ns.routes, [
    { dst: '10.0.1.2/32', dev: veth },
    { dst: 'fd00:1::2/128', dev: veth },
    { dst: '10.0.2.2/32', dev: 'tvx100' },
    { dst: '10.0.1.3/32', dev: 'tvx100' },
  ]);
  assert.deepEqual(
    ns.neighbours.filter((n) => n.dev === 'tvx100').map((n) => n.lladdr),
    [vxlanMac('h2', 100, 'uid-red'), vxlanMac('h2', 100, 'uid-red')],
  );
  assert.deepEqual(ns.fdb, [{ mac: vxlanMac('h2', 100, 'uid-red'), dev: 'tvx100', dst: '192.168.0.2' }]);
  assert.deepEqual(ns.proxies, [{ dst: 'fd00:1::1', dev: veth }]);
});

function asActual(state: NamespaceState): ActualNamespace {
  const copy = structuredClone(state);
  return { ...copy, veths: copy.veths.map((v) => ({ ...v, endpoint: undefined, up: true, ifindex: 7 })), strayLinks: [], vxlanUp: true };
}

test('diff: a new namespace is built in order; an identical one yields nothing; stale entries go, nothing is recreated', () => {
  const [desired] = desiredHostState(buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' })).namespaces;
  const fresh = diffNamespace(desired, undefined);
  assert.equal(fresh.create, true);
  assert.deepEqual(fresh.hostLines, [
    'link add tvx100 type vxlan id 100 local 192.168.0.1 dstport 4789 nolearning',
    'link set tvx100 netns tenet-t-red',
  ]);
  assert.deepEqual(fresh.missingVeths, [{ name: hostVethName('red', 'a'), endpoint: 'a' }], 'the reconciler never creates veths');
  assert.ok(fresh.addLines.includes('route replace 10.0.2.2/32 dev tvx100'));
  assert.ok(!fresh.addLines.some((l) => l.includes(hostVethName('red', 'a'))), 'no routes on a missing veth');
  assert.deepEqual(fresh.bridgeLines, [`fdb append ${vxlanMac('h2', 100, 'uid-red')} dev tvx100 dst 192.168.0.2 self permanent`]);

  const same = diffNamespace(desired, asActual(desired));
  assert.ok(isEmptyPlan(same), JSON.stringify(same));

  const actual = asActual(desired);
  actual.veths.push({ name: 'tv0123456789ab', mac: '02:00:00:00:00:01', mtu: 1450, up: true });
  actual.routes.push({ dst: '10.0.1.99/32', dev: 'tvx100' }, { dst: '10.0.1.98/32', dev: 'tv0123456789ab' });
  actual.neighbours.push({ dst: '10.0.1.99', lladdr: '02:00:00:00:00:02', dev: 'tvx100' });
  actual.loAddresses.push('10.9.9.1/32');
  actual.fdb.push({ mac: '02:00:00:00:00:03', dev: 'tvx100', dst: '192.168.0.9' });
  actual.veths[0].mtu = 1500;
  const plan = diffNamespace(desired, actual, { protectedVeths: new Set() });
  assert.deepEqual(plan.removeLines, [
    'link del tv0123456789ab',
    'addr del 10.9.9.1/32 dev lo',
    'route del 10.0.1.99/32 dev tvx100',
    'neigh del 10.0.1.99 dev tvx100',
  ]);
  assert.deepEqual(plan.addLines, [`link set ${hostVethName('red', 'a')} address ${hostVethMac(hostVethName('red', 'a'))} mtu 1450 up`]);
  assert.deepEqual(plan.bridgeLines, ['fdb del 02:00:00:00:00:03 dev tvx100 dst 192.168.0.9 self']);
  assert.deepEqual(plan.hostLines, []);

  const kept = diffNamespace(desired, actual, { protectedVeths: new Set(['tv0123456789ab']) });
  assert.ok(!kept.removeLines.includes('link del tv0123456789ab'), 'an attach in flight is not undone');

  const moved = asActual(desired);
  moved.vxlan = { ...moved.vxlan!, local: '192.168.0.50' };
  const replan = diffNamespace(desired, moved);
  assert.deepEqual(replan.removeLines, ['link del tvx100']);
  assert.equal(replan.hostLines.length, 2);
  assert.ok(replan.addLines.includes('route replace 10.0.1.3/32 dev tvx100'), 'routes return on the new device');
  assert.equal(replan.bridgeLines.length, 1);
});

test('diff of a host: namespaces of tenants that left are deleted unless protected', () => {
  const { namespaces } = desiredHostState(buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' }));
  const plan = diffHost(namespaces, new Map(), ['tenet-t-red', 'tenet-t-gone', 'tenet-t-busy'], {
    protectedNamespaces: new Set(['tenet-t-busy']),
  });
  assert.deepEqual(plan.deleteNamespaces, ['tenet-t-gone']);
});

test('parse: ip -json output becomes the owned state only', () => {
  const veth = 'tv0a249402222e';
  const parsed = parseNamespace('tenet-t-red', 'red', {
    loAddresses: [
      {
        ifname: 'lo',
        addr_info: [
          { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' },
          { family: 'inet', local: '10.1.0.1', prefixlen: 32, scope: 'global' },
          { family: 'inet6', local: 'fd00:1:0::1', prefixlen: 128, scope: 'global' },
        ],
      },
    ],
    links: [
      { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, address: '00:00:00:00:00:00' },
      {
        ifindex: 3,
        ifname: 'tvx4096',
        flags: ['UP'],
        mtu: 1450,
        address: '02:47:50:AC:1D:FD',
        linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local: '192.168.250.11', port: 4789, learning: false } },
      },
      { ifindex: 4, ifname: veth, flags: ['BROADCAST', 'UP'], mtu: 1450, address: '02:00:00:00:00:01', linkinfo: { info_kind: 'veth' } },
      { ifindex: 5, ifname: 'eth9', flags: ['UP'], mtu: 1500, address: '02:00:00:00:00:09', linkinfo: { info_kind: 'veth' } },
    ],
    routes4: [
      { type: 'unicast', dst: '10.1.0.2', dev: veth, protocol: 'boot', scope: 'link' },
      { type: 'unicast', dst: '10.1.0.0/24', dev: veth, protocol: 'kernel', scope: 'link' },
      { dst: '10.1.0.7', gateway: '10.1.0.9', dev: veth },
    ],
    routes6: [
      { dst: 'fd00:1::2', dev: veth, metric: 1024 },
      { dst: 'fe80::/64', dev: veth, protocol: 'kernel' },
    ],
    neighbours: [
      { dst: '10.1.0.2', dev: veth, lladdr: '3E:8B:7F:5F:C2:F5', state: ['PERMANENT'] },
      { dst: 'fe80::1', dev: veth, lladdr: '3e:8b:7f:5f:c2:f5', state: ['STALE'] },
    ],
    proxies: [{ dst: 'fd00:1::1', dev: veth, proxy: null }],
    fdb: [
      { mac: '33:33:00:00:00:01', ifname: veth, flags: ['self'], state: 'permanent' },
      { mac: '02:aa:00:00:00:01', ifname: 'tvx4096', dst: '192.168.250.12', flags: ['self'], state: 'permanent' },
    ],
  });
  assert.deepEqual(parsed.loAddresses, ['10.1.0.1/32', 'fd00:1::1/128']);
  assert.deepEqual(parsed.vxlan, {
    name: 'tvx4096',
    vni: 4096,
    local: '192.168.250.11',
    port: 4789,
    mac: '02:47:50:ac:1d:fd',
    mtu: 1450,
    learning: false,
  });
  assert.deepEqual(parsed.veths, [{ name: veth, mac: '02:00:00:00:00:01', mtu: 1450, ifindex: 4, up: true }]);
  assert.deepEqual(parsed.routes, [
    { dst: '10.1.0.2/32', dev: veth },
    { dst: 'fd00:1::2/128', dev: veth },
  ]);
  assert.deepEqual(parsed.neighbours, [{ dst: '10.1.0.2', lladdr: '3e:8b:7f:5f:c2:f5', dev: veth }]);
  assert.deepEqual(parsed.proxies, [{ dst: 'fd00:1::1', dev: veth }]);
  assert.deepEqual(parsed.fdb, [{ mac: '02:aa:00:00:00:01', dev: 'tvx4096', dst: '192.168.250.12' }]);
  assert.equal(parsed.vxlanUp, true);
});

test('attach plan: host side in one batch, IPv6 without a prefix route, permanent gateway neighbours', () => {
  const view = buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' });
  const red = view.tenants[0];
  const a = red.endpoints[0];
  const plan = attachPlan(
    a,
    red.networks.find((n) => n.name === 'front')!,
    '/run/netns/c1',
    'eth0',
  );
  const veth = hostVethName('red', 'a');
  assert.equal(plan.hostLines[0], `link add ${veth} type veth peer name eth0 netns /run/netns/c1`);
  assert.ok(plan.hostLines.includes(`ntable change name arp_cache dev ${veth} proxy_delay 0`));
  assert.ok(plan.hostLines.includes(`ntable change name ndisc_cache dev ${veth} proxy_delay 0`));
  assert.ok(plan.hostLines.includes(`neigh replace proxy fd00:1::1 dev ${veth}`));
  assert.ok(plan.containerLines.includes('addr add fd00:1::2/64 dev eth0 nodad noprefixroute'));
  assert.ok(plan.containerLines.includes('route add default via fd00:1::1 dev eth0 onlink'));
  assert.ok(plan.containerLines.includes(`neigh replace 10.0.1.1 lladdr ${hostVethMac(veth)} dev eth0 nud permanent`));
  assert.deepEqual(plan.result.addresses, [
    { address: '10.0.1.2/24', gateway: '10.0.1.1', family: 4 },
    { address: 'fd00:1::2/64', gateway: 'fd00:1::1', family: 6 },
  ]);
  assert.equal(plan.result.mac, '02:00:00:00:00:aa');
  assert.equal(plan.result.mtu, 1450);
});

test('kernel record: the state after a clean plan diffs to nothing; attach and detach records follow the veth', () => {
  const view = buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' });
  const [desired] = desiredHostState(view).namespaces;
  const fresh = diffNamespace(desired, undefined);
  const after = stateAfterPlan(desired, undefined, fresh);
  const veth = hostVethName('red', 'a');
  assert.ok(!after.veths.some((v) => v.name === veth), 'the reconciler did not create the veth, so the record has none');
  const again = diffNamespace(desired, after);
  assert.deepEqual(again.removeLines, []);
  assert.deepEqual(again.addLines, []);
  assert.deepEqual(again.bridgeLines, []);
  const attached = recordAttached(after, desired, veth, ['10.0.1.1/32']);
  assert.ok(isEmptyPlan(diffNamespace(desired, attached)), 'after the attach nothing is left to do');
  const detached = recordDetached(attached, veth);
  assert.deepEqual(
    detached.routes.filter((r) => r.dev === veth),
    [],
  );
  assert.deepEqual(diffNamespace(desired, detached).missingVeths, [{ name: veth, endpoint: 'a' }]);
});

test("one veth's desired entries (what an attach records) are exactly desiredNamespace's entries of that veth, colliding addresses too", () => {
  // Small random worlds with few addresses, so that endpoints (local and remote) often claim the same one.
  let seed = 7;
  let collisions = 0;
  const next = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
  for (let round = 0; round < 200; round++) {
    const objects: TenetObject[] = [
      tenant('red', next(2) ? 100 : undefined),
      network('red', 'front', ['10.0.1.0/24', 'fd00:1::/64']),
      network('red', 'back', ['10.0.2.0/24']),
      host('h1', '192.168.0.1'),
      host('h2', '192.168.0.2'),
    ];
    const count = 1 + next(8);
    for (let i = 0; i < count; i++) {
      const on = ['h1', 'h2', 'h3'][next(3)];
      const net = next(2) ? 'front' : 'back';
      objects.push(
        endpoint('red', `e${i}`, net, on, `10.0.${net === 'front' ? 1 : 2}.${2 + next(3)}`, next(2) ? `fd00:1::${2 + next(3)}` : undefined),
      );
    }
    const view = buildHostView(objects, { hostName: 'h1', netnsPrefix: 'tenet-', underlayIP: '192.168.0.1' });
    for (const t of view.tenants) {
      const whole = desiredNamespace(view, t);
      for (const ep of t.endpoints.filter((e) => e.local && e.hostIfName)) {
        const veth = ep.hostIfName!;
        const one = desiredVethState(view, t, veth);
        if (one.routes.length < [ep.ipv4, ep.ipv6].filter(Boolean).length) collisions++;
        const mine = <T extends { dev: string }>(list: T[]): T[] => list.filter((x) => x.dev === veth);
        assert.deepEqual(
          one.veths,
          whole.veths.filter((v) => v.name === veth),
          `round ${round} ${veth}`,
        );
        assert.deepEqual(one.routes, mine(whole.routes), `round ${round} ${veth}: routes`);
        assert.deepEqual(one.neighbours, mine(whole.neighbours), `round ${round} ${veth}: neighbours`);
        assert.deepEqual(one.proxies, mine(whole.proxies), `round ${round} ${veth}: proxies`);
        // And the record an attach makes with it is the one it made with the whole namespace.
        const known = stateAfterPlan(whole, undefined, diffNamespace(whole, undefined));
        assert.deepEqual(recordAttached(known, one, veth, ['10.0.1.1/32']), recordAttached(known, whole, veth, ['10.0.1.1/32']));
      }
    }
  }
  assert.ok(collisions > 20, `worlds with colliding addresses were tried (${collisions})`);
});

test('host view: endpoints stay in name order while they come, go and change, view after view', () => {
  let seed = 11;
  const next = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
  const names = ['a', 'a-b', 'ab', 'a-c', 'ac', 'z9', 'z10', 'e', 'web-1', 'web-10', 'web-2', 'web1', 'db', 'd-b'];
  let objects: TenetObject[] = [tenant('red', 100), network('red', 'front', ['10.0.1.0/24']), host('h1', '192.168.0.1')];
  let endpoints = new Map<string, TenetObject>();
  for (let round = 0; round < 300; round++) {
    // A few changes at a time (sometimes many): new, gone, or replaced by a changed object of the same name.
    for (let k = 1 + (round % 25 === 0 ? 40 : next(3)); k > 0; k--) {
      const name = `${names[next(names.length)]}${next(3) ? '' : next(50)}`;
      const move = next(3);
      if (move === 0) endpoints.delete(name);
      else endpoints.set(name, endpoint('red', name, 'front', next(4) ? 'h1' : 'h2', `10.0.1.${2 + next(200)}`));
    }
    if (![...endpoints.values()].some((e) => (e as { spec: { host: string } }).spec.host === 'h1'))
      endpoints.set('local', endpoint('red', 'local', 'front', 'h1', '10.0.1.250'));
    // The list in an arbitrary order, as a follower holds it.
    const list = [...endpoints.values()].sort(() => next(3) - 1);
    const view = buildHostView([...objects, ...list], { hostName: 'h1', netnsPrefix: 'tenet-' });
    const expected = [...endpoints.keys()].sort((a, b) => a.localeCompare(b));
    assert.deepEqual(
      view.tenants[0].endpoints.map((e) => e.name),
      expected,
      `round ${round}`,
    );
    assert.deepEqual(
      view.tenants[0].endpoints.map((e) => e.object),
      expected.map((name) => endpoints.get(name)),
      `round ${round}: the current objects`,
    );
    if (round % 100 === 99) {
      endpoints = new Map();
      objects = [...objects];
    }
  }
});

test('overlay MTU: the underlay device MTU minus 50 bytes of VXLAN over IPv4, 70 over IPv6', () => {
  assert.equal(overlayMtu(1500, 4), 1450);
  assert.equal(overlayMtu(1500, 6), 1430);
  assert.equal(overlayMtu(9000, 4), 8950);
  assert.equal(overlayMtu(9000, 6), 8930);
  assert.equal(DEFAULT_OVERLAY_MTU, 1450);
  assert.throws(() => overlayMtu(1300, 4), /less than IPv6's minimum/);
  assert.throws(() => overlayMtu(0, 4), /positive integer/);
  // The view carries it to the VXLAN device and to every veth; a network's own MTU only lowers it.
  const withMtu = (objects: TenetObject[]): TenetObject[] =>
    objects.map((o) =>
      o.kind === 'Network' && o.metadata.name === 'back' ? ({ ...o, spec: { ...(o.spec as object), mtu: 1400 } } as TenetObject) : o,
    );
  const view = buildHostView(withMtu(world), { hostName: 'h1', netnsPrefix: 'tenet-', overlayMtu: overlayMtu(9000, 6) });
  assert.equal(view.overlayMtu, 8930);
  assert.deepEqual(
    view.tenants[0].networks.map((n) => [n.name, n.mtu]),
    [
      ['back', 1400],
      ['front', 8930],
    ],
  );
  const [ns] = desiredHostState(view).namespaces;
  assert.equal(ns.vxlan!.mtu, 8930);
  assert.deepEqual(
    ns.veths.map((v) => v.mtu),
    [8930],
  );
  assert.equal(buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' }).overlayMtu, 1450, 'unknown underlay: 1500 over IPv4');
});

test('underlay device MTU: the device that holds the underlay address in ip -json addr show', () => {
  const links = [
    { ifname: 'lo', mtu: 65536, addr_info: [{ family: 'inet', local: '127.0.0.1' }] },
    {
      ifname: 'eth0',
      mtu: 9000,
      addr_info: [
        { family: 'inet', local: '192.168.250.11' },
        { family: 'inet6', local: 'fd00:0:0:0::11' },
      ],
    },
    { ifname: 'eth1', mtu: 1500, addr_info: [] },
  ];
  assert.equal(mtuOfAddress(links, '192.168.250.11'), 9000);
  assert.equal(mtuOfAddress(links, 'fd00::11'), 9000, 'IPv6 compared in canonical form');
  assert.equal(mtuOfAddress(links, '192.168.250.12'), undefined);
  assert.equal(mtuOfAddress(links, 'not an ip'), undefined);
});

test('router sysctls: read back, only the differing ones are written; a new namespace gets all; the record checks none', () => {
  const text =
    'net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 0\nnet.ipv4.conf.all.proxy_arp = 1\nnet.ipv6.conf.all.proxy_ndp = 1\nnet.ipv6.conf.default.accept_dad = 0\nnet.ipv4.conf.all.rp_filter = 2\n';
  const read = parseSysctls(text);
  assert.equal(read['net.ipv4.conf.all.rp_filter'], '2');
  assert.deepEqual(sysctlChanges(read), {
    'net.ipv6.conf.all.forwarding': '1',
    'net.ipv4.conf.all.rp_filter': '0',
    'net.ipv4.conf.default.rp_filter': '0',
  });
  assert.deepEqual(sysctlChanges({ ...ROUTER_SYSCTLS }), {});
  assert.deepEqual(sysctlChanges(undefined), {});

  const [desired] = desiredHostState(buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' })).namespaces;
  assert.deepEqual(diffNamespace(desired, undefined).sysctls, ROUTER_SYSCTLS);
  const drifted = { ...asActual(desired), sysctls: { ...ROUTER_SYSCTLS, 'net.ipv4.conf.all.proxy_arp': '0' } };
  const plan = diffNamespace(desired, drifted);
  assert.deepEqual(plan.sysctls, { 'net.ipv4.conf.all.proxy_arp': '1' });
  assert.ok(!isEmptyPlan(plan));
  assert.ok(isEmptyPlan(diffNamespace(desired, { ...asActual(desired), sysctls: { ...ROUTER_SYSCTLS } })));
  const parsed = parseNamespace('n', 'red', {
    links: [],
    loAddresses: [],
    routes4: [],
    routes6: [],
    neighbours: [],
    proxies: [],
    fdb: [],
    sysctls: text,
  });
  assert.equal(parsed.sysctls?.['net.ipv6.conf.all.forwarding'], '0');
});

test('VXLAN learning: a device with learning on is switched off in place, not recreated', () => {
  const [desired] = desiredHostState(buildHostView(world, { hostName: 'h1', netnsPrefix: 'tenet-' })).namespaces;
  const learning = asActual(desired);
  learning.vxlan = { ...learning.vxlan!, learning: true };
  const plan = diffNamespace(desired, learning);
  assert.deepEqual(plan.removeLines, []);
  assert.deepEqual(plan.hostLines, []);
  assert.deepEqual(plan.addLines, ['link set tvx100 type vxlan nolearning']);
  assert.deepEqual(plan.bridgeLines, [], 'the FDB entries stay');
});
