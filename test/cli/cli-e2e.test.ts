/**
 * End to end: the real `bin/tenet` process against a real controller process. The network-as-code
 * cycle (apply, get, diff, history, rollback, export, re-create elsewhere) and bad input that must
 * fail with one clear line and change nothing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { startController } from '../helpers/controller';
import { runCli, streamCli, type CliResult } from './run-cli';

type Controller = Awaited<ReturnType<typeof startController>>;

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tenet-cli-e2e-${process.pid}-`));
const controllers: Controller[] = [];
after(async () => {
  for (const controller of controllers) await controller.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

async function controller(): Promise<Controller> {
  const started = await startController();
  controllers.push(started);
  return started;
}

function write(dir: string, name: string, text: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const INTENT: Record<string, string> = {
  '00-tenant.yaml': `apiVersion: tenet.dev/v1
kind: Tenant
metadata:
  name: acme
  labels: {env: prod}
spec:
  defaultPolicy: allow
`,
  '10-networks.yaml': `apiVersion: tenet.dev/v1
kind: Network
metadata: {name: web, tenant: acme, labels: {tier: frontend}}
spec:
  subnets:
    - cidr: 10.10.0.0/24
      gateway: 10.10.0.1
    - cidr: fd00:10::/64
  mtu: 1400
---
apiVersion: tenet.dev/v1
kind: Network
metadata: {name: db, tenant: acme}
spec:
  subnets: [{cidr: 10.20.0.0/24, reserved: [{start: 10.20.0.100, end: 10.20.0.199}]}]
`,
  '20-rest.json': JSON.stringify([
    { apiVersion: 'tenet.dev/v1', kind: 'Scope', metadata: { name: 'prod', tenant: 'acme', labels: { stage: 'prod' } }, spec: {} },
    {
      apiVersion: 'tenet.dev/v1',
      kind: 'Group',
      metadata: { name: 'web', tenant: 'acme' },
      spec: { selector: { matchLabels: { app: 'web' } } },
    },
    {
      apiVersion: 'tenet.dev/v1',
      kind: 'Group',
      metadata: { name: 'db', tenant: 'acme' },
      spec: { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'pg'] }] } },
    },
  ]),
  '30-policy.yaml': `kind: List
items:
  - apiVersion: tenet.dev/v1
    kind: Policy
    metadata: {name: web-to-db, tenant: acme}
    spec:
      priority: 100
      appliesTo: {group: db}
      ingress:
        - action: allow
          from: [{group: web}]
          ports: [{protocol: TCP, port: 5432}]
  - apiVersion: tenet.dev/v1
    kind: GlobalPolicy
    metadata: {name: baseline-deny}
    spec:
      tier: baseline
      appliesTo: {}
      ingress: [{action: deny}]
  - apiVersion: tenet.dev/v1
    kind: Service
    metadata: {name: pg, tenant: acme}
    spec:
      selector: {matchLabels: {app: db}}
      ports: [{name: pg, protocol: TCP, port: 5432}]
      network: db
`,
};

const REFS = [
  'tenant/acme',
  'network/acme/db',
  'network/acme/web',
  'scope/acme/prod',
  'group/acme/db',
  'group/acme/web',
  'policy/acme/web-to-db',
  'globalpolicy/baseline-deny',
  'service/acme/pg',
];

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

/**
 * One `error: ...` line on stderr (followed only by the problems it lists, one per indented line),
 * nothing on stdout, non-zero exit.
 */
function failsClearly(result: CliResult, pattern: RegExp, what: string, code?: number): void {
  assert.notEqual(result.code, 0, `${what}: must fail`);
  if (code !== undefined) assert.equal(result.code, code, `${what}: exit code`);
  assert.equal(result.stdout, '', `${what}: nothing on stdout`);
  const lines = result.stderr.split('\n').filter(Boolean);
  assert.ok(lines.length >= 1, `${what}: an error line`);
  assert.match(lines[0], /^error: /, what);
  for (const line of lines.slice(1))
    assert.match(line, /^ {2}\S/, `${what}: only indented problem lines after the error line, got:\n${result.stderr}`);
  assert.match(lines.length === 1 ? lines[0] : lines.join('\n'), pattern, what);
}

