/**
 * ClusterNetworkPolicy through the real CLI and a real controller: `tenet k8s import` (dry run with
 * its impact preview, then for real), `tenet explain` on the GlobalPolicies it produced (pods and a
 * node peer), `tenet export` round-tripping them, and a refused object changing nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startController, type RunningController } from '../helpers/controller';
import { V } from '../api/api-helpers';
import { runCli } from './run-cli';
import { createShop } from './shop-fixture';
import type { TenetObject } from '../../src/core/model/object';

let controller: RunningController;
let dir: string;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-k8s-cnp-'));
  controller = await startController();
  const c = controller.client;
  await createShop(c, '10.62.0.0/24');
  await c.create({
    apiVersion: V,
    kind: 'Host',
    metadata: { name: 'worker-1', labels: { role: 'worker' } },
    spec: { underlayIP: '192.0.2.21' },
  } as TenetObject);
  await c.create({
    apiVersion: V,
    kind: 'Host',
    metadata: { name: 'control-1', labels: { role: 'control' } },
    spec: { underlayIP: '192.0.2.11' },
  } as TenetObject);
});
after(async () => {
  await controller?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const full = path.join(dir, name);
  fs.writeFileSync(full, text);
  return full;
}

async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out = await runCli(controller.url, args);
  assert.equal(out.code, 0, `tenet ${args.join(' ')}: ${out.stderr}`);
  return out;
}

const explain = async (from: string, to: string, port: string) =>
  (await cli(['explain', '--tenant', 'shop', '--from', from, '--to', to, '--port', port])).stdout;

const CNP = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: guard
spec:
  tier: Admin
  priority: 5
  subject:
    namespaces:
      matchLabels:
        env: prod
  ingress:
  - name: no-dev
    action: Deny
    from:
    - namespaces:
        matchLabels:
          env: dev
    protocols:
    - tcp:
        destinationPort:
          number: 80
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: nodes
spec:
  tier: Baseline
  priority: 20
  subject:
    pods:
      namespaceSelector: {}
      podSelector:
        matchLabels:
          app: web
  egress:
  - name: kubelet-on-workers
    action: Accept
    to:
    - nodes:
        matchLabels:
          role: worker
    protocols:
    - tcp:
        destinationPort:
          range:
            start: 10250
            end: 10259
  - name: no-nodes
    action: Deny
    to:
    - nodes: {}
`;

/** The object lines `k8s import` prints (as apply does): `kind/name action`, without a dry run's suffix. */
function results(out: string): string[] {
  return out
    .split('\n')
    .map((line) => /^([a-z]+\/\S+ (?:created|configured|unchanged|deleted))(?: \(dry run\))?$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined);
}

