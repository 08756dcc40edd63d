/**
 * What the agent reports and repairs on its own: an Endpoint placed on a host but never attached there
 * gets `status.phase=error` with a reason; router sysctls and the VXLAN learning flag changed by hand
 * are set back by the next full pass (a 1 s resync here), in place, without recreating a link; the
 * overlay MTU follows the underlay device's MTU.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { agentHealth, restartAgent } from '../../../src/lab/lab';
import { API_VERSION } from '../../../src/core/model/common';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import type { TenetObject } from '../../../src/core/model/object';
import { tenantNamespaceName, vxlanDeviceName } from '../../../src/core/dataplane/names';
import { parseSysctls } from '../../../src/core/dataplane/parse';
import { ROUTER_SYSCTLS } from '../../../src/core/dataplane/state';
import { run } from '../../../src/kernel/exec';
import { linkIndexes } from '../../../src/kernel/read';
import { ipJsonBatch } from '../../../src/kernel/ip';

async function sysctls(netns: string): Promise<Record<string, string>> {
  return parseSysctls((await run('nsenter', [`--net=/run/netns/${netns}`, 'sysctl', ...Object.keys(ROUTER_SYSCTLS)])).stdout);
}

async function vxlanLearning(netns: string, device: string): Promise<boolean> {
  const [links] = await ipJsonBatch([`link show dev ${device}`], { netns, details: true });
  return (links[0] as { linkinfo: { info_data: { learning: boolean } } }).linkinfo.info_data.learning;
}

test('endpoint errors are reported; hand-made drift of sysctls and VXLAN learning is repaired by a full pass; the overlay MTU follows the underlay', async (t) => {
  const lab = await startTestLab(t, 1, { agentResync: 1 });
  const client = lab.controller.client;
  await client.apply(tenantObjects('acme', [{ name: 'net', cidrs: ['10.60.0.0/24', 'fd00:60::/64'] }]));
  const c1 = await lab.run('c1', { host: 'h1', tenant: 'acme', network: 'net' });
  const [h1] = lab.state.hosts;
  const router = tenantNamespaceName(h1.netnsPrefix, 'acme');

  await t.test('an Endpoint on this host that was never attached: phase error with the reason', async () => {
    const ghost = {
      apiVersion: API_VERSION,
      kind: 'Endpoint',
      metadata: { name: 'ghost', tenant: 'acme' },
      spec: { network: 'net', host: 'h1' },
    };
    await client.create(ghost as unknown as TenetObject);
    let status: Endpoint['status'];
    await waitUntil('the agent reports the ghost endpoint', async () => {
      status = (await client.find<Endpoint>('Endpoint', 'ghost', 'acme'))?.status;
      return status?.phase === 'error';
    });
    assert.match(status!.reason ?? '', /host interface tv[0-9a-f]{12} is missing/);
    const attached = await client.find<Endpoint>('Endpoint', c1.endpoint!, 'acme');
    assert.equal(attached?.status?.phase, 'ready', 'the attached endpoint next to it is unaffected');
    assert.equal(attached?.status?.reason, undefined);
  });

  await t.test('router sysctls and the VXLAN learning flag changed by hand are set back in place', async () => {
    const tenant = await client.find<{ status?: { vni?: number } }>('Tenant', 'acme');
    const vxlan = vxlanDeviceName(tenant!.status!.vni!);
    assert.deepEqual(await sysctls(router), ROUTER_SYSCTLS);
    assert.equal(await vxlanLearning(router, vxlan), false);
    const indexes = await linkIndexes(router);

    await run('nsenter', [
      `--net=/run/netns/${router}`,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.conf.all.proxy_arp=0',
      'net.ipv6.conf.all.forwarding=0',
      'net.ipv4.conf.all.rp_filter=1',
    ]);
    await run('ip', ['-n', router, 'link', 'set', vxlan, 'type', 'vxlan', 'learning']);
    assert.equal((await sysctls(router))['net.ipv4.conf.all.proxy_arp'], '0');
    assert.equal(await vxlanLearning(router, vxlan), true);

    // Two more completed full passes: at least one of them began after the changes above.
    const passes = (await agentHealth(h1))?.fullPasses ?? 0;
    await waitUntil('two more full passes', async () => ((await agentHealth(h1))?.fullPasses ?? 0) >= passes + 2);
    assert.deepEqual(await sysctls(router), ROUTER_SYSCTLS);
    assert.equal(await vxlanLearning(router, vxlan), false);
    assert.deepEqual(await linkIndexes(router), indexes, 'nothing was recreated');
    assert.equal((await agentHealth(h1))?.lastPassFailures, 0);
  });

  await t.test('the overlay MTU follows the underlay device: 1500 gives 1450; 1400 after a restart gives 1350, set in place', async () => {
    const tenant = await client.find<{ status?: { vni?: number } }>('Tenant', 'acme');
    const vxlan = vxlanDeviceName(tenant!.status!.vni!);
    const mtus = async (): Promise<Map<string, number>> => {
      const [links] = await ipJsonBatch(['link show'], { netns: router });
      return new Map(links.map((l) => [(l as { ifname: string }).ifname, (l as { mtu: number }).mtu]));
    };
    assert.equal((await agentHealth(h1))?.overlayMtu, 1450);
    const veth = [...(await mtus()).keys()].find((name) => name.startsWith('tv') && name !== vxlan)!;
    assert.equal((await mtus()).get(vxlan), 1450);
    assert.equal((await mtus()).get(veth), 1450);
    const indexes = await linkIndexes(router);
    await restartAgent(lab.state, 'h1', 'SIGTERM', async () => {
      await run('ip', ['-n', h1.netns, 'link', 'set', 'eth0', 'mtu', '1400']);
    });
    assert.equal((await agentHealth(h1))?.overlayMtu, 1350);
    assert.equal((await mtus()).get(vxlan), 1350);
    assert.equal((await mtus()).get(veth), 1350);
    assert.deepEqual(await linkIndexes(router), indexes, 'nothing was recreated');
  });
});
