/**
 * The tenant's identity on the wire, apart from VNI allocation: two tenants forced onto the same VNI (a
 * stale router namespace of a deleted tenant on one host, a new tenant on another) exchange no frame,
 * because each VXLAN device's MAC and every neighbour/FDB entry naming a peer derive from the tenant's
 * uid. Real namespaces: two underlay "hosts" joined by a veth pair, each with one router namespace built
 * from the agent's desired state and diff (src/core/dataplane), its container stood in for by the
 * container's address on the router's lo. The control step builds the same pair with one uid for both
 * (what the (host, VNI)-only MAC amounted to): then the echo requests do cross, so the test can fail.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildHostView } from '../../../src/core/dataplane/host-view';
import { desiredNamespace } from '../../../src/core/dataplane/desired';
import { diffNamespace } from '../../../src/core/dataplane/diff';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { addNetns, bridgeBatch, delNetns, ipBatch, netnsSysctl } from '../../../src/kernel/ip';
import { run } from '../../../src/kernel/exec';
import { deleteNetnsWithPrefix, uniqueStem } from '../../helpers/netns';
import type { TenetObject } from '../../../src/core/model/object';

const V = 'tenet.dev/v1';
const VNI = 5000;
const UNDERLAY = { h1: '192.168.213.1', h2: '192.168.213.2' };

function world(tenant: string, uid: string): TenetObject[] {
  const endpoint = (name: string, host: string, ip: string): TenetObject => ({
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { name, tenant },
    spec: { network: 'net', host, containerId: name, ifName: 'eth0' },
    status: { ipv4: ip, mac: '02:00:00:00:00:01' },
  });
  return [
    { apiVersion: V, kind: 'Tenant', metadata: { name: tenant, uid }, spec: {}, status: { vni: VNI } },
    { apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant }, spec: { subnets: [{ cidr: '10.213.0.0/24' }] } },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h1' }, spec: { underlayIP: UNDERLAY.h1 } },
    { apiVersion: V, kind: 'Host', metadata: { name: 'h2' }, spec: { underlayIP: UNDERLAY.h2 } },
    endpoint('one', 'h1', '10.213.0.2'),
    endpoint('two', 'h2', '10.213.0.3'),
  ];
}

async function echoesIn(netns: string): Promise<number> {
  const snmp = (await run('ip', ['netns', 'exec', netns, 'cat', '/proc/net/snmp'])).stdout;
  const [names, values] = snmp
    .split('\n')
    .filter((l) => l.startsWith('Icmp:'))
    .map((l) => l.split(/\s+/));
  return Number(values[names.indexOf('InEchos')]);
}

async function ping(netns: string, from: string, to: string): Promise<boolean> {
  return (await run('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', '-q', '-I', from, to], { allowFailure: true })).code === 0;
}

test('two tenants on one VNI exchange no frame: the VXLAN MAC carries the tenant uid', async (t) => {
  const stem = uniqueStem('x');
  t.after(() => deleteNetnsWithPrefix(stem));
  const hosts = { h1: `${stem}-u1`, h2: `${stem}-u2` };
  for (const ns of Object.values(hosts)) {
    await addNetns(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  await run('ip', ['link', 'add', `${stem}a`, 'netns', hosts.h1, 'type', 'veth', 'peer', 'name', `${stem}b`, 'netns', hosts.h2]);
  await ipBatch([`addr add ${UNDERLAY.h1}/24 dev ${stem}a`, `link set ${stem}a up`], { netns: hosts.h1 });
  await ipBatch([`addr add ${UNDERLAY.h2}/24 dev ${stem}b`, `link set ${stem}b up`], { netns: hosts.h2 });

  /** Builds `tenant`'s router namespace on `host` as the agent would; the local endpoint's address sits on lo. */
  const realize = async (host: 'h1' | 'h2', tenant: string, uid: string, prefix: string, local: string): Promise<string> => {
    const view = buildHostView(world(tenant, uid), { hostName: host, netnsPrefix: prefix, underlayIP: UNDERLAY[host] });
    const tenantView = view.tenants.find((x) => x.name === tenant)!;
    const plan = diffNamespace(desiredNamespace(view, tenantView), undefined, { hostVxlans: [] });
    assert.equal(plan.name, tenantNamespaceName(prefix, tenant));
    await addNetns(plan.name);
    await netnsSysctl(plan.name, plan.sysctls);
    await ipBatch(plan.hostLines, { netns: hosts[host] });
    await ipBatch(plan.addLines, { netns: plan.name });
    await bridgeBatch(plan.bridgeLines, { netns: plan.name });
    await ipBatch([`addr add ${local}/32 dev lo`, 'link set lo up'], { netns: plan.name });
    return plan.name;
  };

  // The stale namespace of the deleted tenant "alpha" on h2.
  const stale = await realize('h2', 'alpha', 'uid-alpha', `${stem}-b-`, '10.213.0.3');

  const exchange = async (beta: string): Promise<{ toStale: number; fromStale: number }> => {
    const staleBefore = await echoesIn(stale);
    const betaBefore = await echoesIn(beta);
    for (let i = 0; i < 3; i++) {
      await ping(beta, '10.213.0.2', '10.213.0.3');
      await ping(stale, '10.213.0.3', '10.213.0.2');
    }
    return { toStale: (await echoesIn(stale)) - staleBefore, fromStale: (await echoesIn(beta)) - betaBefore };
  };

  await t.test('control: with one identity for both tenants (a MAC from host and VNI only), frames cross both ways', async () => {
    const beta = await realize('h1', 'beta', 'uid-alpha', `${stem}-a-`, '10.213.0.2');
    const crossed = await exchange(beta);
    assert.ok(crossed.toStale > 0 && crossed.fromStale > 0, `the control must show the crossing: ${JSON.stringify(crossed)}`);
    await delNetns(beta);
  });

  await t.test('with its own uid the new tenant and the stale namespace exchange nothing, either way', async () => {
    const beta = await realize('h1', 'beta', 'uid-beta', `${stem}-a-`, '10.213.0.2');
    assert.deepEqual(await exchange(beta), { toStale: 0, fromStale: 0 });
  });
});
