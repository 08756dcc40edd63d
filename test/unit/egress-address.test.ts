/**
 * Egress addresses, the pure part (src/core/egress/egress-address.ts and the host table's rules): the
 * holder holds (tunnel end with the tenant's MAC, local SNAT, announcement) even without endpoints of
 * the tenant; a sender tunnels its transit traffic to the holder; an unknown holder blocks rather than
 * leaking the host's address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHostView } from '../../src/core/dataplane/host-view';
import type { TenetObject } from '../../src/core/model/object';
import { egressTransit, hostEgressProgram } from '../../src/core/egress/egress';
import {
  EGRESS_TABLE_BASE,
  EGRESS_TUNNEL_REGEX,
  egressAddressPlan,
  egressTunnelMac,
  egressTunnelName,
} from '../../src/core/egress/egress-address';
import { renderProgram } from '../../src/core/policy/render';

const V = 'tenet.dev/v1';

function objects(holder: string, endpointHosts: string[]): TenetObject[] {
  return [
    {
      apiVersion: V,
      kind: 'Tenant',
      metadata: { name: 'blue', uid: 'u1' },
      spec: { egress: { mode: 'nat', address: '198.18.200.10', host: holder } },
      status: { vni: 4096 },
    },
    { apiVersion: V, kind: 'Network', metadata: { name: 'front', tenant: 'blue' }, spec: { subnets: [{ cidr: '10.1.0.0/24' }] } },
    ...endpointHosts.map((host, i) => ({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name: `e${i}`, tenant: 'blue' },
      spec: { network: 'front', host },
      status: { ipv4: `10.1.0.${i + 5}` },
    })),
    { apiVersion: V, kind: 'Host', metadata: { name: 'h1' }, spec: { underlayIP: '192.168.250.11' } },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h2' }, spec: { underlayIP: '192.168.250.12' } },
  ] as TenetObject[];
}

const planOn = (host: string, holder: string, endpointHosts: string[]) => {
  const view = buildHostView(objects(holder, endpointHosts), { hostName: host, netnsPrefix: 'tenet-' });
  const transits = view.tenants.map((t) => egressTransit(view, t)!).filter(Boolean);
  return { view, transits, plan: egressAddressPlan(view, transits) };
};

test('the holder holds without endpoints of the tenant: its tunnel end carries the tenant MAC, the address is announced', () => {
  const { plan, transits } = planOn('h2', 'h2', ['h1']);
  assert.equal(transits.length, 0, 'no endpoint of blue on h2');
  const ids = { name: 'blue', uid: 'u1' };
  assert.deepEqual(plan.tunnels, [
    { tenant: 'blue', name: egressTunnelName(ids), vni: 4096, mac: egressTunnelMac(ids), address: '198.18.200.10' },
  ]);
  assert.match(plan.tunnels[0].name, EGRESS_TUNNEL_REGEX);
  assert.deepEqual(plan.held, ['198.18.200.10']);
  const host = renderProgram(hostEgressProgram(transits, plan));
  assert.match(host, new RegExp(`add element inet tenet_egress egress_in \\{ "${plan.tunnels[0].name}" : 198\\.18\\.200\\.10 \\}`));
  assert.match(host, /iifname "tx\*" counter snat ip to iifname map @egress_in/);
  assert.match(host, /ip daddr @egress_held counter drop/);
});

test('a sender tunnels its transit traffic to the holder, translated to its own underlay address first', () => {
  const { plan, transits } = planOn('h1', 'h2', ['h1']);
  const [tunnel] = plan.tunnels;
  assert.deepEqual(tunnel.sender, {
    remote: '192.168.250.12',
    table: EGRESS_TABLE_BASE + 4096,
    transitIP: transits[0].transitIP,
    hostLink: transits[0].hostLink,
  });
  assert.equal(tunnel.mac, egressTunnelMac({ name: 'blue', uid: 'u1' }), 'the neighbour entry names the holder end');
  assert.deepEqual(plan.held, []);
  const host = renderProgram(hostEgressProgram(transits, plan));
  assert.match(host, new RegExp(`egress_out \\{ "${tunnel.name}" : 192\\.168\\.250\\.11 \\}`));
  // The tunnel's SNAT stands before the masquerade (which would find no address on the tunnel).
  assert.ok(host.indexOf('snat ip to oifname map @egress_out') < host.indexOf('masquerade'));
});

test('the holder with local endpoints translates its transit address itself; an unknown holder blocks the tenant', () => {
  const local = planOn('h2', 'h2', ['h2']);
  assert.deepEqual(local.plan.local, { [local.transits[0].transitIP]: '198.18.200.10' });
  assert.equal(local.plan.tunnels.filter((t) => t.sender).length, 0);
  const unknown = planOn('h1', 'h9', ['h1']);
  assert.deepEqual(unknown.plan.tunnels, []);
  assert.deepEqual(unknown.plan.blocked, [unknown.transits[0].transitIP]);
  assert.match(renderProgram(hostEgressProgram(unknown.transits, unknown.plan)), /ip saddr @egress_blocked oifname != "tg\*" counter drop/);
});