test('network as code: apply, get, diff, change, apply, history, rollback, export, re-create', async () => {
  const ctl = await controller();
  const cli = (args: string[], input?: string) => runCli(ctl.url, args, { input });
  const dir = path.join(workDir, 'intent');
  for (const [name, text] of Object.entries(INTENT)) write(dir, name, text);

  const dry = ok(await cli(['apply', '-f', dir, '--dry-run']), 'apply --dry-run');
  assert.deepEqual(dry.trim().split('\n').sort(), REFS.map((r) => `${r} created (dry run)`).sort());
  assert.deepEqual((await ctl.client.list('Tenant')).items, [], 'a dry run changes nothing');

  const created = ok(await cli(['apply', '-f', dir, '-m', 'first cut']), 'apply');
  assert.deepEqual(created.trim().split('\n').sort(), REFS.map((r) => `${r} created`).sort());
  const again = ok(await cli(['apply', '-f', dir]), 'apply again');
  assert.deepEqual(again.trim().split('\n').sort(), REFS.map((r) => `${r} unchanged`).sort());

  // get: across tenants with a TENANT column, one tenant, one object, label selector, JSON.
  const table = ok(await cli(['get', 'networks']), 'get networks').split('\n');
  assert.match(table[0], /^TENANT +NAME +SUBNETS +GATEWAYS +AGE$/);
  assert.match(table[1], /^acme +db +10\.20\.0\.0\/24 /);
  assert.match(table[2], /^acme +web +10\.10\.0\.0\/24,fd00:10::\/64 /);
  const narrow = ok(await cli(['get', 'net', '--tenant', 'acme']), 'get net --tenant').split('\n');
  assert.match(narrow[0], /^NAME +SUBNETS/);
  const selected = JSON.parse(ok(await cli(['get', 'nets', '-l', 'tier=frontend', '-o', 'json']), 'get -l -o json')) as {
    kind: string;
    items: { metadata: { name: string } }[];
  };
  assert.equal(selected.kind, 'List');
  assert.deepEqual(
    selected.items.map((i) => i.metadata.name),
    ['web'],
  );
  const one = ok(await cli(['get', 'network', 'acme/web', '-o', 'yaml']), 'get one -o yaml');
  assert.match(one, /^apiVersion: tenet\.dev\/v1\nkind: Network\n/);
  assert.match(one, /resourceVersion: /, 'get shows the live object, server fields included');
  const described = ok(await cli(['describe', 'net', 'db', '--tenant', 'acme']), 'describe');
  assert.match(described, /IPv4 used: +0 of 153 usable addresses \(0\.0%\)\n/);
  ok(await cli(['get', 'policies', 'web-to-db']), 'tenant-scoped name found without --tenant');

  assert.deepEqual(await cli(['diff', '-f', dir]), { code: 0, stdout: '', stderr: '' }, 'no difference: exit 0, no output');

  // Change one field in the file: diff shows exactly it and exits 1, without touching the server.
  write(dir, '10-networks.yaml', INTENT['10-networks.yaml'].replace('mtu: 1400', 'mtu: 1450'));
  const diff = await cli(['diff', '-f', dir]);
  assert.equal(diff.code, 1, diff.stderr);
  assert.match(diff.stdout, /^--- live\/network\/acme\/web\n\+\+\+ file\/network\/acme\/web\n@@ /);
  assert.deepEqual(
    diff.stdout.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l)),
    ['-  mtu: 1400', '+  mtu: 1450'],
  );
  assert.equal((await ctl.client.get<{ spec: { mtu: number } }>('Network', 'web', 'acme')).spec.mtu, 1400);

  const configured = ok(await cli(['apply', '-f', dir, '-m', 'bigger mtu']), 'apply change');
  assert.deepEqual(
    configured.split('\n').filter((l) => !l.endsWith(' unchanged') && l),
    ['network/acme/web configured'],
  );
  assert.equal((await cli(['diff', '-f', dir])).code, 0);

  // history: table and JSON; the two applies that changed something are two revisions.
  const history = JSON.parse(ok(await cli(['history', '-o', 'json']), 'history -o json')) as {
    items: { revision: number; message?: string; verb: string; changes: { action: string; name: string }[] }[];
  };
  const first = history.items.find((i) => i.message === 'first cut');
  const second = history.items.find((i) => i.message === 'bigger mtu');
  assert.ok(first && second, JSON.stringify(history.items));
  assert.equal(first.changes.length, REFS.length);
  assert.deepEqual(
    second.changes.map((c) => `${c.action} ${c.name}`),
    ['configured web'],
  );
  const historyTable = ok(await cli(['history']), 'history').split('\n');
  assert.match(historyTable[0], /^REVISION +TIME +ACTOR +VERB +CHANGES$/);
  assert.ok(
    historyTable.some((l) => l.startsWith(String(second.revision)) && l.includes('1 configured: network/acme/web')),
    historyTable.join('\n'),
  );

  // rollback to the first apply: the mtu is back and the rollback is a revision of its own.
  const rolled = ok(await cli(['rollback', String(first.revision)]), 'rollback');
  assert.match(rolled, /^network\/acme\/web configured\nrolled back to revision \d+ as revision \d+\n$/);
  assert.equal((await ctl.client.get<{ spec: { mtu: number } }>('Network', 'web', 'acme')).spec.mtu, 1400);
  assert.equal((await cli(['diff', '-f', dir])).code, 1, 'the files now differ from the rolled-back state');

  // export, then apply the export on a fresh controller: the same intent, the same export text.
  const exported = ok(await cli(['export']), 'export');
  assert.equal(exported.split(/^---$/m).length - 1, REFS.length);
  assert.ok(!/uid:|resourceVersion:|createdAt:|status:/.test(exported), 'server-managed fields stripped');
  const fresh = await controller();
  const recreated = ok(await runCli(fresh.url, ['apply', '-f', '-'], { input: exported }), 'apply export on fresh controller');
  assert.deepEqual(recreated.trim().split('\n').sort(), REFS.map((r) => `${r} created`).sort());
  assert.equal(ok(await runCli(fresh.url, ['export']), 'export fresh'), exported);
  const json = JSON.parse(ok(await runCli(fresh.url, ['export', '--tenant', 'acme', '-o', 'json']), 'export json')) as {
    items: { kind: string }[];
  };
  assert.deepEqual(
    json.items.map((i) => i.kind),
    ['Tenant', 'Network', 'Network', 'Scope', 'Group', 'Group', 'Policy', 'Service'],
  );

  // delete -f: dependents first; a second run notes what is already gone and still succeeds.
  const deleted = ok(await runCli(fresh.url, ['delete', '-f', dir]), 'delete -f');
  assert.deepEqual(
    deleted.trim().split('\n'),
    [...REFS].reverse().map((r) => `${r} deleted`),
  );
  const gone = await runCli(fresh.url, ['delete', '-f', dir]);
  assert.equal(gone.code, 0, gone.stderr);
  assert.equal(gone.stdout, '');
  assert.equal(gone.stderr.trim().split('\n').length, REFS.length);
  assert.match(gone.stderr, /^note: service\/acme\/pg was already gone$/m);
  assert.deepEqual((await fresh.client.snapshot(['Tenant', 'Network', 'GlobalPolicy'])).items, []);
});

