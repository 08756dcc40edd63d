/**
 * `tenet k8s import` through the real CLI and a real controller: a file holding only a
 * NetworkPolicy must not rewrite the labels of the namespace (Scope) it names — rewriting wiped
 * `env: prod`, which switched off an AdminNetworkPolicy (dev -> prod tcp/80 went from denied to allowed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startController, type RunningController } from '../helpers/controller';
import { runCli } from './run-cli';
import { createShop } from './shop-fixture';
import type { TenetObject } from '../../src/core/model/object';
import { resolveKind } from '../../src/core/model/registry';

let controller: RunningController;
let dir: string;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-k8s-import-'));
  controller = await startController();
  const c = controller.client;
  await createShop(c, '10.61.0.0/24');
});
after(async () => {
  await controller?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, docs: string[]): string {
  const full = path.join(dir, name);
  fs.writeFileSync(full, docs.join('\n---\n'));
  return full;
}

async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out = await runCli(controller.url, args);
  assert.equal(out.code, 0, `tenet ${args.join(' ')}: ${out.stderr}`);
  return out;
}

async function devToProd80(): Promise<string> {
  const { stdout } = await cli(['explain', '--tenant', 'shop', '--from', 'web-dev', '--to', 'api-prod', '--port', 'tcp/80']);
  return /ALLOWED/.test(stdout) ? 'allowed' : /DENIED/.test(stdout) ? 'denied' : stdout;
}

async function scopeLabels(name: string): Promise<Record<string, string> | undefined> {
  return (await controller.client.get<TenetObject>('Scope', name, 'shop')).metadata.labels;
}

const ANP = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: guard
spec:
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
    ports:
    - portNumber:
        protocol: TCP
        port: 80`;

const NP_PROD = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: prod
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {}
    ports:
    - port: 80`;

const NP_STAGING = NP_PROD.replace('namespace: prod', 'namespace: staging');

test('importing a NetworkPolicy alone keeps the labels of its namespace, so the AdminNetworkPolicy keeps denying', async () => {
  await cli(['k8s', 'import', '-f', file('anp.yaml', [ANP]), '--tenant', 'shop']);
  assert.equal(await devToProd80(), 'denied', 'the admin tier denies dev -> prod tcp/80');
  const prodBefore = await scopeLabels('prod');

  const policyOnly = file('np.yaml', [NP_PROD, NP_STAGING]);
  const printed = await runCli(controller.url, ['k8s', 'import', '-f', policyOnly, '--tenant', 'shop', '-o', 'json']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.deepEqual(
    (JSON.parse(printed.stdout) as TenetObject[]).map((o) => `${o.kind}/${o.metadata.name}`),
    ['Policy/np-prod-web', 'Policy/np-staging-web'],
    'no Scope is printed for a namespace the file only names',
  );
  assert.match(printed.stderr, /prod, staging/);

  // The import prints apply's lines (`policy/shop/np-prod-web created (dry run)`), read back as Kind/name action.
  const results = (out: string) =>
    out
      .split('\n')
      .map((line) => /^([a-z]+)\/(?:[^/\s]+\/)?(\S+) (created|configured|unchanged|deleted)(?: \(dry run\))?$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${resolveKind(m[1])!.kind}/${m[2]} ${m[3]}`);
  const dry = await cli(['k8s', 'import', '-f', policyOnly, '--tenant', 'shop', '--dry-run']);
  assert.deepEqual(
    results(dry.stdout),
    ['Scope/staging created', 'Policy/np-prod-web created', 'Policy/np-staging-web created'],
    'prod is not part of the apply',
  );
  assert.equal(await controller.client.find('Scope', 'staging', 'shop'), undefined, 'a dry run creates nothing');

  const applied = await cli(['k8s', 'import', '-f', policyOnly, '--tenant', 'shop']);
  assert.deepEqual(results(applied.stdout), results(dry.stdout));
  assert.equal(applied.stderr.includes('warning'), false, applied.stderr);
  assert.deepEqual(await scopeLabels('prod'), prodBefore, 'prod keeps env: prod');
  assert.deepEqual(
    await scopeLabels('staging'),
    { 'kubernetes.io/metadata.name': 'staging' },
    'a missing namespace is created with its name label',
  );
  assert.equal(await devToProd80(), 'denied', 'dev -> prod tcp/80 is still denied after the import');

  // A second import changes nothing at all.
  const again = await cli(['k8s', 'import', '-f', policyOnly, '--tenant', 'shop']);
  assert.deepEqual(results(again.stdout), ['Policy/np-prod-web unchanged', 'Policy/np-staging-web unchanged']);

  // A scope made by hand without the name label is reported, and left alone.
  await controller.client.update({
    ...(await controller.client.get<TenetObject>('Scope', 'staging', 'shop')),
    metadata: { name: 'staging', tenant: 'shop', labels: { env: 'staging' } },
  } as TenetObject);
  const warned = await cli(['k8s', 'import', '-f', policyOnly, '--tenant', 'shop']);
  assert.match(warned.stderr, /warning: .*staging \(kubernetes\.io\/metadata\.name=staging\)/);
  assert.deepEqual(await scopeLabels('staging'), { env: 'staging' });
});

test('a Namespace in the file decides its labels', async () => {
  const withNamespace = file('ns.yaml', ['apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels:\n    tier: web', NP_PROD]);
  await cli(['k8s', 'import', '-f', withNamespace, '--tenant', 'shop']);
  assert.deepEqual(await scopeLabels('prod'), { tier: 'web', 'kubernetes.io/metadata.name': 'prod' });
  assert.equal(await devToProd80(), 'allowed', 'without env: prod the admin policy no longer selects prod, as the file says');
});
