/**
 * Policies through a real controller and the real CLI: bad policy input is refused with 400 and the
 * reason and changes nothing; `tenet explain` answers from the compiled policy; `tenet k8s import`
 * translates and applies Kubernetes objects; `tenet k8s verdicts` needs no controller.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startController, type RunningController } from '../helpers/controller';
import { expectStatus, networkObj, tenantObj, V } from '../api/api-helpers';
import { runCli } from '../cli/run-cli';
import { mintToken } from '../helpers/http';
import { TenetClient } from '../../src/client/api-client';
import type { TenetObject } from '../../src/core/model/object';

let controller: RunningController;
before(async () => {
  controller = await startController();
  const c = controller.client;
  await c.create({ ...tenantObj('shop'), spec: { defaultPolicy: 'deny' } });
  await c.create(networkObj('shop', 'net', ['10.60.0.0/24']));
  await c.create({
    apiVersion: V,
    kind: 'Group',
    metadata: { name: 'web', tenant: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } } },
  } as TenetObject);
  await c.create({
    apiVersion: V,
    kind: 'Group',
    metadata: { name: 'db', tenant: 'shop' },
    spec: { selector: { matchLabels: { app: 'db' } } },
  } as TenetObject);
  for (const [name, app] of [
    ['web-1', 'web'],
    ['db-1', 'db'],
  ]) {
    await c.create({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name, tenant: 'shop', labels: { app } },
      spec: { network: 'net' },
    } as TenetObject);
  }
});
after(async () => {
  await controller?.stop();
});

function policy(spec: Record<string, unknown>, name = 'p'): TenetObject {
  return {
    apiVersion: V,
    kind: 'Policy',
    metadata: { name, tenant: 'shop' },
    spec: { appliesTo: { group: 'db' }, ...spec },
  } as TenetObject;
}

test('bad policy input is refused with 400 and the reason, and nothing changes', async () => {
  const c = controller.client;
  // History records every intent change (the store revision also moves for audit records).
  const history = (await c.history()).length;
  const cases: Array<[string, TenetObject, RegExp]> = [
    ['unknown group', policy({ ingress: [{ action: 'allow', from: [{ group: 'nope' }] }] }), /group "nope" does not exist/],
    ['unknown appliesTo group', policy({ appliesTo: { group: 'ghost' }, ingress: [] }), /group "ghost" does not exist/],
    ['invalid CIDR', policy({ ingress: [{ action: 'allow', from: [{ cidr: '10.0.0.300/8' }] }] }), /cidr/],
    ['port 0', policy({ ingress: [{ action: 'allow', ports: [{ protocol: 'TCP', port: 0 }] }] }), /port/],
    ['port 70000', policy({ ingress: [{ action: 'allow', ports: [{ protocol: 'TCP', port: 70000 }] }] }), /port/],
    [
      'endPort below port',
      policy({ ingress: [{ action: 'allow', ports: [{ protocol: 'TCP', port: 900, endPort: 800 }] }] }),
      /endPort: 800 is below port 900/,
    ],
    ['rule name with nft metacharacters', policy({ ingress: [{ name: 'x"; flush ruleset; "', action: 'allow' }] }), /name/],
    ['named port with metacharacters', policy({ ingress: [{ action: 'allow', ports: [{ port: 'a;b' }] }] }), /port/],
    ['policy name with metacharacters', { ...policy({ ingress: [] }), metadata: { name: 'a;b', tenant: 'shop' } } as TenetObject, /name/],
  ];
  for (const [what, object, reason] of cases) {
    const error = await expectStatus(c.create(object), 400);
    assert.match(error.describe(), reason, what);
  }
  // The same through apply, mixed with a valid object: the whole request is refused.
  await expectStatus(
    c.apply([
      policy({ ingress: [{ action: 'allow', from: [{ group: 'web' }] }] }, 'fine'),
      policy({ ingress: [{ action: 'allow', from: [{ group: 'nope' }] }] }, 'bad'),
    ]),
    400,
  );
  assert.equal((await c.history()).length, history, 'no intent change happened');
  assert.equal((await c.list('Policy', { tenant: 'shop' })).items.length, 0);
  // A group created in the same request is a valid reference.
  const result = await c.apply([
    { apiVersion: V, kind: 'Group', metadata: { name: 'ops', tenant: 'shop' }, spec: { selector: { matchLabels: { app: 'ops' } } } },
    policy({ ingress: [{ action: 'allow', from: [{ group: 'ops' }] }] }, 'from-ops'),
  ]);
  assert.deepEqual(
    result.results.map((r) => r.action),
    ['created', 'created'],
  );
  await c.delete('Policy', 'from-ops', 'shop');
  await c.delete('Group', 'ops', 'shop');
});

test('tenet explain answers from the compiled policy, naming the rule', async () => {
  const c = controller.client;
  await c.create(
    policy(
      { ingress: [{ name: 'web to postgres', action: 'allow', from: [{ group: 'web' }], ports: [{ protocol: 'TCP', port: 5432 }] }] },
      'db-in',
    ),
  );
  await c.create({
    ...policy({ egress: [{ action: 'allow', to: [{ group: 'db' }] }] }, 'web-out'),
    spec: { appliesTo: { group: 'web' }, egress: [{ action: 'allow', to: [{ group: 'db' }] }] },
  } as TenetObject);
  const yes = await runCli(controller.url, ['explain', '--tenant', 'shop', '--from', 'web-1', '--to', 'db-1', '--port', 'tcp/5432']);
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(yes.stdout, /ALLOWED/);
  assert.match(yes.stdout, /ingress: allow by tenant tier, Policy shop\/db-in, ingress rule 0 "web to postgres"/);
  assert.match(yes.stdout, /egress: allow by tenant tier, Policy shop\/web-out/);
  const no = await runCli(controller.url, [
    'explain',
    '--tenant',
    'shop',
    '--from',
    'web-1',
    '--to',
    'db-1',
    '--port',
    'tcp/22',
    '-o',
    'json',
  ]);
  assert.equal(no.code, 0, no.stderr);
  const parsed = JSON.parse(no.stdout) as { allowed: boolean; ingress: { origin: { action: string } } };
  assert.equal(parsed.allowed, false);
  assert.equal(parsed.ingress.origin.action, 'isolate');
  const back = await runCli(controller.url, ['explain', '--tenant', 'shop', '--from', 'db-1', '--to', 'web-1', '--port', 'tcp/80']);
  assert.match(back.stdout, /DENIED/);
  assert.match(back.stdout, /tenant default \(default-deny\)/);
  const bad = await runCli(controller.url, ['explain', '--tenant', 'shop', '--from', 'web-1', '--to', 'db-1', '--port', 'tcp/0']);
  assert.equal(bad.code, 2);
  const unknown = await runCli(controller.url, ['explain', '--tenant', 'shop', '--from', 'nobody', '--to', 'db-1', '--port', 'tcp/1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /neither an address nor an endpoint/);
});

test('tenet k8s import applies translated objects; verdicts work without a controller', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-k8s-'));
  try {
    const file = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(
      file,
      [
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels:\n    env: prod',
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  podSelector:\n    matchLabels:\n      app: db\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app: web\n    ports:\n    - port: 5432',
        'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: guard\nspec:\n  priority: 5\n  subject:\n    namespaces: {}\n  ingress:\n  - name: no-dev\n    action: Deny\n    from:\n    - namespaces:\n        matchLabels:\n          env: dev',
      ].join('\n---\n'),
    );
    const printed = await runCli(controller.url, ['k8s', 'import', '-f', file, '--tenant', 'shop', '-o', 'json']);
    assert.equal(printed.code, 0, printed.stderr);
    const objects = JSON.parse(printed.stdout) as TenetObject[];
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      ['Scope/prod', 'Policy/np-prod-db', 'GlobalPolicy/shop-anp-guard'],
    );
    const applied = await runCli(controller.url, ['k8s', 'import', '-f', file, '--tenant', 'shop']);
    assert.equal(applied.code, 0, applied.stderr);
    const stored = await controller.client.get<TenetObject>('Policy', 'np-prod-db', 'shop');
    assert.deepEqual((stored.spec as { appliesTo: unknown }).appliesTo, {
      selector: { matchLabels: { app: 'db' } },
      scopeSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prod' } },
    });
    const global = await controller.client.get<TenetObject>('GlobalPolicy', 'shop-anp-guard');
    assert.equal((global.spec as { tier: string }).tier, 'admin');

    fs.writeFileSync(
      path.join(dir, 'bad.yaml'),
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bad\n  namespace: prod\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/99\n',
    );
    const bad = await runCli(controller.url, ['k8s', 'import', '-f', path.join(dir, 'bad.yaml'), '--tenant', 'shop']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a CIDR/);

    const verdicts = await runCli('http://127.0.0.1:1', [
      'k8s',
      'verdicts',
      '--case',
      path.join(__dirname, '..', '..', '..', 'test', 'conformance', 'cases', 'sample-01-ingress-from-one-pod.json'),
      '-o',
      'json',
    ]);
    assert.equal(verdicts.code, 0, verdicts.stderr);
    const list = JSON.parse(verdicts.stdout) as Array<{ from: string; to: string; port: number; protocol: string; allowed: boolean }>;
    const expected = JSON.parse(
      fs.readFileSync(
        path.join(__dirname, '..', '..', '..', 'test', 'conformance', 'cases', 'sample-01-ingress-from-one-pod.expected.json'),
        'utf8',
      ),
    ) as typeof list;
    assert.deepEqual(
      list.map((v) => [v.from, v.to, v.port, v.protocol, v.allowed]),
      expected.map((v) => [v.from, v.to, v.port, v.protocol, v.allowed]),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('apply --dry-run prints the flows that would change verdict and changes nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-impact-'));
  try {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(
      file,
      'apiVersion: tenet.dev/v1\nkind: Policy\nmetadata:\n  name: db-in\n  tenant: shop\nspec:\n  appliesTo:\n    group: db\n  ingress:\n  - action: allow\n    from:\n    - group: web\n    ports:\n    - protocol: TCP\n      port: 6432\n',
    );
    const history = (await controller.client.history()).length;
    const result = await runCli(controller.url, ['apply', '-f', file, '--dry-run']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /flows that would change verdict:/);
    assert.match(result.stdout, /shop: web-1 -> db-1 tcp\/5432: allowed -> denied/);
    assert.match(result.stdout, /shop: web-1 -> db-1 tcp\/6432: denied -> allowed/);
    assert.equal((await controller.client.history()).length, history);
    assert.equal((await controller.client.find('Policy', 'db-in', 'shop')) !== undefined, true, 'the existing db-in is untouched');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a tenant-admin's apply --dry-run shows the impact too (computed by the controller, GlobalPolicies included)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-impact-ta-'));
  try {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(
      file,
      'apiVersion: tenet.dev/v1\nkind: Policy\nmetadata:\n  name: db-in\n  tenant: shop\nspec:\n  appliesTo:\n    group: db\n  ingress:\n  - action: allow\n    from:\n    - group: web\n    ports:\n    - protocol: TCP\n      port: 6432\n',
    );
    const { token } = await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'shop' });
    // The tenant-admin may not read GlobalPolicies, which is why the CLI could not judge flows for it before.
    assert.equal((await runCli(controller.url, ['get', 'globalpolicies'], { env: { TENET_TOKEN: token } })).code !== 0, true);
    const history = (await controller.client.history()).length;
    const result = await runCli(controller.url, ['apply', '-f', file, '--dry-run'], { env: { TENET_TOKEN: token } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /policy\/shop\/db-in configured \(dry run\)/);
    assert.match(result.stdout, /flows that would change verdict:/);
    assert.match(result.stdout, /shop: web-1 -> db-1 tcp\/5432: allowed -> denied/);
    assert.match(result.stdout, /shop: web-1 -> db-1 tcp\/6432: denied -> allowed/);
    assert.equal((await controller.client.history()).length, history, 'a dry run changes nothing');
    // The answer itself carries the impact, for any client.
    const answer = await new TenetClient({ servers: [controller.url], token }).apply(
      [
        {
          apiVersion: V,
          kind: 'Policy',
          metadata: { name: 'db-in', tenant: 'shop' },
          spec: {
            appliesTo: { group: 'db' },
            ingress: [{ action: 'allow', from: [{ group: 'web' }], ports: [{ protocol: 'TCP', port: 6432 }] }],
          },
        },
      ],
      { dryRun: true },
    );
    assert.deepEqual(
      (answer.impact ?? []).map((c) => `${c.tenant} ${c.from}->${c.to} ${c.protocol}/${c.port} ${c.before}->${c.after}`).sort(),
      ['shop web-1->db-1 tcp/5432 true->false', 'shop web-1->db-1 tcp/6432 false->true'],
    );
    assert.equal(answer.revision, null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
