import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import type { TenetObject } from '../../src/core/model/object';
import { intentOf, sortByDependency, stripServerFields, toYamlStream } from '../../src/cli/normalize';
import { renderObjectDiff } from '../../src/cli/diff-render';
import { exportIntent } from '../../src/cli/export-intent';
import { checkManifests, parseManifestText } from '../../src/cli/manifests';

const live = (
  kind: TenetObject['kind'],
  name: string,
  tenant: string | undefined,
  spec: Record<string, unknown>,
  extra: Partial<TenetObject> = {},
): TenetObject =>
  ({
    apiVersion: 'tenet.dev/v1',
    kind,
    metadata: {
      name,
      ...(tenant ? { tenant } : {}),
      uid: `uid-${name}`,
      resourceVersion: '42',
      createdAt: '2026-11-22T03:00:00.000Z',
      labels: {},
    },
    spec,
    status: { note: 'server' },
    ...extra,
  }) as TenetObject;

test('stripServerFields removes uid, resourceVersion, createdAt and status, and copies', () => {
  const object = live('Tenant', 'acme', undefined, { defaultPolicy: 'deny' });
  const stripped = stripServerFields(object);
  assert.deepEqual(stripped, {
    apiVersion: 'tenet.dev/v1',
    kind: 'Tenant',
    metadata: { name: 'acme', labels: {} },
    spec: { defaultPolicy: 'deny' },
  });
  assert.equal(object.metadata.uid, 'uid-acme', 'the input is not modified');
  assert.equal(stripServerFields('text'), 'text');
});

test('intentOf orders keys by the schema and drops empty label maps', () => {
  const scrambled = live('Network', 'web', 'acme', {
    description: 'd',
    mtu: 1400,
    subnets: [{ reserved: [{ end: '10.0.0.9', start: '10.0.0.5' }], gateway: '10.0.0.1', cidr: '10.0.0.0/24' }],
  });
  const reordered = {
    spec: scrambled.spec,
    metadata: { ...scrambled.metadata, labels: { z: '1', a: '2' } },
    kind: 'Network',
    apiVersion: 'tenet.dev/v1',
  } as TenetObject;
  const intent = intentOf(reordered);
  assert.deepEqual(Object.keys(intent), ['apiVersion', 'kind', 'metadata', 'spec']);
  assert.deepEqual(Object.keys(intent.metadata), ['name', 'tenant', 'labels']);
  assert.deepEqual(Object.keys(intent.metadata.labels ?? {}), ['a', 'z']);
  assert.deepEqual(Object.keys(intent.spec), ['subnets', 'mtu', 'description']);
  const subnet = ((intent.spec as Record<string, unknown>).subnets as Record<string, unknown>[])[0];
  assert.deepEqual(Object.keys(subnet), ['cidr', 'gateway', 'reserved']);
  assert.deepEqual(Object.keys((subnet.reserved as object[])[0]), ['start', 'end']);
  assert.equal('labels' in intentOf(scrambled).metadata, false, 'empty labels are the same as none');
});

test('renderObjectDiff: same intent prints nothing, whatever the server fields and key order', () => {
  const fromServer = live('Network', 'web', 'acme', { mtu: 1400, subnets: [{ cidr: '10.0.0.0/24' }] });
  const fromFile = checkManifests(
    parseManifestText(
      'kind: Network\napiVersion: tenet.dev/v1\nspec: {subnets: [{cidr: 10.0.0.0/24}], mtu: 1400}\nmetadata: {tenant: acme, name: web}\n',
      'f.yaml',
      'yaml',
    ).documents,
  ).objects[0].object;
  assert.equal(renderObjectDiff(fromServer, fromFile), '');
});

