/**
 * The controller's --cluster-domain reaches the data plane: agents started without one learn it from
 * the controller (GET /version), so a service's status.dnsName is exactly the name the tenant
 * resolver answers, and containers get it in their search list; names under the default domain are
 * no longer the tenant's. An agent given a different --cluster-domain refuses to start.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { uniqueStem } from '../../helpers/netns';
import type { TenetObject } from '../../../src/core/model/object';

const MAIN = path.join(__dirname, '..', '..', '..', 'src', 'cli', 'main.js');

test('agents serve the controller’s --cluster-domain; a mismatching agent refuses to start', async (t) => {
  const lab = await startTestLab(t, 1, { controllerArgs: ['--cluster-domain', 'corp.test'] });
  const c = lab.controller.client;
  await c.apply(tenantObjects('acme', [{ name: 'net', cidrs: ['10.32.0.0/24'] }]));
  const box = await lab.run('box', { host: 'h1', tenant: 'acme', network: 'net' });
  const made: TenetObject = await c.create({
    apiVersion: 'tenet.dev/v1',
    kind: 'Service',
    metadata: { name: 'db', tenant: 'acme' },
    spec: { selector: { matchLabels: { app: 'db' } }, ports: [{ protocol: 'TCP', port: 80 }], virtualIPs: ['10.96.7.7'] },
  });
  const dnsName = (made.status as { dnsName: string }).dnsName;
  assert.equal(dnsName, 'db.acme.svc.corp.test');
  const lookup = async (name: string) =>
    run('ip', ['netns', 'exec', box.netns, 'busybox', 'nslookup', name, '10.32.0.1'], { allowFailure: true, timeoutMs: 10000 });
  await waitUntil('the service name resolves under corp.test', async () => (await lookup(dnsName)).stdout.includes('10.96.7.7'), 15000);
  // The default domain is not the cluster's any more: nothing under it is answered with the VIP.
  const old = await lookup('db.acme.svc.cluster.local');
  assert.ok(!old.stdout.includes('10.96.7.7'), old.stdout);
  // The container's resolv.conf (from the attach result) searches the tenant's names under corp.test.
  const resolv = fs.readFileSync(`/etc/netns/${box.netns}/resolv.conf`, 'utf8');
  assert.match(resolv, /search .*acme\.svc\.corp\.test/);
  // glibc (getent) applies the search list; a short name finds the service.
  const short = await run('ip', ['netns', 'exec', box.netns, 'getent', 'ahosts', 'db'], { allowFailure: true, timeoutMs: 10000 });
  assert.ok(short.stdout.includes('10.96.7.7'), `short name through the search list: ${short.stdout}${short.stderr}`);

  // An agent told another domain than the controller's stops at start, before touching anything.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-cd-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'token'), `${lab.controller.adminToken}\n`, { mode: 0o600 });
  const agent = await run(
    process.execPath,
    [
      MAIN,
      'agent',
      '--controller',
      `unix:${lab.socket}`,
      '--token-file',
      path.join(dir, 'token'),
      '--host',
      'cd-check',
      '--underlay-ip',
      '127.0.0.1',
      '--socket',
      path.join(dir, 'agent.sock'),
      '--netns-prefix',
      uniqueStem('cd'),
      '--cluster-domain',
      'other.test',
    ],
    { allowFailure: true, timeoutMs: 20000 },
  );
  assert.notEqual(agent.code, 0);
  assert.match(agent.stdout + agent.stderr, /--cluster-domain other\.test differs from the controller's cluster domain corp\.test/);
  assert.equal(fs.existsSync(path.join(dir, 'agent.sock')), false, 'it served nothing');
  assert.equal(await c.find('Host', 'cd-check'), undefined, 'it registered nothing');
});