test('import (dry run with impact, then for real), explain, export round trip', async () => {
  const cnpFile = file('cnp.yaml', CNP);
  assert.match(await explain('web-dev', 'api-prod', 'tcp/80'), /ALLOWED/);

  const dry = (await cli(['k8s', 'import', '-f', cnpFile, '--tenant', 'shop', '--dry-run'])).stdout;
  assert.deepEqual(results(dry), ['globalpolicy/shop-cnp-guard created', 'globalpolicy/shop-cnp-nodes created']);
  assert.match(
    dry,
    /^ {2}shop: web-dev -> api-prod tcp\/80: allowed -> denied/m,
    `the preview names dev -> prod tcp/80 going from allowed to denied:\n${dry}`,
  );
  assert.equal(await controller.client.find('GlobalPolicy', 'shop-cnp-guard'), undefined, 'a dry run creates nothing');

  await cli(['k8s', 'import', '-f', cnpFile, '--tenant', 'shop']);
  const denied = await explain('web-dev', 'api-prod', 'tcp/80');
  assert.match(denied, /DENIED/);
  assert.match(denied, /admin tier, GlobalPolicy shop-cnp-guard, ingress rule 0 "no-dev"/);
  assert.match(await explain('web-dev', 'api-prod', 'tcp/81'), /ALLOWED/);
  // The node peer: the worker's underlay address on the kubelet range, every Host's otherwise.
  assert.match(
    await explain('web-dev', '192.0.2.21', 'tcp/10250'),
    /ALLOWED[\s\S]*baseline tier, GlobalPolicy shop-cnp-nodes, egress rule 0 "kubelet-on-workers"/,
  );
  assert.match(await explain('web-dev', '192.0.2.11', 'tcp/10250'), /DENIED[\s\S]*egress rule 1 "no-nodes"/);
  assert.match(await explain('web-dev', '192.0.2.99', 'tcp/10250'), /ALLOWED/, 'an address no Host has is no node');
  assert.match(await explain('api-prod', '192.0.2.11', 'tcp/10250'), /ALLOWED/, 'not a subject');

  // Export, delete, re-apply the export: the same GlobalPolicies, the same verdicts.
  const exported = (await cli(['export'])).stdout;
  const globals = parseAllDocuments(exported)
    .map((d) => d.toJS() as TenetObject)
    .filter((o) => o?.kind === 'GlobalPolicy');
  assert.deepEqual(
    globals.map((g) => g.metadata.name),
    ['shop-cnp-guard', 'shop-cnp-nodes'],
  );
  const stored = await Promise.all(globals.map((g) => controller.client.get<TenetObject>('GlobalPolicy', g.metadata.name)));
  for (const name of ['shop-cnp-guard', 'shop-cnp-nodes']) await cli(['delete', 'globalpolicy', name]);
  assert.match(await explain('web-dev', 'api-prod', 'tcp/80'), /ALLOWED/);
  await cli(['apply', '-f', file('export.yaml', exported)]);
  for (const before of stored) {
    const now = await controller.client.get<TenetObject>('GlobalPolicy', before.metadata.name);
    assert.deepEqual((now as { spec: unknown }).spec, (before as { spec: unknown }).spec);
    assert.deepEqual(now.metadata.annotations, before.metadata.annotations);
  }
  assert.match(await explain('web-dev', 'api-prod', 'tcp/80'), /DENIED[\s\S]*shop-cnp-guard/);
  assert.match(await explain('web-dev', '192.0.2.11', 'tcp/10250'), /DENIED[\s\S]*no-nodes/);
  // And importing the same file again changes nothing.
  const again = (await cli(['k8s', 'import', '-f', cnpFile, '--tenant', 'shop'])).stdout;
  assert.deepEqual(results(again), ['globalpolicy/shop-cnp-guard unchanged', 'globalpolicy/shop-cnp-nodes unchanged']);
});

test('a refused ClusterNetworkPolicy names the field and the reason, and nothing of the file is applied', async () => {
  const bad = file(
    'bad.yaml',
    `${CNP.replace(/name: guard/, 'name: guard-2').replace(/name: nodes/, 'name: dns')}---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: domains
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Accept
    to:
    - domainNames: ["*.example.com"]
`,
  );
  const out = await runCli(controller.url, ['k8s', 'import', '-f', bad, '--tenant', 'shop']);
  assert.equal(out.code, 2, out.stderr);
  assert.match(
    out.stderr,
    /ClusterNetworkPolicy domains: spec\.egress\[0\]\.to\[0\]\.domainNames: domain-name peers are not supported yet/,
  );
  assert.equal(await controller.client.find('GlobalPolicy', 'shop-cnp-guard-2'), undefined, 'nothing imported');
});

test('hostile tenant: a tenant-admin can neither import a ClusterNetworkPolicy nor select Hosts from a tenant Policy', async () => {
  const created = await runCli(controller.url, ['token', 'create', '--role', 'tenant-admin', '--tenant', 'shop', '--ttl', '1h']);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  const asTenant = { TENET_TOKEN: token };
  const before = (await controller.client.list<TenetObject>('GlobalPolicy')).items.map((g) => g.metadata.name).sort();

  // Cluster-wide policies are the admin's: the import is refused and writes nothing.
  const sneaky = file('sneaky.yaml', CNP.replace(/name: guard/, 'name: open-all').replace(/name: nodes/, 'name: open-nodes'));
  const imported = await runCli(controller.url, ['k8s', 'import', '-f', sneaky, '--tenant', 'shop'], { env: asTenant });
  assert.notEqual(imported.code, 0, 'a tenant-admin may not write GlobalPolicies');
  assert.deepEqual((await controller.client.list<TenetObject>('GlobalPolicy')).items.map((g) => g.metadata.name).sort(), before);

  // A tenant Policy reaching for the Hosts (the underlay) is refused by validation.
  const policy = file(
    'host-policy.yaml',
    `apiVersion: tenet.dev/v1
kind: Policy
metadata:
  name: to-hosts
  tenant: shop
spec:
  appliesTo: {}
  egress:
  - action: allow
    to:
    - hostSelector: {}
`,
  );
  const applied = await runCli(controller.url, ['apply', '-f', policy], { env: asTenant });
  assert.notEqual(applied.code, 0);
  assert.match(applied.stderr, /hostSelector: only for GlobalPolicy/);
  assert.equal(await controller.client.find('Policy', 'to-hosts', 'shop'), undefined);
});