test('bad input: one clear line, non-zero exit, nothing changed on the server', async () => {
  const ctl = await controller();
  const cli = (args: string[], input?: string) => runCli(ctl.url, args, { input });
  const base = path.join(workDir, 'bad');
  const tenant = write(base, 'tenant.yaml', INTENT['00-tenant.yaml']);
  ok(await cli(['apply', '-f', tenant]), 'seed');
  ok(
    await cli([
      'apply',
      '-f',
      write(
        base,
        'net.yaml',
        'apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: web, tenant: acme}\nspec: {subnets: [{cidr: 10.0.0.0/24}]}\n',
      ),
    ]),
    'seed net',
  );
  const before = ok(await cli(['export']), 'export before');
  const historyBefore = (await ctl.client.history()).length;

  const network = (name: string, subnet = 'cidr: 10.9.0.0/24', extra = '') =>
    `apiVersion: tenet.dev/v1\nkind: Network\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  subnets:\n    - ${subnet}\n${extra}`;
  const cases: [string, string, RegExp][] = [
    [
      'malformed.yaml',
      `${network('ok')}---\nkind: Network\nmetadata: {name: [x\n`,
      /malformed\.yaml document 2: invalid YAML: .* at line \d+, column \d+/,
    ],
    [
      'malformed.json',
      '{"apiVersion": "tenet.dev/v1", "kind": "Network",\n "metadata": {"name": "x"}\n',
      /malformed\.json: invalid JSON at line \d+/,
    ],
    [
      'types.yaml',
      network('typed', 'cidr: 10.9.0.0/24', '  mtu: "big"\n'),
      /types\.yaml document 1 \(Network acme\/typed\): spec\.mtu: must be a whole number from 1280 to 9000 \(got "big"\)/,
    ],
    ['semicolon.yaml', network('"a;b"'), /document 1 \(Network acme\/a;b\): metadata\.name: /],
    ['subshell.yaml', network('"$(reboot)"'), /document 1 \(Network acme\/\$\(reboot\)\): metadata\.name: /],
    ['slash.yaml', network('"a/b"'), /metadata\.name: /],
    ['space.yaml', network('"a b"'), /metadata\.name: /],
    ['unicode.yaml', network('"wéb-ü"'), /metadata\.name: /],
    [
      'overlap-self.yaml',
      `${network('one', 'cidr: 10.50.0.0/16')}---\n${network('two', 'cidr: 10.50.1.0/24')}`,
      /overlap-self\.yaml document 2 \(network\/acme\/two\): .*10\.50\.1\.0\/24 overlaps 10\.50\.0\.0\/16/,
    ],
    [
      'gateway.yaml',
      network('gw', 'cidr: 10.60.0.0/24\n      gateway: 10.61.0.1'),
      /spec\.subnets\[0\]\.gateway: 10\.61\.0\.1 is outside 10\.60\.0\.0\/24/,
    ],
    ['cidr.yaml', network('hostbits', 'cidr: 10.70.0.5/24'), /has host bits set; did you mean 10\.70\.0\.0\/24\?/],
  ];
  // Independent cases run side by side: each CLI run is its own process and none may change anything.
  await Promise.all(
    cases.map(async ([name, text, pattern], index) => {
      const file = write(base, name, text);
      failsClearly(await cli(['apply', '-f', file]), pattern, `apply ${name}`, 1);
      if (index % 4 === 0) failsClearly(await cli(['diff', '-f', file]), pattern, `diff ${name}`, 2);
    }),
  );
  // A good file next to a bad one: nothing from either is applied.
  const good = write(base, 'good.yaml', network('fine', 'cidr: 10.80.0.0/24'));
  failsClearly(
    await cli(['apply', '-f', good, '-f', path.join(base, 'gateway.yaml')]),
    /gateway\.yaml document 1/,
    'good and bad together',
  );
  // Overlap with a live network is found by the controller, which refuses the whole apply.
  failsClearly(
    await cli([
      'apply',
      '-f',
      write(base, 'overlap-live.yaml', `${network('fine2', 'cidr: 10.81.0.0/24')}---\n${network('clash', 'cidr: 10.0.0.128/25')}`),
    ]),
    /overlap|10\.0\.0/i,
    'overlap with live',
  );
  // Through stdin as well.
  failsClearly(
    await cli(['apply', '-f', '-'], '{"kind": "Tenant", "metadata": {"name": "x y"}, "apiVersion": "tenet.dev/v1", "spec": {}}'),
    /<stdin> document 1 \(Tenant x y\): metadata\.name/,
    'stdin',
  );

  // Names on the command line are refused before any request.
  const refused: [string[], RegExp, number][] = [
    ...['a;b', '$(reboot)', 'a/b/c', 'a b', 'wéb', ''].map((name): [string[], RegExp, number] => [
      ['get', 'net', name, '--tenant', 'acme'],
      /invalid name/,
      2,
    ]),
    [['delete', 'net', '$(reboot)', '--tenant', 'acme'], /invalid name "\$\(reboot\)"/, 2],
    [['delete', 'tenant', 'a;b'], /invalid name "a;b"/, 2],
    [['get', 'net', '--tenant', 'ac;me'], /invalid tenant "ac;me"/, 2],
    [['get', 'widgets'], /unknown kind "widgets"/, 2],
    [['get', 'net', '-l', 'a==('], /-l: /, 2],
    [['rollback', '1;ls'], /invalid revision/, 2],
    [['get', 'net', 'nope', '--tenant', 'acme'], /not found/, 1],
    [['delete', 'net', 'web'], /give --tenant or write TENANT\/web \(it exists in tenant acme\)/, 2],
    [['delete', 'tenant', 'acme'], /not empty.*tenet delete tenant acme --cascade/, 1],
    [['apply', '-f', path.join(base, 'missing.yaml')], /missing\.yaml: no such file or directory/, 1],
    // Usage errors: the message alone, no help text after it.
    [['get', 'net', '--bogus'], /^error: unknown option '--bogus'$/, 2],
    [['--nope', 'get', 'net'], /^error: unknown option '--nope'$/, 2],
    [['bogus'], /^error: unknown command 'bogus'$/, 2],
    [['gte', 'net'], /^error: unknown command 'gte' \(Did you mean get\?\)$/, 2],
    [['get'], /^error: missing required argument 'kind'$/, 2],
    [['rollback'], /^error: missing required argument 'rev'$/, 2],
    [['get', 'net', 'a', 'b', 'c'], /^error: too many arguments for 'get'/, 2],
    [['get', 'net', '-o', 'xml'], /^error: -o xml: use one of table, wide, json, yaml, name, jsonpath=TEMPLATE$/, 2],
    [['history', '-o', 'x'], /argument 'x' is invalid/, 2],
    [['export', '-o', 'toml'], /argument 'toml' is invalid/, 2],
    [['get', 'net', '--tenant'], /^error: option '--tenant <tenant>' argument missing$/, 2],
  ];
  await Promise.all(refused.map(async ([args, pattern, code]) => failsClearly(await cli(args), pattern, args.join(' '), code)));

  assert.equal(ok(await cli(['export']), 'export after'), before, 'the intent on the server is unchanged');
  assert.equal((await ctl.client.history()).length, historyBefore, 'no revision was recorded');

  // Unreachable controller: one line, exit 1 (diff: 2).
  const nowhere = 'http://127.0.0.1:9';
  failsClearly(await runCli(nowhere, ['get', 'tenants']), /cannot reach the controller/, 'unreachable', 1);
  failsClearly(await runCli(nowhere, ['diff', '-f', tenant]), /cannot reach the controller/, 'unreachable diff', 2);
});

