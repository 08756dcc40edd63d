import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkManifests, loadManifests, parseManifestText, readIntentFiles } from '../../src/cli/manifests';
import { CliError } from '../../src/cli/context';

const TENANT = 'apiVersion: tenet.dev/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec: {}\n';
const NETWORK = (name: string, cidr: string, extra = '') =>
  `apiVersion: tenet.dev/v1\nkind: Network\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  subnets:\n    - cidr: ${cidr}${extra}\n`;

function tmpDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tenet-manifests-${process.pid}-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const noStdin = async () => {
  throw new Error('stdin must not be read');
};

test('multi-document YAML: every document, empty ones skipped, numbered as written', () => {
  const text = `# leading comment\n${TENANT}---\n${NETWORK('web', '10.0.0.0/24')}---\n# nothing here\n---\n${NETWORK('db', '10.0.1.0/24')}---\n`;
  const result = parseManifestText(text, 'a.yaml', 'yaml');
  assert.deepEqual(result.problems, []);
  assert.deepEqual(
    result.documents.map((d) => [d.origin.document, (d.value as { metadata: { name: string } }).metadata.name]),
    [
      [1, 'acme'],
      [2, 'web'],
      [4, 'db'],
    ],
  );
  const checked = checkManifests(result.documents);
  assert.deepEqual(checked.problems, []);
  assert.equal(checked.objects.length, 3);
});

test('kind: List and JSON arrays are flattened with item numbers', () => {
  const list = parseManifestText(`kind: List\nitems:\n- ${TENANT.replace(/\n(?=.)/g, '\n  ')}`, 'l.yaml', 'yaml');
  assert.deepEqual(list.problems, []);
  assert.deepEqual(
    list.documents.map((d) => d.origin),
    [{ source: 'l.yaml', document: 1, item: 1 }],
  );
  const array = parseManifestText(
    JSON.stringify([
      { apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: 'a' }, spec: {} },
      { apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: 'b' }, spec: {} },
    ]),
    'x.json',
    'json',
  );
  assert.deepEqual(
    array.documents.map((d) => d.origin.item),
    [1, 2],
  );
  const badList = parseManifestText('kind: List\nitems: 3\n', 'bad.yaml', 'yaml');
  assert.match(badList.problems[0], /^bad\.yaml document 1: a List needs an "items" array$/);
});

test('bad YAML is reported with file, document, line and column', () => {
  const text = `${TENANT}---\napiVersion: tenet.dev/v1\nkind: Network\nmetadata:\n  name: web\n  name: again\n`;
  const result = parseManifestText(text, 'bad.yaml', 'yaml');
  assert.equal(result.documents.length, 1, 'the good first document is still parsed');
  assert.equal(result.problems.length, 1);
  assert.match(result.problems[0], /^bad\.yaml document 2: invalid YAML: Map keys must be unique at line 11, column 3$/);

  const unterminated = parseManifestText('kind: Tenant\nmetadata: {name: [x\n', 'u.yaml', 'yaml');
  assert.ok(unterminated.problems.length >= 1);
  assert.match(unterminated.problems[0], /^u\.yaml document 1: invalid YAML: .* at line \d+, column \d+$/);
  for (const problem of unterminated.problems) assert.ok(!problem.includes('\n'), 'one line per problem');
});

test('bad JSON is reported with line and column', () => {
  const result = parseManifestText('{\n  "kind": "Tenant",\n  "metadata": {"name": "a",}\n}\n', 'bad.json', 'json');
  assert.equal(result.documents.length, 0);
  assert.match(result.problems[0], /^bad\.json: invalid JSON at line 3, column \d+: /);
  const truncated = parseManifestText('{"kind": "Tenant"', 't.json', 'json');
  assert.match(truncated.problems[0], /^t\.json: invalid JSON at line 1/);
});

