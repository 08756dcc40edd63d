/**
 * A container interface detached and attached again at once (a runtime's DEL then ADD, a restart):
 * the detach answers before the kernel has finished deleting the old veth, and the tenant namespace
 * outlives its last endpoint for a moment. The re-attach must still get a working interface, detach
 * must stay idempotent, and in the end nothing may be left behind.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startAttachFixture, waitUntil } from '../../helpers/lab';
import { linkIndexes } from '../../../src/kernel/read';
import { run } from '../../../src/kernel/exec';
import { listNetns } from '../../../src/kernel/ip';
import { alive, resolverPids } from '../../helpers/resolver';

test('detach then attach the same interface at once, three times: working interface, idempotent detach, nothing left', async (t) => {
  const { lab, agent, netns, request, router } = await startAttachFixture(t, 'churn', '10.41.0.0/24', 'churn');
  const client = lab.controller.client;

  let hostIfName = '';
  let resolver: number[] = [];
  for (let round = 0; round < 3; round++) {
    const first = await agent.attach(request);
    await waitUntil('the tenant resolver', () => resolverPids(router).length === 3 && resolverPids(router).every(alive));
    resolver = resolverPids(router);
    assert.deepEqual(await agent.detach({ containerId: 'churn1', ifName: 'eth0' }), { detached: true });
    const again = await agent.attach(request);
    // The namespace lingers between the detach and the attach, and its resolver with it: not restarted.
    assert.deepEqual(resolverPids(router), resolver, `round ${round}: the same resolver processes`);
    assert.ok(resolver.every(alive), `round ${round}: the resolver still runs`);
    assert.equal(again.hostIfName, first.hostIfName, 'same container interface, same host veth name');
    hostIfName = again.hostIfName;
    assert.ok((await linkIndexes(router)).has(hostIfName), `round ${round}: host veth present after the re-attach`);
    const gateway = again.addresses[0].gateway;
    const ping = await run('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', gateway], { allowFailure: true });
    assert.equal(ping.code, 0, `round ${round}: the re-attached container reaches its gateway: ${ping.stdout}${ping.stderr}`);
    assert.deepEqual(await agent.detach({ containerId: 'churn1', ifName: 'eth0' }), { detached: true });
    assert.deepEqual(
      await agent.detach({ containerId: 'churn1', ifName: 'eth0' }),
      { detached: false },
      `round ${round}: a second detach finds nothing`,
    );
  }
  assert.deepEqual((await client.list('Endpoint')).items, []);
  await waitUntil('old veth deleted', async () => !listNetns().includes(router) || !(await linkIndexes(router)).has(hostIfName));
  assert.deepEqual([...(await linkIndexes(netns)).keys()], ['lo'], 'the container keeps only lo');
  await waitUntil('the emptied tenant namespace is deleted after its linger', () => !listNetns().includes(router));
  await waitUntil('its resolver ended with it', () => !resolver.some(alive));
});
