/** `tenet get services` (VIPs, ports, ready backends, realized hosts) and `describe service` (backends with hosts and target ports). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controllerForFile, createShopNetwork } from './shop-fixture';
import { runCli, streamCli } from './run-cli';

const V = 'tenet.dev/v1';
const controller = controllerForFile();

test('get services shows VIPs, ports, ready backends and hosts; describe lists backends with host and resolved target ports; explain --to service/NAME judges each backend after translation', async () => {
  const c = controller().client;
  await createShopNetwork(c, '10.5.0.0/24');
  await c.create({ apiVersion: V, kind: 'Host', metadata: { name: 'h1' }, spec: { underlayIP: '192.0.2.10' } });
  await c.create({
    apiVersion: V,
    kind: 'Service',
    metadata: { name: 'db', tenant: 'shop' },
    spec: {
      selector: { matchLabels: { app: 'db' } },
      ports: [{ name: 'pg', protocol: 'TCP', port: 80, targetPort: 'pg' }],
      virtualIPs: ['10.96.0.7'],
    },
  });
  for (const [name, port] of [
    ['db1', 5432],
    ['db2', 6432],
  ] as const) {
    await c.create({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name, tenant: 'shop', labels: { app: 'db' } },
      spec: { network: 'net', host: 'h1', ports: [{ name: 'pg', port, protocol: 'TCP' }] },
    });
  }
  await c.updateStatus('Endpoint', 'db1', 'shop', { phase: 'ready' });
  await c.updateStatus('Host', 'h1', undefined, { ready: true, serviceTenants: ['shop'] });
  const got = await runCli(controller().url, ['get', 'services', '--tenant', 'shop']);
  assert.equal(got.code, 0, got.stderr);
  const [header, row] = got.stdout.trim().split('\n');
  assert.match(header, /VIRTUAL-IPS\s+PORTS\s+READY\s+HOSTS/);
  assert.match(row, /^db\s+10\.96\.0\.7\s+\S*80\S*\s+1\s+1\b/);
  const described = await runCli(controller().url, ['describe', 'service', 'db', '--tenant', 'shop']);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /Backends:/);
  assert.match(described.stdout, /db1\s+net\s+10\.5\.0\.\d+\s+-\s+ready\s+h1\s+80\/tcp->5432/);
  assert.match(described.stdout, /db2\s+net\s+10\.5\.0\.\d+\s+-\s+pending\s+h1\s+80\/tcp->6432/);

  // explain through the VIP: the flow to each ready backend on its target port, judged by the policy after translation.
  for (const [name, app] of [
    ['api', 'api'],
    ['web', 'web'],
  ] as const) {
    await c.create({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name, tenant: 'shop', labels: { app } },
      spec: { network: 'net', host: 'h1' },
    });
  }
  await c.create({
    apiVersion: V,
    kind: 'Policy',
    metadata: { name: 'db-from-api', tenant: 'shop' },
    spec: {
      appliesTo: { selector: { matchLabels: { app: 'db' } } },
      ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
  });
  const explain = (from: string) =>
    runCli(controller().url, ['explain', '--tenant', 'shop', '--from', from, '--to', 'service/db', '--port', 'tcp/80']);
  const api = await explain('api');
  assert.equal(api.code, 0, api.stderr);
  assert.match(api.stdout, /service db \(10\.96\.0\.7\) tcp\/80 -> backend db1 on h1 tcp\/5432/);
  assert.doesNotMatch(api.stdout, /db2/, 'db2 is not ready: no backend');
  assert.match(api.stdout, /-> db1 \(10\.5\.0\.\d+\) tcp\/5432: ALLOWED/);
  assert.doesNotMatch(api.stdout, /DENIED/);
  assert.match(api.stdout, /db-from-api/);
  const web = await explain('web');
  assert.equal(web.code, 0, web.stderr);
  assert.match(web.stdout, /-> db1 \(10\.5\.0\.\d+\) tcp\/5432: DENIED/);
  assert.doesNotMatch(web.stdout, /ALLOWED/);
  const wrong = await runCli(controller().url, ['explain', '--tenant', 'shop', '--from', 'api', '--to', 'service/db', '--port', 'tcp/81']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /service "db" has no port tcp\/81 \(it has tcp\/80\)/);
});

test(
  'get services -w: new services with their VIPs, READY following the endpoints, HOSTS the hosts, deletions',
  { timeout: 60000 },
  async () => {
    const c = controller().client;
    await c.create({ apiVersion: V, kind: 'Tenant', metadata: { name: 'wshop' }, spec: {} });
    await c.create({
      apiVersion: V,
      kind: 'Network',
      metadata: { name: 'net', tenant: 'wshop' },
      spec: { subnets: [{ cidr: '10.6.0.0/24' }] },
    });
    await c.create({ apiVersion: V, kind: 'Host', metadata: { name: 'wh1' }, spec: { underlayIP: '192.0.2.11' } });
    await c.create({
      apiVersion: V,
      kind: 'Service',
      metadata: { name: 'old', tenant: 'wshop' },
      spec: { selector: { matchLabels: { app: 'old' } }, ports: [{ protocol: 'TCP', port: 81 }], virtualIPs: ['10.96.1.1'] },
    });
    const watch = streamCli(controller().url, ['get', 'services', '--tenant', 'wshop', '-w']);
    try {
      await watch.waitFor(/^ADDED +old +10\.96\.1\.1 +\S*81\S* +0 +0\b/);
      await c.create({
        apiVersion: V,
        kind: 'Service',
        metadata: { name: 'web', tenant: 'wshop' },
        spec: { selector: { matchLabels: { app: 'web' } }, ports: [{ protocol: 'TCP', port: 80 }], virtualIPs: ['10.96.1.2'] },
      });
      // A new service: its VIP and computed columns (none ready yet), not empty ones.
      await watch.waitFor(/^ADDED +web +10\.96\.1\.2 +\S*80\S* +0 +0\b/);
      await c.create({
        apiVersion: V,
        kind: 'Endpoint',
        metadata: { name: 'w1', tenant: 'wshop', labels: { app: 'web' } },
        spec: { network: 'net', host: 'wh1' },
      });
      await c.updateStatus('Endpoint', 'w1', 'wshop', { phase: 'ready' });
      // The service itself did not change: its READY column did.
      await watch.waitFor(/^MODIFIED +web +10\.96\.1\.2 +\S*80\S* +1 +0\b/);
      await c.updateStatus('Host', 'wh1', undefined, { ready: true, serviceTenants: ['wshop'] });
      await watch.waitFor(/^MODIFIED +web +10\.96\.1\.2 +\S*80\S* +1 +1\b/);
      await c.delete('Endpoint', 'w1', 'wshop');
      await watch.waitFor(/^MODIFIED +web +10\.96\.1\.2 +\S*80\S* +0 +1\b/);
      await c.delete('Service', 'web', 'wshop');
      await watch.waitFor(/^DELETED +web /);
    } finally {
      const result = await watch.stop();
      assert.equal(result.code, 0, result.stderr);
    }
    // "old" changed only in HOSTS (the host realizes its tenant now): one ADDED, one MODIFIED, nothing for the endpoint churn of "web".
    const old = watch
      .output()
      .split('\n')
      .filter((l) => /^\S+ +old /.test(l));
    assert.equal(old.length, 2, watch.output());
    assert.match(old[1], /^MODIFIED +old +10\.96\.1\.1 +\S*81\S* +0 +1\b/);
  },
);