test('get -w -l: an object that leaves the selection is shown as DELETED, one that enters as ADDED', { timeout: 60000 }, async () => {
  const ctl = await controller();
  const cli = (args: string[], input?: string) => runCli(ctl.url, args, { input });
  const net = (name: string, tier: string, octet: number) =>
    `apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: ${name}, tenant: acme, labels: {tier: ${tier}}}\nspec: {subnets: [{cidr: 10.${octet}.0.0/24}]}\n`;
  ok(await cli(['apply', '-f', '-'], `${INTENT['00-tenant.yaml']}---\n${net('one', 'front', 1)}---\n${net('two', 'back', 2)}`), 'seed');
  const watch = streamCli(ctl.url, ['get', 'networks', '--tenant', 'acme', '-l', 'tier=front', '-w']);
  try {
    await watch.waitFor(/^ADDED +one /);
    ok(await cli(['apply', '-f', '-'], net('one', 'back', 1)), 'one leaves');
    await watch.waitFor(/^DELETED +one /);
    ok(await cli(['apply', '-f', '-'], net('two', 'front', 2)), 'two enters');
    await watch.waitFor(/^ADDED +two /);
  } finally {
    const result = await watch.stop();
    assert.equal(result.code, 0, result.stderr);
  }
  assert.ok(
    !/two/.test(
      watch
        .output()
        .split('\n')
        .filter((l) => !/^ADDED +two /.test(l))
        .join('\n'),
    ),
    watch.output(),
  );
});

