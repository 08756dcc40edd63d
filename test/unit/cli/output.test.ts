import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TenetObject } from '../../../src/core/model/object';
import { kindInfo } from '../../../src/core/model/registry';
import { age, columnsFor, objectRows, renderTable, selectorText } from '../../../src/cli/output';
import { kindArg, revisionArg, targetArg } from '../../../src/cli/args';
import { CliError } from '../../../src/cli/context';
import { changesSummary } from '../../../src/cli/history-text';
import { describeObject, networkCapacity } from '../../../src/cli/describe-text';

const network: TenetObject = {
  apiVersion: 'tenet.dev/v1',
  kind: 'Network',
  metadata: { name: 'web', tenant: 'acme', createdAt: '2026-11-22T00:00:00.000Z', labels: { env: 'prod' } },
  spec: {
    subnets: [{ cidr: '10.0.0.0/24', reserved: [{ start: '10.0.0.10', end: '10.0.0.19' }] }, { cidr: 'fd00::/64' }],
    description: 'line1\nline2\u001b[31m',
  },
  status: { allocated: 3, gateways: ['10.0.0.1', 'fd00::1'] },
};

test('tables align columns and neutralise control characters from the server', () => {
  const text = renderTable(
    ['NAME', 'DESCRIPTION'],
    [
      ['a', 'x\ny\u001b[2J'],
      ['longer-name', 'ok'],
    ],
  );
  assert.equal(text, 'NAME          DESCRIPTION\na             x?y?[2J\nlonger-name   ok\n');
});

test('columns per kind: TENANT only across tenants, wide adds columns and labels', () => {
  const info = kindInfo('Network')!;
  const now = Date.parse('2026-11-22T03:00:00.000Z');
  const narrow = columnsFor(info, { wide: false, showTenant: true, now });
  assert.deepEqual(
    narrow.map((c) => c.header),
    ['TENANT', 'NAME', 'SUBNETS', 'GATEWAYS', 'AGE'],
  );
  assert.deepEqual(objectRows([network], narrow), [['acme', 'web', '10.0.0.0/24,fd00::/64', '10.0.0.1,fd00::1', '3h']]);
  const wide = columnsFor(info, { wide: true, showTenant: false, now });
  assert.deepEqual(
    wide.map((c) => c.header),
    ['NAME', 'SUBNETS', 'GATEWAYS', 'ALLOCATED', 'MTU', 'AGE', 'LABELS'],
  );
  assert.equal(objectRows([network], wide)[0][6], 'env=prod');
});

test('age and selector text', () => {
  const now = Date.parse('2026-11-22T03:00:00.000Z');
  assert.equal(age('2026-11-22T02:59:15.000Z', now), '45s');
  assert.equal(age('2026-11-22T02:00:00.000Z', now), '60m');
  assert.equal(age('2026-11-19T03:00:00.000Z', now), '3d');
  assert.equal(age(undefined, now), '<unknown>');
  assert.equal(selectorText({}), '<all>');
  assert.equal(
    selectorText({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'NotIn', values: ['db'] },
        { key: 'x', operator: 'DoesNotExist' },
      ],
    }),
    'app=web,tier notin (db),!x',
  );
});

test('arguments: kinds by alias, tenant/name, and bad input refused as usage errors', () => {
  assert.equal(kindArg('net').kind, 'Network');
  assert.equal(kindArg('GlobalPolicies').kind, 'GlobalPolicy');
  assert.deepEqual((({ info, ...rest }) => ({ kind: info.kind, ...rest }))(targetArg('networks', 'acme/web', undefined)), {
    kind: 'Network',
    name: 'web',
    tenant: 'acme',
  });
  const usage = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (error: unknown) => error instanceof CliError && error.exitCode === 2 && pattern.test(error.message));
  usage(() => kindArg('widgets'), /unknown kind "widgets"; use one of: tenants \(tn\), networks/);
  usage(() => targetArg('net', 'we b', 'acme'), /invalid name "we b"/);
  usage(() => targetArg('net', '$(reboot)', undefined), /invalid name "\$\(reboot\)"/);
  usage(() => targetArg('net', 'a/b/c', undefined), /invalid name "a\/b\/c"/);
  usage(() => targetArg('net', 'acme/web', 'globex'), /names tenant "acme" but --tenant says "globex"/);
  usage(() => targetArg('tenant', 'acme', 'acme'), /cluster-scoped/);
  usage(() => targetArg('net', 'wéb', 'acme'), /invalid name "wéb"/);
  usage(() => revisionArg('0'), /positive whole number/);
  usage(() => revisionArg('3;ls'), /invalid revision "3;ls"/);
  assert.equal(revisionArg('17'), 17);
});

