/**
 * The attach socket at its boundary: bad input gets a clear error and creates nothing (no Endpoint, no
 * link, no namespace); attach is idempotent for the same container; detach is idempotent and works when
 * the container's namespace is already gone; check and attachments report what exists.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startAttachFixture, waitUntil } from '../../helpers/lab';
import { AttachApiError } from '../../../src/attach/api';
import { linkIndexes } from '../../../src/kernel/read';
import { run } from '../../../src/kernel/exec';
import { listNetns } from '../../../src/kernel/ip';
import { hostVethName } from '../../../src/core/dataplane/names';
import type { AttachRequest } from '../../../src/attach/protocol';

test('attach socket: clear errors and nothing half-created; idempotent attach and detach', async (t) => {
  const { lab, agent, netns, request: good, router } = await startAttachFixture(t, 'acme', '10.40.0.0/24', 'raw');
  const client = lab.controller.client;

  const expectError = async (request: unknown, status: number, reason: string, text: RegExp) => {
    await assert.rejects(agent.attach(request as AttachRequest), (error: unknown) => {
      assert.ok(error instanceof AttachApiError, String(error));
      assert.equal(error.status, status, error.message);
      assert.equal(error.reason, reason);
      assert.match(error.message, text);
      return true;
    });
  };

  await t.test('bad input is refused with 400/404 and changes nothing', async () => {
    await expectError({ ...good, tenant: 'nope' }, 404, 'NotFound', /nope|tenant/i);
    await expectError({ ...good, network: 'nope' }, 404, 'NotFound', /nope|network/i);
    await expectError({ ...good, netns: '/run/netns/does-not-exist' }, 404, 'NotFound', /does-not-exist/);
    await expectError({ ...good, containerId: 'x;rm -rf /' }, 400, 'InvalidRequest', /containerId/);
    await expectError({ ...good, ifName: 'eth0$(id)' }, 400, 'InvalidRequest', /ifName/);
    await expectError({ ...good, tenant: 'Acme`x`' }, 400, 'InvalidRequest', /tenant/);
    await expectError({ ...good, netns: '/run/netns/../../etc/passwd' }, 400, 'InvalidRequest', /netns/);
    await expectError({ ...good, labels: { 'a b': 'c' } }, 400, 'InvalidRequest', /label/);
    await expectError({ ...good, ips: ['10.40.0.300'] }, 400, 'InvalidRequest', /ips/);
    await expectError({ ...good, extra: 1 }, 400, 'InvalidRequest', /extra/);
    await expectError({ ...good, attachedBy: 'cni/x;reboot' }, 400, 'InvalidRequest', /attachedBy/);
    await expectError({ ...good, bandwidth: { ingressRate: 5 } }, 400, 'InvalidRequest', /ingressBurst is required/);
    assert.deepEqual((await client.list('Endpoint')).items, []);
    assert.deepEqual([...(await linkIndexes(netns)).keys()], ['lo']);
    assert.ok(!listNetns().includes(router), 'no tenant namespace for a refused attach');
  });

  await t.test('a failing plumbing step rolls back the endpoint and the links', async () => {
    // The container already has an eth0: the veth cannot be created there.
    await run('ip', ['-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    await expectError(good, 409, 'Conflict', /eth0 already exists/);
    assert.deepEqual((await client.list('Endpoint')).items, []);
    const links = await linkIndexes(router).catch(() => new Map<string, number>());
    assert.deepEqual(
      [...links.keys()].filter((name) => name.startsWith('tv') && !name.startsWith('tvx')),
      [],
    );
    await run('ip', ['-n', netns, 'link', 'del', 'eth0']);
  });

  await t.test(
    "a network's MTU below the overlay's is on both ends, also when the veth was made before the agent knew the network",
    async () => {
      await client.apply([
        {
          apiVersion: 'tenet.dev/v1',
          kind: 'Network',
          metadata: { name: 'small', tenant: 'acme' },
          spec: { subnets: [{ cidr: '10.41.0.0/24' }], mtu: 1400 },
        },
      ]);
      // The tenant namespace stays a few seconds after its last endpoint here left, while the agent no
      // longer follows the tenant's networks: the veth is then made with the overlay's MTU, and corrected.
      await agent.attach({ ...good, containerId: 'mtu-holder' });
      assert.deepEqual(await agent.detach({ containerId: 'mtu-holder', ifName: 'eth0' }), { detached: true });
      assert.ok(listNetns().includes(router));
      const other = `tl-${lab.state.name}-c-mtu`;
      await run('ip', ['netns', 'add', other]);
      t.after(() => run('ip', ['netns', 'del', other], { allowFailure: true }));
      const small = await agent.attach({
        containerId: 'mtu1',
        netns: `/run/netns/${other}`,
        ifName: 'eth0',
        tenant: 'acme',
        network: 'small',
      });
      assert.equal(small.mtu, 1400);
      const mtuOf = async (netnsName: string, dev: string) =>
        (JSON.parse((await run('ip', ['-n', netnsName, '-j', 'link', 'show', 'dev', dev])).stdout) as Array<{ mtu: number }>)[0].mtu;
      assert.equal(await mtuOf(router, small.hostIfName), 1400, 'host end');
      assert.equal(await mtuOf(other, 'eth0'), 1400, "container's end");
      assert.deepEqual(await agent.detach({ containerId: 'mtu1', ifName: 'eth0' }), { detached: true });
    },
  );

  await t.test('attach, attach again, check, attachments, detach twice, detach with the namespace gone', async () => {
    const first = await agent.attach(good);
    assert.match(first.addresses[0].address, /^10\.40\.0\.\d+\/24$/);
    assert.equal(first.addresses[0].gateway, '10.40.0.1');
    assert.equal(first.mtu, 1450);
    assert.equal(first.hostIfName, hostVethName('acme', first.endpoint));
    // proxy_delay 0 on the host end: proxy ARP/NDP answer at once.
    const proxyDelays = await Promise.all(
      ['ipv4', 'ipv6'].map(async (family) =>
        (
          await run('nsenter', [`--net=/run/netns/${router}`, 'cat', `/proc/sys/net/${family}/neigh/${first.hostIfName}/proxy_delay`])
        ).stdout.trim(),
      ),
    );
    assert.deepEqual(proxyDelays, ['0', '0']);
    const again = await agent.attach(good);
    assert.deepEqual(again, first, 'the same container and interface get the same answer');
    assert.deepEqual(await agent.check(good), first);
    assert.deepEqual(await agent.attachments(), [
      { containerId: 'raw1', ifName: 'eth0', endpoint: first.endpoint, tenant: 'acme', network: 'net' },
    ]);
    await waitUntil(
      'endpoint ready',
      async () => ((await client.get<{ status?: { phase?: string } }>('Endpoint', first.endpoint, 'acme')).status?.phase ?? '') === 'ready',
    );
    assert.deepEqual(await agent.detach({ containerId: 'raw1', ifName: 'eth0' }), { detached: true });
    assert.deepEqual(await agent.detach({ containerId: 'raw1', ifName: 'eth0' }), { detached: false });
    assert.deepEqual((await client.list('Endpoint')).items, []);

    // Detached, then at once another container into the same namespace: the old veth may still be on
    // its way out (deleted in the background), and the attach waits for it instead of failing.
    for (let round = 0; round < 30; round++) {
      const id = `raw-again${round}`;
      const again = await agent.attach({ ...good, containerId: id });
      assert.match(again.addresses[0].address, /^10\.40\.0\.\d+\/24$/);
      assert.deepEqual(await agent.detach({ containerId: id, ifName: 'eth0' }), { detached: true });
    }
    await agent.attach({ ...good, containerId: 'raw-again-last' });
    assert.deepEqual(await agent.detach({ containerId: 'raw-again-last', ifName: 'eth0' }), { detached: true });

    // Namespace deleted before the detach (containerd sends DEL with an empty CNI_NETNS).
    const second = await agent.attach({ ...good, containerId: 'raw2' });
    await run('ip', ['netns', 'del', netns]);
    assert.deepEqual(await agent.detach({ containerId: 'raw2', netns: '' }), { detached: true });
    assert.equal(await client.find('Endpoint', second.endpoint, 'acme'), undefined);
    await waitUntil('tenant namespace removed with its last endpoint', () => !listNetns().includes(router));
  });
});