test('wrong types and semantic problems name the file, document and object; all are reported', () => {
  const text = [
    NETWORK('web', '10.0.0.0/24', '\n      gateway: 10.0.1.1'),
    'apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: db, tenant: acme}\nspec: {subnets: [{cidr: 10.0.2.0/24}], mtu: "1500"}\n',
    'apiVersion: tenet.dev/v1\nkind: Tenant\nmetadata: {name: "x;rm -rf"}\nspec: {}\n',
    'apiVersion: tenet.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n',
    '- just\n- a list of strings\n',
  ].join('---\n');
  const parsed = parseManifestText(text, 'f.yaml', 'yaml');
  assert.deepEqual(parsed.problems, []);
  const { objects, problems } = checkManifests(parsed.documents);
  assert.equal(objects.length, 0);
  assert.match(
    problems.find((p) => p.includes('document 1 ')) ?? '',
    /f\.yaml document 1 \(Network acme\/web\): spec\.subnets\[0\]\.gateway: 10\.0\.1\.1 is outside 10\.0\.0\.0\/24/,
  );
  assert.match(
    problems.find((p) => p.includes('document 2 ')) ?? '',
    /f\.yaml document 2 \(Network acme\/db\): spec\.mtu: must be a whole number from 1280 to 9000 \(got "1500"\)/,
  );
  assert.match(problems.find((p) => p.includes('document 3 ')) ?? '', /f\.yaml document 3 \(Tenant x;rm -rf\): metadata\.name: /);
  assert.match(problems.find((p) => p.includes('document 4 ')) ?? '', /f\.yaml document 4 \(Widget w\): kind: must be one of Tenant/);
  assert.match(problems.find((p) => p.includes('document 5 item 1')) ?? '', /object: must be a JSON\/YAML mapping/);
});

test('the set is checked as a whole: duplicates and overlapping subnets in one tenant', () => {
  const text = [TENANT, NETWORK('web', '10.0.0.0/24'), NETWORK('db', '10.0.0.128/25'), NETWORK('web', '10.9.0.0/24')].join('---\n');
  const { problems } = checkManifests(parseManifestText(text, 's.yaml', 'yaml').documents);
  assert.ok(
    problems.some((p) => /s\.yaml document 4: network\/acme\/web is also defined in s\.yaml document 2/.test(p)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => /s\.yaml document 3 \(network\/acme\/db\): .*10\.0\.0\.128\/25 overlaps 10\.0\.0\.0\/24 of network "web"/.test(p)),
    problems.join('\n'),
  );
  // The same subnet in two tenants is fine: tenants are isolated.
  const other = NETWORK('web', '10.0.0.0/24').replace('tenant: acme', 'tenant: globex');
  assert.deepEqual(
    checkManifests(parseManifestText([NETWORK('web', '10.0.0.0/24'), other].join('---\n'), 'o.yaml', 'yaml').documents).problems,
    [],
  );
});

test('server-managed fields are dropped and --tenant fills missing tenants only', () => {
  const text =
    'apiVersion: tenet.dev/v1\nkind: Network\nmetadata: {name: web, uid: u1, resourceVersion: "7", createdAt: "2026-01-01T00:00:00Z"}\nspec: {subnets: [{cidr: 10.0.0.0/24}]}\nstatus: {allocated: 3}\n';
  const docs = parseManifestText(text, 'n.yaml', 'yaml').documents;
  assert.match(checkManifests(docs).problems[0], /metadata\.tenant: required for Network/);
  const filled = checkManifests(docs, { tenant: 'acme' });
  assert.deepEqual(filled.problems, []);
  assert.deepEqual(filled.objects[0].object.metadata, { name: 'web', tenant: 'acme' });
  assert.equal(filled.objects[0].object.status, undefined);
  const clash = checkManifests(parseManifestText(NETWORK('web', '10.0.0.0/24'), 'c.yaml', 'yaml').documents, { tenant: 'globex' });
  assert.match(clash.problems[0], /metadata\.tenant is "acme" but --tenant says "globex"/);
  assert.match(checkManifests(docs, { tenant: 'Bad Name' }).problems[0], /--tenant "Bad Name": must be/);
});

