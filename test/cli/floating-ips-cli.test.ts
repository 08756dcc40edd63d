/**
 * `tenet get floatingips` and `describe floatingip`: ADDRESS, TARGET, HOST and ADVERTISED, the last
 * from what the hosts' agents report (Host status.floatingIPs: read back from BIRD, or the proxy entry
 * made), never from the binding alone. The real-packet counterpart is test/kernel/external/floating-ip.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken, send } from '../helpers/http';
import { controllerForFile, createShopNetwork } from './shop-fixture';
import { runCli } from './run-cli';

const V = 'tenet.dev/v1';
const controller = controllerForFile();

test('get floatingips shows address, target, host and how each is advertised (as the hosts report it); describe too', async () => {
  const c = controller().client;
  await createShopNetwork(c, '10.5.0.0/24');
  for (const [name, ip] of [
    ['h1', '192.0.2.11'],
    ['h2', '192.0.2.12'],
  ])
    await c.create({ apiVersion: V, kind: 'Host', metadata: { name }, spec: { underlayIP: ip } });
  await c.create({ apiVersion: V, kind: 'Endpoint', metadata: { name: 'w1', tenant: 'shop' }, spec: { network: 'net', host: 'h1' } });
  await c.create({ apiVersion: V, kind: 'Endpoint', metadata: { name: 'w2', tenant: 'shop' }, spec: { network: 'net', host: 'h2' } });
  await c.create({ apiVersion: V, kind: 'FloatingIPPool', metadata: { name: 'public' }, spec: { cidrs: ['198.18.100.0/24'] } });
  await c.create({
    apiVersion: V,
    kind: 'FloatingIPPool',
    metadata: { name: 'lan' },
    spec: { cidrs: ['192.0.2.200/29'], advertise: 'l2' },
  });
  for (const [name, endpoint, pool] of [
    ['web', 'w2', 'public'],
    ['lan', 'w1', 'lan'],
    ['idle', 'w1', 'public'],
  ])
    await c.create({ apiVersion: V, kind: 'FloatingIP', metadata: { name, tenant: 'shop' }, spec: { pool, target: { endpoint } } });

  const rows = async (): Promise<Map<string, string>> => {
    const got = await runCli(controller().url, ['get', 'floatingips', '--tenant', 'shop']);
    assert.equal(got.code, 0, got.stderr);
    const [header, ...lines] = got.stdout.trim().split('\n');
    assert.match(header, /^NAME\s+ADDRESS\s+TARGET\s+HOST\s+ADVERTISED\s+AGE/);
    return new Map(lines.map((l) => [l.split(/\s+/)[0], l]));
  };
  // Bound, but no host reports announcing anything yet: not advertised.
  let listed = await rows();
  assert.match(listed.get('web')!, /^web\s+198\.18\.100\.1\s+endpoint\/w2\s+h2\s+no\s/);
  assert.match(listed.get('lan')!, /^lan\s+192\.0\.2\.201\s+endpoint\/w1\s+h1\s+no\s/);

  // The agents report what they really advertise (each with its own host's credentials).
  const report = async (host: string, floatingIPs: { address: string; via: string }[]): Promise<number> => {
    const token = (await mintToken(controller().url, controller().adminToken, { role: 'agent', host })).token;
    const put = await send(controller().url, 'PUT', `/api/v1/hosts/${host}/status`, {
      token,
      body: { status: { ready: true, floatingIPs } },
    });
    return put.status;
  };
  assert.equal(await report('h2', [{ address: '198.18.100.1', via: 'bgp' }]), 200);
  assert.equal(await report('h1', [{ address: '192.0.2.201', via: 'l2' }]), 200);
  listed = await rows();
  assert.match(listed.get('web')!, /^web\s+198\.18\.100\.1\s+endpoint\/w2\s+h2\s+BGP from h2\s/);
  assert.match(listed.get('lan')!, /^lan\s+192\.0\.2\.201\s+endpoint\/w1\s+h1\s+ARP on h1\s/);
  assert.match(listed.get('idle')!, /^idle\s+198\.18\.100\.2\s+endpoint\/w1\s+h1\s+no\s/, 'bound but announced by nobody');

  const described = await runCli(controller().url, ['describe', 'floatingip', 'web', '--tenant', 'shop']);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /Address:\s+198\.18\.100\.1/);
  assert.match(described.stdout, /Host:\s+h2/);
  assert.match(described.stdout, /Advertised: BGP from h2/);
  const json = JSON.parse((await runCli(controller().url, ['get', 'floatingip', 'web', '--tenant', 'shop', '-o', 'json'])).stdout) as {
    status: { advertised?: unknown };
  };
  assert.deepEqual(json.status.advertised, [{ host: 'h2', via: 'bgp' }]);

  // A service's floating IP announced by two hosts: both are named.
  assert.equal(await report('h1', [{ address: '198.18.100.1', via: 'bgp' }]), 200);
  assert.match((await rows()).get('web')!, /\sBGP from h1,h2\s/);

  // An agent cannot report for another host, and a report with a bad field is refused and changes nothing.
  const h1Token = (await mintToken(controller().url, controller().adminToken, { role: 'agent', host: 'h1' })).token;
  const forged = await send(controller().url, 'PUT', '/api/v1/hosts/h2/status', {
    token: h1Token,
    body: { status: { ready: true, floatingIPs: [{ address: '198.18.100.2', via: 'bgp' }] } },
  });
  assert.equal(forged.status, 403);
  const bad = await send(controller().url, 'PUT', '/api/v1/hosts/h1/status', {
    token: h1Token,
    body: { status: { ready: true, floatingIPs: [{ address: '198.18.100.2', via: 'carrier-pigeon' }] } },
  });
  assert.equal(bad.status, 400);
  assert.match((await rows()).get('idle')!, /\sno\s/);

  // Withdrawn: the host reports nothing more, and the column says so.
  assert.equal(await report('h1', []), 200);
  assert.equal(await report('h2', []), 200);
  assert.match((await rows()).get('web')!, /^web\s+198\.18\.100\.1\s+endpoint\/w2\s+h2\s+no\s/);
});
