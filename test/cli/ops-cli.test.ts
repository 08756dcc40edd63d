/**
 * Operator tools of issue 15, end to end through the real `bin/tenet` against a real controller:
 * computed columns, apply --prune and diff of live-only objects, output formats, completion,
 * config commands, dry runs, k8s import from stdin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startController, type RunningController } from '../helpers/controller';
import { runCli, type CliResult } from './run-cli';
import { endpointObj, networkObj, tenantObj, V } from '../api/api-helpers';
import { mintToken } from '../helpers/http';

let controller: RunningController;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tenet-ops-cli-${process.pid}-`));
before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli(controller.url, args, options);
}

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

function write(name: string, text: string): string {
  const file = path.join(workDir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

test('get networks -o wide shows ALLOCATED and get groups shows MEMBERS, as describe does', async () => {
  const c = controller.client;
  await c.create(tenantObj('cols'));
  await c.create(networkObj('cols', 'web', ['10.30.0.0/24']));
  await c.create(networkObj('cols', 'other', ['10.31.0.0/24']));
  await c.create({
    apiVersion: V,
    kind: 'Group',
    metadata: { name: 'web', tenant: 'cols' },
    spec: { selector: { matchLabels: { app: 'web' } } },
  });
  await c.create(endpointObj('cols', 'web', 'w1', {}, { app: 'web' }));
  await c.create(endpointObj('cols', 'web', 'w2', {}, { app: 'web' }));
  await c.create(endpointObj('cols', 'web', 'd1', {}, { app: 'db' }));
  const nets = ok(await cli(['get', 'networks', '--tenant', 'cols', '-o', 'wide']), 'get networks -o wide').split('\n');
  const header = nets[0].split(/\s{2,}/);
  const allocated = header.indexOf('ALLOCATED');
  assert.ok(allocated > 0, nets[0]);
  const row = (name: string) => nets.find((l) => l.startsWith(`${name} `))!.split(/\s{2,}/);
  assert.equal(row('web')[allocated], '3');
  assert.equal(row('other')[allocated], '0');
  const groups = ok(await cli(['get', 'groups', '--tenant', 'cols']), 'get groups').split('\n');
  const members = groups[0].split(/\s{2,}/).indexOf('MEMBERS');
  assert.equal(groups.find((l) => l.startsWith('web '))!.split(/\s{2,}/)[members], '2');
  const described = ok(await cli(['describe', 'network', 'cols/web']), 'describe');
  assert.match(described, /IPv4 used: +3 of/);
});

const SET_DOCS = {
  tenant: `apiVersion: tenet.dev/v1\nkind: Tenant\nmetadata: {name: pr}\nspec: {}\n`,
  net: `apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: web, tenant: pr}\nspec: {subnets: [{cidr: 10.40.0.0/24}]}\n`,
  groupA: `apiVersion: tenet.dev/v1\nkind: Group\nmetadata: {name: a, tenant: pr}\nspec: {selector: {matchLabels: {app: a}}}\n`,
  groupB: `apiVersion: tenet.dev/v1\nkind: Group\nmetadata: {name: b, tenant: pr}\nspec: {selector: {matchLabels: {app: b}}}\n`,
};

test('apply --applyset --prune deletes exactly the set objects the files dropped, never an Endpoint; diff --applyset exits 1 for them', async () => {
  const c = controller.client;
  const all = write('set/all.yaml', [SET_DOCS.tenant, SET_DOCS.net, SET_DOCS.groupA, SET_DOCS.groupB].join('---\n'));
  const created = ok(await cli(['apply', '-f', all, '--applyset', 'prod', '--prune']), 'first apply');
  assert.deepEqual(created.trim().split('\n').sort(), [
    'group/pr/a created',
    'group/pr/b created',
    'network/pr/web created',
    'tenant/pr created',
  ]);
  // Not of the set: a group applied without --applyset, and an endpoint that even carries the set's label.
  ok(await cli(['apply', '-f', write('set/outside.yaml', SET_DOCS.groupB.replace('name: b', 'name: outside'))]), 'apply outside');
  await c.create(endpointObj('pr', 'web', 'ep-1', {}, { 'applyset.tenet.dev/part-of': 'prod', app: 'a' }));

  const fewer = write('set/fewer.yaml', [SET_DOCS.tenant, SET_DOCS.net, SET_DOCS.groupA].join('---\n'));
  const diff = await cli(['diff', '-f', fewer, '--applyset', 'prod']);
  assert.equal(diff.code, 1, `diff: ${diff.stdout} ${diff.stderr}`);
  assert.match(diff.stdout, /^--- live\/group\/pr\/b$/m);
  assert.match(diff.stdout, /^\+\+\+ \/dev\/null$/m);
  assert.doesNotMatch(diff.stdout, /endpoint|outside/);
  assert.equal((await cli(['diff', '-f', all, '--applyset', 'prod'])).code, 0, 'in sync with the full set');

  const dry = ok(await cli(['apply', '-f', fewer, '--applyset', 'prod', '--prune', '--dry-run']), 'dry-run prune');
  assert.match(dry, /^group\/pr\/b pruned \(dry run\)$/m);
  assert.equal((dry.match(/pruned/g) ?? []).length, 1, dry);
  assert.ok(await c.find('Group', 'b', 'pr'), 'a dry run deletes nothing');

  const pruned = ok(await cli(['apply', '-f', fewer, '--applyset', 'prod', '--prune']), 'prune');
  assert.deepEqual(
    pruned
      .trim()
      .split('\n')
      .filter((l) => l.includes('pruned')),
    ['group/pr/b pruned'],
  );
  assert.equal(await c.find('Group', 'b', 'pr'), undefined);
  assert.ok(await c.find('Group', 'outside', 'pr'), 'an object outside the set stays');
  assert.ok(await c.find('Endpoint', 'ep-1', 'pr'), 'an endpoint is never pruned');
  assert.ok(await c.find('Group', 'a', 'pr'));

  // --prune alone is refused: without a set there is nothing safe to prune.
  const bare = await cli(['apply', '-f', fewer, '--prune']);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /--prune needs --applyset/);
  // An object of another set is not taken over.
  const other = await cli(['apply', '-f', write('set/steal.yaml', SET_DOCS.groupA), '--applyset', 'staging']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /group\/pr\/a belongs to applyset prod/);
  assert.equal((await c.get('Group', 'a', 'pr')).metadata.labels?.['applyset.tenet.dev/part-of'], 'prod');
});

test('validation problems come all at once, one per line, in words (path, problem, allowed values)', async () => {
  const file = write(
    'bad/policy.yaml',
    `apiVersion: tenet.dev/v1
kind: Policy
metadata: {name: p, tenant: acme, colour: red}
spec:
  priority: high
  appliesTo: {}
  ingress:
    - action: allw
      ports: [{protocol: TCP, port: 70000}]
---
apiVersion: tenet.dev/v1
kind: Network
metadata: {name: n, tenant: acme}
spec:
  mtu: 100
  subnets: [{cidr: 10.0.0.5/24}]
`,
  );
  const result = await cli(['apply', '-f', file]);
  assert.equal(result.code, 1);
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines[0], /^error: invalid manifests \(6 problems, nothing was sent\):$/);
  const problems = lines.slice(1).map((l) => l.replace(/^ {2}.*?\): /, ''));
  assert.deepEqual(problems.sort(), [
    'metadata.colour: unknown field; allowed here: name, tenant, labels, annotations, uid, resourceVersion, createdAt',
    'spec.ingress[0].action: must be one of allow, deny, pass, log (got "allw")',
    'spec.ingress[0].ports[0].port: must be a whole number from 1 to 65535, or a port name: lower-case letters, digits and "-", at most 15 characters (got 70000)',
    'spec.mtu: must be a whole number from 1280 to 9000 (got 100)',
    'spec.priority: must be a whole number from 0 to 1000000 (got "high")',
    'spec.subnets[0].cidr: "10.0.0.5/24" has host bits set; did you mean 10.0.0.0/24?',
  ]);
  assert.doesNotMatch(result.stderr, /Expected|union/);
});

test("a tenant-admin asking for another tenant's objects is told which tenant it cannot see", async () => {
  const c = controller.client;
  await c.create(tenantObj('red'));
  await c.create(tenantObj('blue'));
  await c.create(networkObj('blue', 'web', ['10.60.0.0/24']));
  const red = await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'red' });
  const env = { TENET_TOKEN: red.token };
  const listed = await cli(['get', 'networks', '--tenant', 'blue'], { env });
  assert.equal(listed.code, 1);
  assert.match(listed.stderr, /^error: tenant blue not found$/m);
  const one = await cli(['get', 'network', 'blue/web'], { env });
  assert.equal(one.code, 1);
  assert.match(one.stderr, /^error: network "blue\/web" not found$/m);
});

test("k8s import reads stdin, prints apply's lines, and its dry run shows the flows that would change verdict", async () => {
  const c = controller.client;
  await c.create(tenantObj('kimp'));
  await c.create(networkObj('kimp', 'default', ['10.70.0.0/24']));
  await c.create({ apiVersion: V, kind: 'Scope', metadata: { name: 'prod', tenant: 'kimp' }, spec: {} });
  await c.create(endpointObj('kimp', 'default', 'web', { scope: 'prod' }, { app: 'web' }));
  await c.create(endpointObj('kimp', 'default', 'client', { scope: 'prod' }, { app: 'client' }));
  const denyAll =
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-web, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: other}}}]\n    ports: [{port: 80}]\n';
  const dry = ok(await cli(['k8s', 'import', '-f', '-', '--tenant', 'kimp', '--dry-run'], { input: denyAll }), 'dry run from stdin');
  assert.match(dry, /^policy\/kimp\/\S+ created \(dry run\)$/m);
  assert.doesNotMatch(dry, /^results:|^revision:/m, 'not the raw answer as YAML');
  assert.match(dry, /flows that would change verdict:\n {2}.*client.*web/);
  assert.equal((await c.list('Policy', { tenant: 'kimp' })).items.length, 0, 'a dry run creates nothing');
  const applied = ok(await cli(['k8s', 'import', '-f', '-', '--tenant', 'kimp'], { input: denyAll }), 'import from stdin');
  assert.match(applied, /^policy\/kimp\/\S+ created$/m);
  assert.match(applied, /^scope\/kimp\/prod configured$/m);
  assert.equal((await c.list('Policy', { tenant: 'kimp' })).items.length, 1);
});

test('get -o name, -o jsonpath=..., --no-headers', async () => {
  const c = controller.client;
  await c.create(tenantObj('out'));
  await c.create(networkObj('out', 'web', ['10.80.0.0/24'], { mtu: 1400 }));
  await c.create(networkObj('out', 'db', ['10.81.0.0/24']));
  assert.equal(ok(await cli(['get', 'networks', '--tenant', 'out', '-o', 'name']), '-o name'), 'network/out/db\nnetwork/out/web\n');
  assert.equal(ok(await cli(['get', 'network', 'out/web', '-o', 'name']), '-o name one'), 'network/out/web\n');
  assert.equal(
    ok(await cli(['get', 'networks', '--tenant', 'out', '-o', 'jsonpath={.items[*].metadata.name}']), 'jsonpath list'),
    'db web',
  );
  assert.equal(
    ok(
      await cli([
        'get',
        'networks',
        '--tenant',
        'out',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.spec.subnets[0].cidr}{"\\n"}{end}',
      ]),
      'jsonpath range',
    ),
    'db=10.81.0.0/24\nweb=10.80.0.0/24\n',
  );
  assert.equal(ok(await cli(['get', 'network', 'out/web', '-o', 'jsonpath={.spec.mtu}']), 'jsonpath one'), '1400');
  const bad = await cli(['get', 'networks', '-o', 'jsonpath={.items[']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: -o jsonpath: /);
  const table = ok(await cli(['get', 'networks', '--tenant', 'out', '--no-headers']), '--no-headers')
    .split('\n')
    .filter(Boolean);
  assert.equal(table.length, 2);
  assert.match(table[0], /^db +10\.81\.0\.0\/24/);
  assert.doesNotMatch(table.join('\n'), /NAME/);
});

test('completion scripts: bash loads and completes commands, kinds and names; zsh and fish are generated', async () => {
  const node = process.execPath;
  const bin = path.join(__dirname, '..', '..', '..', 'bin', 'tenet');
  // A `tenet` on PATH (names are fetched with `tenet get KIND -o name`).
  const binDir = path.join(workDir, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  fs.writeFileSync(path.join(binDir, 'tenet'), `#!/bin/sh\nexec "${node}" "${bin}" "$@"\n`, { mode: 0o755 });
  const { spawnSync } = await import('node:child_process');
  const bash = (script: string) => {
    const run = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, TENET_SERVER: controller.url, TENET_TOKEN: controller.adminToken },
    });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  };
  assert.match(bash('source <(tenet completion bash) && complete -p tenet'), /^complete -F _tenet_complete tenet$/m);
  const complete = (...words: string[]) =>
    bash(
      `source <(tenet completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tenet_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
    )
      .split('\n')
      .filter(Boolean);
  assert.deepEqual(complete('tenet', 'ge'), ['get']);
  assert.deepEqual(complete('tenet', 'k8s', 'i'), ['import']);
  assert.deepEqual(complete('tenet', 'config', 'use'), ['use-context']);
  assert.deepEqual(complete('tenet', 'get', 'net'), ['networks']);
  assert.ok(complete('tenet', 'get', '--tenant', 'out', 'networks', '-').includes('--no-headers'));
  assert.ok(complete('tenet', 'apply', '--p').includes('--prune'));
  assert.deepEqual(complete('tenet', 'get', '-o', 'jsonp'), ['jsonpath=']);
  await controller.client.create(tenantObj('completeme'));
  assert.deepEqual(complete('tenet', 'get', 'tenants', 'complete'), ['completeme']);
  const zsh = ok(await cli(['completion', 'zsh']), 'zsh');
  assert.match(zsh, /^#compdef tenet\n/);
  assert.match(zsh, /bashcompinit/);
  const fish = ok(await cli(['completion', 'fish']), 'fish');
  assert.match(fish, /^complete -c tenet -n '__fish_use_subcommand' -a 'apply'/m);
  assert.match(fish, /^complete -c tenet -n '__fish_seen_subcommand_from apply' -l prune/m);
  assert.equal((await cli(['completion', 'tcsh'])).code, 2);
});

test('config set-context, use-context, view (tokens redacted), current-context; commands use the context', async () => {
  const file = path.join(workDir, 'config', 'config.yaml');
  const env = { TENET_CONFIG: file, TENET_SERVER: '', TENET_TOKEN: '' };
  assert.match(
    ok(await cli(['config', 'set-context', 'here', '--server', controller.url, '--token', controller.adminToken], { env }), 'set here'),
    /context "here" created/,
  );
  ok(await cli(['config', 'set-context', 'nowhere', '--server', 'http://127.0.0.1:9', '--token', 'x'], { env }), 'set nowhere');
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  assert.equal(ok(await cli(['config', 'current-context'], { env }), 'current'), 'here\n');
  const view = ok(await cli(['config', 'view'], { env }), 'view');
  assert.doesNotMatch(view, new RegExp(controller.adminToken));
  assert.match(view, /token: REDACTED/);
  assert.match(ok(await cli(['config', 'view', '--raw'], { env }), 'view raw'), new RegExp(controller.adminToken));
  ok(await cli(['get', 'tenants'], { env }), 'get through context here');
  ok(await cli(['config', 'use-context', 'nowhere'], { env }), 'use nowhere');
  assert.equal(ok(await cli(['config', 'get-contexts'], { env }), 'contexts'), '  here\n* nowhere\n');
  assert.match((await cli(['get', 'tenants'], { env })).stderr, /cannot reach the controller/);
  const missing = await cli(['config', 'use-context', 'gone'], { env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no context named "gone"/);
  ok(await cli(['config', 'set-context', 'nowhere', '--server', controller.url], { env }), 'modify');
  const raw = ok(await cli(['config', 'view', '--raw'], { env }), 'view raw');
  assert.match(
    raw,
    new RegExp(`- name: nowhere\\n {4}server: ${controller.url.replace(/[.]/g, '\\.')}\\n {4}token: x\\n`),
    'set-context changes only the fields given',
  );
});

test('version shows the client and the server; delete and rollback --dry-run change nothing; explain --exit-code', async () => {
  const c = controller.client;
  const version = ok(await cli(['version']), 'version');
  assert.match(version, /^Client Version: \S+\nServer Version: \S+ \(API tenet\.dev\/v1\)\n$/);
  assert.match(ok(await cli(['version', '--client']), 'version --client'), /^tenet \S+\n$/);
  const far = await runCli('http://127.0.0.1:9', ['version']);
  assert.equal(far.code, 1);
  assert.match(far.stdout, /^Client Version: /);

  await c.create(tenantObj('dry'));
  await c.create(networkObj('dry', 'web', ['10.90.0.0/24']));
  await c.create(endpointObj('dry', 'web', 'a', {}, { app: 'a' }));
  await c.create(endpointObj('dry', 'web', 'b', {}, { app: 'b' }));
  assert.equal(ok(await cli(['delete', 'endpoint', 'dry/b', '--dry-run']), 'delete --dry-run'), 'endpoint/dry/b deleted (dry run)\n');
  assert.ok(await c.find('Endpoint', 'b', 'dry'), 'still there');
  const inUse = await cli(['delete', 'network', 'dry/web', '--dry-run']);
  assert.equal(inUse.code, 1, 'the controller checks a dry-run deletion as a real one');
  assert.match(inUse.stderr, /endpoint/i);
  const before = (await c.history()).at(-1)!.revision;
  await c.apply([
    {
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: 'no-ssh', tenant: 'dry' },
      spec: { appliesTo: {}, ingress: [{ action: 'deny', ports: [{ protocol: 'TCP', port: 22 }] }, { action: 'allow' }] },
    },
  ]);
  const historyLength = (await c.history()).length;
  const rolled = ok(await cli(['rollback', String(before), '--dry-run']), 'rollback --dry-run');
  assert.match(rolled, /^policy\/dry\/no-ssh deleted \(dry run\)$/m);
  // ...and what that does to traffic: ssh between the two endpoints opens again.
  assert.match(rolled, /flows that would change verdict:\n(.*\n)* {2}dry: [ab] -> [ab] tcp\/22: denied -> allowed/);
  assert.ok(await c.find('Policy', 'no-ssh', 'dry'), 'a dry-run rollback deletes nothing');
  assert.equal((await c.history()).length, historyLength, 'and records no revision');

  const explain = (port: string) => cli(['explain', '--tenant', 'dry', '--from', 'a', '--to', 'b', '--port', port, '--exit-code']);
  assert.equal((await explain('tcp/80')).code, 0, 'allowed');
  const denied = await explain('tcp/22');
  assert.equal(denied.code, 1, 'denied');
  assert.match(denied.stdout, /DENIED/);
  assert.equal(
    (await cli(['explain', '--tenant', 'dry', '--from', 'nobody', '--to', 'b', '--port', 'tcp/22', '--exit-code'])).code,
    2,
    'usage',
  );
  assert.equal(
    (await runCli('http://127.0.0.1:9', ['explain', '--tenant', 'dry', '--from', 'a', '--to', 'b', '--port', 'tcp/22', '--exit-code']))
      .code,
    3,
    'other errors',
  );
  assert.equal(
    (await cli(['explain', '--tenant', 'dry', '--from', 'a', '--to', 'b', '--port', 'tcp/22'])).code,
    0,
    'without --exit-code a verdict is not a failure',
  );
});

test('a tenant-admin prunes its own set in its tenant, and nothing of another tenant', async () => {
  const c = controller.client;
  await c.create(tenantObj('ta'));
  await c.create(tenantObj('tb'));
  const admin = await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'ta' });
  const env = { TENET_TOKEN: admin.token };
  const group = (tenant: string, name: string) =>
    `apiVersion: tenet.dev/v1\nkind: Group\nmetadata: {name: ${name}, tenant: ${tenant}}\nspec: {selector: {matchLabels: {app: ${name}}}}\n`;
  // The same set name used by the cluster admin in another tenant.
  ok(await cli(['apply', '-f', write('ta/other.yaml', group('tb', 'x')), '--applyset', 'shared']), 'admin applies in tb');
  ok(
    await cli(['apply', '-f', write('ta/both.yaml', [group('ta', 'one'), group('ta', 'two')].join('---\n')), '--applyset', 'shared'], {
      env,
    }),
    'tenant-admin applies',
  );
  const pruned = ok(
    await cli(['apply', '-f', write('ta/one.yaml', group('ta', 'one')), '--applyset', 'shared', '--prune'], { env }),
    'tenant-admin prunes',
  );
  assert.deepEqual(
    pruned.split('\n').filter((l) => l.includes('pruned')),
    ['group/ta/two pruned'],
  );
  assert.ok(await c.find('Group', 'x', 'tb'), "the other tenant's object of the same set name stays");
});
