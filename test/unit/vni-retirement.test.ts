/** The pure retire/confirm rules of src/core/ipam/vni-retirement.ts, and which namespaces an agent finds stale (src/core/dataplane/stale.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { staleNamespaceReason } from '../../src/core/dataplane/stale';
import { legacyVxlanMac, vxlanMac } from '../../src/core/dataplane/names';
import { confirmHost, decodeVniValue, encodeRetired, reportConfirms, retireVni } from '../../src/core/ipam/vni-retirement';

const AT = '2026-12-06T18:00:00.000Z';

test('a retirement names every host once, sorted; with no host the VNI is free at once', () => {
  assert.deepEqual(retireVni(5000, 'alpha', 'u-1', ['h2', 'h1', 'h2'], AT), {
    vni: 5000,
    tenant: 'alpha',
    uid: 'u-1',
    at: AT,
    hosts: ['h1', 'h2'],
  });
  assert.equal(retireVni(5000, 'alpha', 'u-1', [], AT), undefined);
});

test('the VNI key value: a plain tenant name (as before) or a retirement record', () => {
  assert.deepEqual(decodeVniValue('alpha'), { tenant: 'alpha' });
  const record = retireVni(5000, 'alpha', undefined, ['h1'], AT)!;
  assert.deepEqual(decodeVniValue(encodeRetired(record)), { retired: record });
  assert.throws(() => decodeVniValue('{"other":1}'), /unreadable VNI record/);
});

test('a report confirms only with both fields, a view at or after the deletion, and no namespace of the tenant', () => {
  const record = retireVni(5000, 'alpha', 'u-1', ['h1', 'h2'], AT)!;
  assert.equal(reportConfirms(record, undefined, 10), false);
  assert.equal(reportConfirms(record, {}, 10), false, 'an agent that does not report namespaces never confirms');
  assert.equal(reportConfirms(record, { tenantNamespaces: [] }, 10), false, 'no revision: the view could predate the deletion');
  assert.equal(reportConfirms(record, { tenantNamespaces: [], observedRevision: 9 }, 10), false);
  assert.equal(reportConfirms(record, { tenantNamespaces: ['beta', 'alpha'], observedRevision: 10 }, 10), false);
  assert.equal(reportConfirms(record, { tenantNamespaces: ['beta'], observedRevision: 10 }, 10), true);
  assert.equal(reportConfirms(record, { tenantNamespaces: [], observedRevision: 11 }, 10), true);
});

test('confirmations strike hosts off; the last one releases', () => {
  const record = retireVni(5000, 'alpha', 'u-1', ['h1', 'h2'], AT)!;
  const after1 = confirmHost(record, 'h1');
  assert.notEqual(after1, 'released');
  assert.deepEqual((after1 as typeof record).hosts, ['h2']);
  assert.deepEqual(confirmHost(record, 'h9'), record, 'a host that was not named changes nothing');
  assert.equal(confirmHost(after1 as typeof record, 'h2'), 'released');
});

test('stale namespaces at an agent start: tenant gone, another VNI, another tenant uid; the pre-uid MAC is adopted', () => {
  const tenants = new Map([['alpha', { uid: 'u-new', vni: 5001 }]]);
  const mine = { vni: 5001, mac: vxlanMac('h2', 5001, 'u-new') };
  assert.equal(staleNamespaceReason({ name: 'p-t-alpha', tenant: 'alpha', vxlan: mine }, tenants, 'h2'), undefined);
  assert.equal(
    staleNamespaceReason({ name: 'p-t-alpha', tenant: 'alpha' }, tenants, 'h2'),
    undefined,
    'no device yet: nothing says it is stale',
  );
  assert.equal(
    staleNamespaceReason({ name: 'p-t-alpha', tenant: 'alpha', vxlan: { vni: 5001, mac: legacyVxlanMac('h2', 5001) } }, tenants, 'h2'),
    undefined,
  );
  assert.match(staleNamespaceReason({ name: 'p-t-beta', tenant: 'beta', vxlan: mine }, tenants, 'h2')!, /no longer exists/);
  assert.match(
    staleNamespaceReason({ name: 'p-t-alpha', tenant: 'alpha', vxlan: { vni: 5000, mac: vxlanMac('h2', 5000, 'u-old') } }, tenants, 'h2')!,
    /VNI 5000/,
  );
  assert.match(
    staleNamespaceReason({ name: 'p-t-alpha', tenant: 'alpha', vxlan: { vni: 5001, mac: vxlanMac('h2', 5001, 'u-old') } }, tenants, 'h2')!,
    /earlier tenant/,
  );
  assert.match(
    staleNamespaceReason({ name: 'p-t-alpha', tenant: 'alpha', vxlan: { vni: 5001, mac: vxlanMac('h1', 5001, 'u-new') } }, tenants, 'h2')!,
    /MAC/,
  );
});