test('get -w prints the list, then every change, until interrupted', { timeout: 60000 }, async () => {
  const ctl = await controller();
  const cli = (args: string[], input?: string) => runCli(ctl.url, args, { input });
  ok(await cli(['apply', '-f', '-'], INTENT['00-tenant.yaml']), 'seed');
  const watch = streamCli(ctl.url, ['get', 'networks', '-w']);
  try {
    await watch.waitFor(/^EVENT +TENANT +NAME +SUBNETS/);
    ok(
      await cli(
        ['apply', '-f', '-', '--tenant', 'acme'],
        'apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: live}\nspec: {subnets: [{cidr: 10.1.0.0/24}]}\n',
      ),
      'create',
    );
    assert.match(await watch.waitFor(/^ADDED +acme +live /), /10\.1\.0\.0\/24/);
    ok(
      await cli(
        ['apply', '-f', '-', '--tenant', 'acme'],
        'apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: live, labels: {x: y}}\nspec: {subnets: [{cidr: 10.1.0.0/24}], mtu: 1500}\n',
      ),
      'update',
    );
    await watch.waitFor(/^MODIFIED +acme +live /);
    ok(await cli(['delete', 'net', 'acme/live']), 'delete');
    await watch.waitFor(/^DELETED +acme +live /);
  } finally {
    const result = await watch.stop();
    assert.equal(result.code, 0, `interrupted watch exits 0: ${result.stderr}`);
    assert.equal(result.stderr, '');
  }
});