test('a directory contributes its *.yaml, *.yml, *.json files in name order, nothing else', async (t) => {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, '20-net.yml'), NETWORK('web', '10.0.0.0/24'));
  fs.writeFileSync(path.join(dir, '10-tenant.yaml'), TENANT);
  fs.writeFileSync(
    path.join(dir, '30-more.json'),
    JSON.stringify({ apiVersion: 'tenet.dev/v1', kind: 'Scope', metadata: { name: 'prod', tenant: 'acme' }, spec: {} }),
  );
  fs.writeFileSync(path.join(dir, 'README.md'), '# not a manifest: {');
  fs.writeFileSync(path.join(dir, '.hidden.yaml'), 'this: [is broken');
  fs.mkdirSync(path.join(dir, 'sub.yaml'));
  const result = await loadManifests([dir], noStdin);
  assert.deepEqual(
    result.problems.filter((p) => !p.includes('sub.yaml')),
    [],
  );
  assert.deepEqual(
    result.documents.map((d) => path.basename(d.origin.source)),
    ['10-tenant.yaml', '20-net.yml', '30-more.json'],
  );
  const empty = tmpDir(t);
  const none = await loadManifests([empty, path.join(empty, 'missing.yaml')], noStdin);
  assert.match(none.problems[0], /directory holds no \*\.yaml, \*\.yml or \*\.json files/);
  assert.match(none.problems[1], /missing\.yaml: no such file or directory/);
});

test('stdin (-) is read once, as JSON or YAML by its first character', async () => {
  const yaml = await loadManifests(['-'], async () => `${TENANT}---\n${NETWORK('web', '10.0.0.0/24')}`);
  assert.deepEqual(yaml.problems, []);
  assert.deepEqual(
    yaml.documents.map((d) => [d.origin.source, d.origin.document]),
    [
      ['<stdin>', 1],
      ['<stdin>', 2],
    ],
  );
  const json = await loadManifests(
    ['-'],
    async () => '  [{"apiVersion":"tenet.dev/v1","kind":"Tenant","metadata":{"name":"a"},"spec":{}}]',
  );
  assert.deepEqual(
    json.documents.map((d) => d.origin),
    [{ source: '<stdin>', document: 1, item: 1 }],
  );
  const badJson = await loadManifests(['-'], async () => '{"kind": ');
  assert.match(badJson.problems[0], /^<stdin>: invalid JSON/);
  let reads = 0;
  const twice = await loadManifests(['-', '-'], async () => {
    reads++;
    return TENANT;
  });
  assert.equal(reads, 1);
  assert.match(twice.problems[0], /stdin can be given only once/);
});

test('readIntentFiles fails with every problem, one per line, and returns objects in dependency order', async (t) => {
  const dir = tmpDir(t);
  const good = path.join(dir, 'good.yaml');
  fs.writeFileSync(good, `${NETWORK('web', '10.0.0.0/24')}---\n${TENANT}`);
  const objects = await readIntentFiles([good], { readStdin: noStdin });
  assert.deepEqual(
    objects.map((o) => o.object.kind),
    ['Tenant', 'Network'],
  );
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, `${TENANT}---\n${NETWORK('web', '10.0.0.0/33')}---\nkind: [\n`);
  await assert.rejects(readIntentFiles([good, bad], { readStdin: noStdin }), (error: unknown) => {
    assert.ok(error instanceof CliError);
    const [head, ...lines] = error.message.split('\n');
    assert.match(head, /^invalid manifests \((\d+) problems, nothing was sent\):$/);
    assert.equal(lines.length, Number(/\((\d+) problems/.exec(head)![1]), 'one line per problem');
    for (const line of lines) assert.match(line, /^ {2}\S.*bad\.yaml document \d/);
    assert.match(error.message, /bad\.yaml document 3: invalid YAML/);
    assert.match(error.message, /bad\.yaml document 2 \(Network acme\/web\): spec\.subnets\[0\]\.cidr/);
    assert.match(error.message, /bad\.yaml document 1: tenant\/acme is also defined in .*good\.yaml document 2/);
    return true;
  });
  const comments = path.join(dir, 'comments.yaml');
  fs.writeFileSync(comments, '# nothing\n---\n');
  await assert.rejects(readIntentFiles([comments], { readStdin: noStdin }), /no objects found/);
  await assert.rejects(readIntentFiles([], { readStdin: noStdin }), /no manifests given/);
});