test('history summary counts actions and caps the names', () => {
  const changes = [
    { kind: 'Tenant' as const, name: 'acme', action: 'created' as const },
    { kind: 'Network' as const, tenant: 'acme', name: 'web', action: 'created' as const },
    { kind: 'Network' as const, tenant: 'acme', name: 'db', action: 'deleted' as const },
    { kind: 'Group' as const, tenant: 'acme', name: 'g', action: 'configured' as const },
  ];
  assert.equal(changesSummary(changes), '2 created, 1 configured, 1 deleted: tenant/acme, network/acme/web, network/acme/db, +1 more');
  assert.equal(changesSummary([]), '<none>');
});

test('describe shows IPAM usage for networks and addresses of related endpoints', () => {
  assert.equal(networkCapacity(network), 256 - 3 - 10);
  const endpoint: TenetObject = {
    apiVersion: 'tenet.dev/v1',
    kind: 'Endpoint',
    metadata: { name: 'ep1', tenant: 'acme' },
    spec: { network: 'web' },
    status: { ipv4: '10.0.0.2', ipv6: 'fd00::2', phase: 'ready' },
  };
  const text = describeObject(network, { title: 'Endpoints', endpoints: [endpoint] });
  assert.match(text, /^Kind: +Network\nName: +web\nTenant: +acme\n/);
  assert.match(text, /\n {2}IPv4 used: +3 of 243 usable addresses \(1\.2%\)\n {2}IPv6 used: +1\n/);
  const { status: _unused, ...withoutStatus } = network;
  assert.match(
    describeObject(withoutStatus, { title: 'Endpoints', endpoints: [endpoint, endpoint] }),
    /\n {2}IPv4 used: +2 of 243 usable addresses \(0\.8%\)\n/,
    'counted from endpoints when status has no usage',
  );
  assert.match(describeObject(withoutStatus), /\n {2}IPv4 used: +unknown of 243 usable addresses\n/);
  assert.match(text, /\n {2}Gateways: +10\.0\.0\.1, fd00::1\n/);
  assert.match(text, /\nEndpoints:\n {2}NAME +NETWORK +IPV4 +IPV6 +PHASE\n {2}ep1 +web +10\.0\.0\.2 +fd00::2 +ready\n/);
  assert.ok(!text.includes('\u001b'), 'no escape sequences reach the terminal');
  const ep = describeObject(endpoint);
  assert.match(ep, /\n {2}IPv4: +10\.0\.0\.2\n {2}IPv6: +fd00::2\n/);
});

test('tenants -o wide: EGRESS and ROUTED say how the tenant reaches and is reached from the outside', () => {
  const tenant = (name: string, spec: Record<string, unknown>): TenetObject => ({
    apiVersion: 'tenet.dev/v1',
    kind: 'Tenant',
    metadata: { name, createdAt: '2026-11-22T00:00:00.000Z' },
    spec,
    status: { vni: 4096 },
  });
  const wide = columnsFor(kindInfo('Tenant')!, { wide: true, showTenant: false, now: Date.parse('2026-11-22T01:00:00.000Z') });
  const pick = (o: TenetObject): string[] => {
    const row = objectRows([o], wide)[0];
    return ['EGRESS', 'ROUTED'].map((h) => row[wide.findIndex((c) => c.header === h)]);
  };
  assert.deepEqual(pick(tenant('a', {})), ['<none>', '<none>']);
  assert.deepEqual(pick(tenant('b', { egress: { mode: 'nat' }, routed: {} })), ['nat', 'all']);
  assert.deepEqual(pick(tenant('c', { routed: { networks: ['front', 'back'] } })), ['<none>', 'front,back']);
  assert.ok(!columnsFor(kindInfo('Tenant')!, { wide: false, showTenant: false }).some((c) => c.header === 'ROUTED'));
});