test('renderObjectDiff: a change is a unified diff of the YAML, a new object is all additions', () => {
  const before = live('Network', 'web', 'acme', { subnets: [{ cidr: '10.0.0.0/24' }], mtu: 1400 });
  const after = { ...stripServerFields(before), spec: { subnets: [{ cidr: '10.0.0.0/24' }], mtu: 1450 } } as TenetObject;
  const text = renderObjectDiff(before, after);
  assert.match(text, /^--- live\/network\/acme\/web\n\+\+\+ file\/network\/acme\/web\n@@ /);
  assert.match(text, /\n- {2}mtu: 1400\n\+ {2}mtu: 1450\n/);
  assert.equal(text.split('\n').filter((l) => /^[-+][^-+]/.test(l)).length, 2, 'exactly one line out, one line in');
  const created = renderObjectDiff(undefined, after);
  assert.match(created, /^--- \/dev\/null\n\+\+\+ file\/network\/acme\/web\n@@ -0,0 \+1,\d+ @@\n\+apiVersion: tenet\.dev\/v1\n/);
  assert.ok(!created.split('\n').some((l) => l.startsWith('-') && !l.startsWith('---')), 'nothing removed');
});

test('exportIntent keeps intent kinds only, in dependency order, stripped, optionally one tenant', () => {
  const objects: TenetObject[] = [
    live('Service', 'api', 'acme', { selector: { matchLabels: { app: 'api' } }, ports: [{ protocol: 'TCP', port: 80 }] }),
    live('Endpoint', 'ep1', 'acme', { network: 'web' }),
    live('Host', 'h1', undefined, { underlayIP: '192.0.2.1' }),
    live('Network', 'web', 'zeta', { subnets: [{ cidr: '10.0.0.0/24' }] }),
    live('Network', 'web', 'acme', { subnets: [{ cidr: '10.0.0.0/24' }] }),
    live('GlobalPolicy', 'base', undefined, { tier: 'baseline', appliesTo: {} }),
    live('Tenant', 'zeta', undefined, {}),
    live('Tenant', 'acme', undefined, {}),
    live('Group', 'web', 'acme', { selector: {} }),
    live('Policy', 'p', 'acme', { appliesTo: { group: 'web' } }),
    live('Scope', 'prod', 'acme', {}),
  ];
  const all = exportIntent(objects);
  assert.deepEqual(
    all.map((o) => `${o.kind}/${o.metadata.tenant ?? ''}/${o.metadata.name}`),
    [
      'Tenant//acme',
      'Tenant//zeta',
      'Network/acme/web',
      'Network/zeta/web',
      'Scope/acme/prod',
      'Group/acme/web',
      'Policy/acme/p',
      'GlobalPolicy//base',
      'Service/acme/api',
    ],
  );
  for (const object of all) {
    assert.equal(object.status, undefined);
    assert.deepEqual(
      Object.keys(object.metadata).filter((k) => ['uid', 'resourceVersion', 'createdAt'].includes(k)),
      [],
    );
  }
  const acme = exportIntent(objects, { tenant: 'acme' });
  assert.deepEqual(
    acme.map((o) => `${o.kind}/${o.metadata.name}`),
    ['Tenant/acme', 'Network/web', 'Scope/prod', 'Group/web', 'Policy/p', 'Service/api'],
  );
  // What export writes reads back as the same valid objects.
  const text = toYamlStream(all);
  const reread = checkManifests(parseManifestText(text, 'export.yaml', 'yaml').documents);
  assert.deepEqual(reread.problems, []);
  assert.deepEqual(
    reread.objects.map((o) => o.object),
    all,
  );
  assert.equal(YAML.parseAllDocuments(text).length, all.length);
});

test('sortByDependency: kinds in registry order, then tenant, then name', () => {
  const sorted = sortByDependency([
    live('Group', 'b', 'x', {}),
    live('Group', 'a', 'x', {}),
    live('Group', 'z', 'a', {}),
    live('Tenant', 'x', undefined, {}),
  ]);
  assert.deepEqual(
    sorted.map((o) => `${o.kind}/${o.metadata.tenant ?? ''}/${o.metadata.name}`),
    ['Tenant//x', 'Group/a/z', 'Group/x/a', 'Group/x/b'],
  );
});
