/**
 * Every NetworkDriver and IpamDriver call of Docker's remote protocol, sent over the plugin socket of a
 * real `tenet agent --docker-plugin` (private socket path) with a real controller: answers, errors,
 * labels, gateway, and the bindings surviving an agent restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import type { TenetObject } from '../../../src/core/model/object';
import { stagingNamespaceName } from '../../../src/cnm/server';
import { createNetwork, startAgentHost, type AgentHost } from '../../cni/agent-host';
import { run } from '../../runtimes/runtime-helpers';
import { TenetClient } from '../../../src/client/api-client';
import type { ApiError } from '../../../src/client/errors';

let host: AgentHost;
const NID = 'a'.repeat(60) + '0001';
const NID2 = 'b'.repeat(60) + '0002';
const EID = 'c'.repeat(60) + '0003';

before(async () => {
  host = await startAgentHost({ dockerPlugin: 'private' });
  await createNetwork(host.controller, 'acme', 'web', '10.44.0.0/24');
});

after(async () => {
  await host?.stop();
  if (host)
    await run('ip', ['netns', 'delete', stagingNamespaceName(host.hostName, host.dockerSocket, host.prefix)]).catch(() => undefined);
});

function call(path: string, body: unknown = {}): Promise<Record<string, any>> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        socketPath: host.dockerSocket,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        let text = '';
        response.on('data', (c: Buffer) => (text += c.toString()));
        response.on('end', () => {
          assert.equal(response.headers['content-type'], 'application/vnd.docker.plugins.v1.2+json');
          resolve(JSON.parse(text) as Record<string, any>);
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

async function annotations(): Promise<Record<string, string>> {
  return (await host.controller.client.get<TenetObject>('Host', host.hostName)).metadata.annotations ?? {};
}

async function hostLinks(): Promise<string[]> {
  const { stdout } = await run('ip', ['-n', host.hostNetns, '-json', 'link', 'show']);
  return (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname);
}

test('handshake and capabilities', async () => {
  assert.deepEqual(await call('/Plugin.Activate'), { Implements: ['NetworkDriver', 'IpamDriver'] });
  assert.deepEqual(await call('/NetworkDriver.GetCapabilities'), { Scope: 'local', ConnectivityScope: 'global' });
  assert.deepEqual(await call('/IpamDriver.GetCapabilities'), { RequiresMACAddress: false, RequiresRequestReplay: false });
  assert.deepEqual(await call('/IpamDriver.GetDefaultAddressSpaces'), {
    LocalDefaultAddressSpace: 'tenet',
    GlobalDefaultAddressSpace: 'tenet',
  });
  assert.match((await call('/NetworkDriver.Frobnicate')).Err, /not supported/);
  for (const path of [
    '/NetworkDriver.AllocateNetwork',
    '/NetworkDriver.FreeNetwork',
    '/NetworkDriver.DiscoverNew',
    '/NetworkDriver.DiscoverDelete',
  ]) {
    assert.equal((await call(path, { NetworkID: NID })).Err, undefined, path);
  }
});

test('pools: named by --ipam-opt or a unique --subnet, else a placeholder; errors say what to do', async () => {
  const known = await call('/IpamDriver.RequestPool', { AddressSpace: 'tenet', Options: { tenant: 'acme', network: 'web' }, V6: false });
  assert.deepEqual(known, { PoolID: 'tenet/acme/web/4', Pool: '10.44.0.0/24', Data: { 'com.docker.network.gateway': '10.44.0.1/24' } });
  assert.equal((await call('/IpamDriver.RequestPool', { Pool: '10.44.0.0/24' })).PoolID, 'tenet/acme/web/4');
  assert.match((await call('/IpamDriver.RequestPool', { Options: { tenant: 'acme' } })).Error, /go together/);
  assert.match((await call('/IpamDriver.RequestPool', { Options: { tenant: 'acme', network: 'nope' } })).Error, /does not exist/);
  assert.match((await call('/IpamDriver.RequestPool', { Options: { tenant: 'acme', network: 'web' }, V6: true })).Error, /no IPv6 subnet/);
  const gw = await call('/IpamDriver.RequestAddress', {
    PoolID: 'tenet/acme/web/4',
    Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
  assert.deepEqual(gw, { Address: '10.44.0.1/24' });
  assert.match((await call('/IpamDriver.RequestAddress', { PoolID: 'bogus' })).Error, /unknown pool id/);
  assert.deepEqual(await call('/IpamDriver.ReleasePool', { PoolID: 'tenet/acme/web/4' }), {});
});

test('a network, an endpoint and its lifecycle; bindings survive an agent restart', async () => {
  const pool = await call('/IpamDriver.RequestPool', { AddressSpace: 'tenet', Options: {}, V6: false });
  assert.match(pool.PoolID, /^tenet-pending\/[0-9a-f]{4}\/4$/);
  assert.match(pool.Pool, /^240\.\d+\.\d+\.0\/24$/);
  assert.match(
    (await call('/IpamDriver.RequestAddress', { PoolID: pool.PoolID, Options: { RequestAddressType: 'com.docker.network.gateway' } }))
      .Address,
    /^240\./,
  );
  const ipv4 = [{ AddressSpace: 'tenet', Pool: pool.Pool, Gateway: pool.Data['com.docker.network.gateway'] }];
  assert.match(
    (await call('/NetworkDriver.CreateNetwork', { NetworkID: NID2, Options: {}, IPv4Data: ipv4 })).Err,
    /tenant=NAME.*network=NAME/,
  );
  assert.match(
    (
      await call('/NetworkDriver.CreateNetwork', {
        NetworkID: NID2,
        Options: { 'com.docker.network.generic': { tenant: 'acme', network: 'gone' } },
        IPv4Data: ipv4,
      })
    ).Err,
    /does not exist/,
  );
  assert.match((await call('/NetworkDriver.CreateNetwork', { NetworkID: 'short', Options: {} })).Err, /Docker id/);
  const created = await call('/NetworkDriver.CreateNetwork', {
    NetworkID: NID,
    Options: { 'com.docker.network.generic': { tenant: 'acme', network: 'web', 'label.tier': 'web' } },
    IPv4Data: ipv4,
  });
  assert.deepEqual(created, {});
  const stored = await annotations();
  assert.deepEqual(JSON.parse(stored[`docker.tenet.dev/network.${NID}`]), { tenant: 'acme', network: 'web', labels: { tier: 'web' } });

  await host.restartAgent();

  const address = await call('/IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: null });
  assert.match(address.Address, /^10\.44\.0\.\d+\/24$/, 'the pending pool was bound by CreateNetwork, read back after the restart');
  const endpoint = await call('/NetworkDriver.CreateEndpoint', {
    NetworkID: NID,
    EndpointID: EID,
    Interface: { Address: address.Address, AddressIPv6: '', MacAddress: '' },
    Options: { 'com.docker.network.generic': { 'label.team': 'blue' } },
  });
  assert.equal(endpoint.Err, undefined, endpoint.Err);
  assert.match(endpoint.Interface.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  const eps = (await host.controller.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items;
  assert.equal(eps.length, 1);
  assert.equal(`${eps[0].status?.ipv4}/24`, address.Address);
  assert.deepEqual(eps[0].metadata.labels, { tier: 'web', team: 'blue' });
  const info = await call('/NetworkDriver.EndpointOperInfo', { NetworkID: NID, EndpointID: EID });
  assert.equal(info.Value.endpoint, eps[0].metadata.name);
  const join = await call('/NetworkDriver.Join', { NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/x', Options: {} });
  assert.deepEqual(join, {
    InterfaceName: { SrcName: `tnd${EID.slice(0, 12)}`, DstPrefix: 'eth' },
    DisableGatewayService: true,
    Gateway: '10.44.0.1',
  });
  assert.ok((await hostLinks()).includes(join.InterfaceName.SrcName), "the interface waits in the daemon's namespace");
  for (const path of ['/NetworkDriver.ProgramExternalConnectivity', '/NetworkDriver.RevokeExternalConnectivity', '/NetworkDriver.Leave']) {
    assert.deepEqual(await call(path, { NetworkID: NID, EndpointID: EID }), {}, path);
  }
  assert.deepEqual(await call('/NetworkDriver.DeleteEndpoint', { NetworkID: NID, EndpointID: EID }), {});
  assert.deepEqual((await host.controller.client.list<Endpoint>('Endpoint', { tenant: 'acme' })).items, []);
  assert.ok(!(await hostLinks()).includes(join.InterfaceName.SrcName));
  assert.deepEqual(await call('/NetworkDriver.DeleteEndpoint', { NetworkID: NID, EndpointID: EID }), {}, 'DeleteEndpoint is idempotent');
  assert.deepEqual(await call('/IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: address.Address.split('/')[0] }), {});
  assert.deepEqual(await call('/NetworkDriver.DeleteNetwork', { NetworkID: NID }), {});
  assert.deepEqual(await call('/IpamDriver.ReleasePool', { PoolID: pool.PoolID }), {});
  const left = Object.keys(await annotations()).filter((k) => k.startsWith('docker.tenet.dev/'));
  assert.deepEqual(left, [], 'network rm and ReleasePool drop every binding');
  assert.match((await call('/NetworkDriver.Join', { NetworkID: NID, EndpointID: EID })).Err, /not a Tenet network/);
});

test("the staging namespace carries the agent's --netns-prefix and is deleted when the agent stops", async () => {
  const staging = stagingNamespaceName(host.hostName, host.dockerSocket, host.prefix);
  assert.ok(staging.startsWith(`${host.prefix}dkr-`), staging);
  const netnsList = async () => (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]);
  const pool = await call('/IpamDriver.RequestPool', { AddressSpace: 'tenet', Options: { tenant: 'acme', network: 'web' }, V6: false });
  const ipv4 = [{ AddressSpace: 'tenet', Pool: pool.Pool, Gateway: pool.Data['com.docker.network.gateway'] }];
  assert.deepEqual(
    await call('/NetworkDriver.CreateNetwork', {
      NetworkID: NID,
      Options: { 'com.docker.network.generic': { tenant: 'acme', network: 'web' } },
      IPv4Data: ipv4,
    }),
    {},
  );
  const address = await call('/IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: null });
  const endpoint = await call('/NetworkDriver.CreateEndpoint', {
    NetworkID: NID,
    EndpointID: EID,
    Interface: { Address: address.Address, AddressIPv6: '', MacAddress: '' },
    Options: {},
  });
  assert.equal(endpoint.Err, undefined, endpoint.Err);
  assert.ok((await netnsList()).includes(staging), 'CreateEndpoint staged in <prefix>dkr-...');
  assert.deepEqual(await call('/NetworkDriver.DeleteEndpoint', { NetworkID: NID, EndpointID: EID }), {});
  assert.deepEqual(await call('/NetworkDriver.DeleteNetwork', { NetworkID: NID }), {});
  assert.deepEqual(await call('/IpamDriver.ReleasePool', { PoolID: pool.PoolID }), {});
  await host.stopAgent();
  try {
    assert.ok(!(await netnsList()).includes(staging), 'the staging namespace went with the agent');
  } finally {
    await host.startAgent();
  }
});

test('the used-address list the IPAM side proposes from: every allocation, readable by agents, not by other tenants', async () => {
  const admin = host.controller.client;
  await createNetwork(host.controller, 'other', 'net', '10.45.0.0/24');
  // Another host's endpoint of a tenant this host does not host: its agent cannot list it, but its address is taken.
  await admin.create({
    apiVersion: 'tenet.dev/v1',
    kind: 'Endpoint',
    metadata: { name: 'far', tenant: 'other' },
    spec: { network: 'net', host: 'far-away' },
  } as never);
  const far = await admin.get<Endpoint>('Endpoint', 'far', 'other');
  const token = async (body: Record<string, string>) => ((await admin.request('POST', '/api/v1/tokens', body)) as { token: string }).token;
  const as = async (body: Record<string, string>) => new TenetClient({ servers: [host.controller.url], token: await token(body) });
  const agent = await as({ role: 'agent', host: host.hostName });
  assert.deepEqual(
    (await agent.list<Endpoint>('Endpoint', { tenant: 'other' })).items,
    [],
    'the agent lists no endpoint of a tenant it does not host',
  );
  assert.deepEqual(await agent.usedAddresses('other', 'net'), [far.status!.ipv4]);
  assert.deepEqual(await admin.usedAddresses('other', 'net'), [far.status!.ipv4]);
  const viewer = await as({ role: 'viewer', tenant: 'acme' });
  await assert.rejects(viewer.usedAddresses('other', 'net'), (e: ApiError) => e.status === 403 || e.status === 404);
  await assert.rejects(admin.usedAddresses('other', 'nope'), (e: ApiError) => e.status === 404);
  await admin.delete('Endpoint', 'far', 'other');
  assert.deepEqual(await admin.usedAddresses('other', 'net'), []);
});