/** A port that was free a moment ago (the controller must come back on the same address). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('get -w survives a controller restart and re-lists when its revision was compacted (410)', { timeout: 120000 }, async () => {
  const env = { TENET_RETAIN_REVISIONS: '3' };
  const port = await freePort();
  const ctl = await startController({ env, extraArgs: ['--listen', `127.0.0.1:${port}`] });
  controllers.push(ctl);
  const fixed = `http://127.0.0.1:${port}`;
  const network = (name: string, octet: number) =>
    `apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: ${name}, tenant: acme}\nspec: {subnets: [{cidr: 10.${octet}.0.0/24}]}\n`;
  ok(await runCli(fixed, ['apply', '-f', '-'], { input: `${INTENT['00-tenant.yaml']}---\n${network('a', 1)}` }), 'seed');
  const watch = streamCli(fixed, ['get', 'net', '--tenant', 'acme', '-w']);
  try {
    await watch.waitFor(/^ADDED +a +10\.1\.0\.0\/24/);
    await ctl.kill();
    // Meanwhile another controller on the same data changes more than the retained history.
    const other = await startController({ dataDir: ctl.dataDir, env });
    try {
      for (const [i, name] of ['b', 'c', 'd', 'e', 'f'].entries())
        ok(await runCli(other.url, ['apply', '-f', '-'], { input: network(name, i + 2) }), `apply ${name}`);
    } finally {
      await other.stop();
    }
    const back = await ctl.restart();
    controllers.push(back);
    await watch.waitFor(/^SYNC +f +10\.6\.0\.0\/24/);
    assert.ok(/^SYNC +a /m.test(watch.output()) && /^SYNC +c /m.test(watch.output()), watch.output());
    assert.ok(!/^ADDED +b /m.test(watch.output()), 'changes made while away arrive through the re-list, not as events');
    ok(await runCli(fixed, ['apply', '-f', '-'], { input: network('g', 7) }), 'apply g');
    await watch.waitFor(/^ADDED +g +10\.7\.0\.0\/24/);
  } finally {
    const result = await watch.stop();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^note: the watch stream ended; reconnecting$/m);
  }
});

test('--server may be repeated: the URLs add up in order and the CLI fails over to the next', async () => {
  const ctl = await controller();
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  const dead = 'http://127.0.0.1:1';
  // TENET_SERVER (the controller, with its token) is overridden by the flags.
  for (const order of [
    [dead, ctl.url],
    [ctl.url, dead],
  ]) {
    const both = await runCli(ctl.url, ['--server', order[0], '--server', order[1], 'get', 'tenants', '-o', 'json']);
    assert.equal(both.code, 0, `${order.join(' then ')}: ${both.stderr}`);
    assert.deepEqual((JSON.parse(both.stdout) as { items: unknown[] }).items, []);
  }
  const onlyDead = await runCli(ctl.url, ['--server', dead, 'get', 'tenants']);
  assert.notEqual(onlyDead.code, 0);
  assert.match(onlyDead.stderr, /^error: cannot reach the controller/);
});
