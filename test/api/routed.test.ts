/**
 * Routed networks through the API (docs/external.md, "Routed networks"): routed subnets are unique
 * cluster-wide, whichever write would break that (a tenant opting in, a tenant routing one more
 * network, a network added to a routed tenant), refused with 409 naming the conflict and writing
 * nothing; concurrent opt-ins never both win; a tenant-admin cannot opt its tenant in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken } from '../helpers/http';
import type { TenetObject } from '../../src/core/model/object';
import { ApiError } from '../../src/client/errors';
import { TenetClient } from '../../src/client/api-client';

const refused =
  (status: number, pattern: RegExp) =>
  (error: unknown): boolean =>
    error instanceof ApiError && error.status === status && pattern.test([error.message, ...error.details].join(' '));

const V = 'tenet.dev/v1';
let controller: RunningController;

before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
});

const tenant = (name: string, spec: Record<string, unknown> = {}): TenetObject =>
  ({ apiVersion: V, kind: 'Tenant', metadata: { name }, spec }) as TenetObject;
const network = (t: string, name: string, cidr: string): TenetObject =>
  ({ apiVersion: V, kind: 'Network', metadata: { name, tenant: t }, spec: { subnets: [{ cidr }] } }) as TenetObject;
const routedOf = async (name: string): Promise<unknown> => (await controller.client.get('Tenant', name)).spec.routed;

test('routed subnets are unique cluster-wide: opting in, routing another network, adding a network', async () => {
  const c = controller.client;
  await c.apply([
    tenant('ra', { routed: {} }),
    network('ra', 'front', '10.70.1.0/24'),
    network('ra', 'back', '10.73.0.0/24'),
    tenant('rb'),
    network('rb', 'front', '10.70.1.0/24'),
  ]);
  // Identical subnets in two tenants are fine until both are routed.
  await assert.rejects(
    c.apply([tenant('rb', { routed: {} })]),
    refused(409, /routed network "rb\/front" \(10\.70\.1\.0\/24\) overlaps routed network "ra\/front" \(10\.70\.1\.0\/24\)/),
  );
  assert.equal(await routedOf('rb'), undefined, 'nothing written');

  // Only the networks it lists are routed: rb may route another one.
  await c.apply([network('rb', 'other', '10.71.0.0/24'), tenant('rb', { routed: { networks: ['other'] } })]);
  assert.deepEqual(await routedOf('rb'), { networks: ['other'] });
  await c.apply([network('rb', 'web', '10.73.0.0/25'), network('rb', 'spare', '10.72.0.0/24')]);
  await assert.rejects(c.apply([tenant('rb', { routed: { networks: ['other', 'web'] } })]), refused(409, /"rb\/web".*"ra\/back"/));

  // A network added to a routed tenant (ra routes every network) is checked too, and not created.
  await assert.rejects(c.apply([network('ra', 'wide', '10.71.0.0/16')]), refused(409, /"ra\/wide".*"rb\/other"/));
  assert.equal(await c.find('Network', 'wide', 'ra'), undefined);
  // Making an unrouted network's subnet clash by a tenant change that routes "every network": refused.
  await assert.rejects(c.apply([tenant('rb', { routed: {} })]), refused(409, /"rb\/(front|web)"/));

  // Opting out frees the subnets.
  await c.apply([tenant('ra')]);
  await c.apply([tenant('rb', { routed: { networks: ['other', 'web'] } })]);
  assert.deepEqual(await routedOf('rb'), { networks: ['other', 'web'] });
  await assert.rejects(c.apply([tenant('ra', { routed: { networks: ['back'] } })]), refused(409, /"ra\/back".*"rb\/web"/));
  assert.equal(await routedOf('ra'), undefined);
});

test('two tenants opting in with overlapping subnets at the same moment: exactly one wins', async () => {
  const c = controller.client;
  await c.apply([tenant('ca'), network('ca', 'front', '10.80.1.0/24'), tenant('cb'), network('cb', 'front', '10.80.1.0/24')]);
  for (let round = 0; round < 5; round++) {
    const results = await Promise.allSettled([c.apply([tenant('ca', { routed: {} })]), c.apply([tenant('cb', { routed: {} })])]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: ${JSON.stringify(results)}`);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(refused(409, /routed networks must be unique/)(loser.reason), String(loser.reason));
    await c.apply([tenant('ca'), tenant('cb')]);
  }
  // A network created in a tenant while it opts in: never both routed with an overlap.
  await c.apply([tenant('ca', { routed: {} }), tenant('cc')]);
  for (let round = 0; round < 5; round++) {
    const results = await Promise.allSettled([
      c.apply([network('cc', `n${round}`, `10.80.1.${round * 16}/28`)]),
      c.apply([tenant('cc', { routed: { networks: [`n${round}`] } })]),
    ]);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1, `round ${round}: ${JSON.stringify(results)}`);
    await c.apply([tenant('cc')]);
  }
});

test('hostile tenant-admin: cannot opt its tenant in, and a network clashing with another routed tenant is refused', async () => {
  const c = controller.client;
  await c.apply([tenant('ha', { routed: {} }), network('ha', 'front', '10.90.1.0/24'), tenant('hb', { routed: {} })]);
  const token = async (t: string): Promise<TenetClient> =>
    new TenetClient({
      servers: [controller.url],
      token: (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: t })).token,
    });
  const hc = await token('hc');
  await c.apply([tenant('hc')]);
  await assert.rejects(hc.apply([tenant('hc', { routed: {} })]), refused(403, /./));
  assert.equal(await routedOf('hc'), undefined);
  // hb routes every network: its tenant-admin cannot add a network that would route ha's addresses.
  const hb = await token('hb');
  await assert.rejects(hb.apply([network('hb', 'grab', '10.90.1.0/24')]), refused(409, /overlaps routed network/));
  await assert.rejects(hb.apply([network('hb', 'grab', '10.90.1.128/25')]), refused(409, /overlaps routed network/));
  assert.equal(await c.find('Network', 'grab', 'hb'), undefined);

  // Nor a network over what the cluster itself uses: a host's underlay address (its BGP session and
  // overlay would be drawn into the tenant), a floating IP pool, the transit range, link-local.
  await c.apply([
    { apiVersion: V, kind: 'Host', metadata: { name: 'hh1' }, spec: { underlayIP: '10.91.0.5' } } as TenetObject,
    { apiVersion: V, kind: 'FloatingIPPool', metadata: { name: 'hpool' }, spec: { cidrs: ['10.92.0.0/24'] } } as TenetObject,
  ]);
  for (const [cidr, why] of [
    ['10.91.0.0/24', /contains 10\.91\.0\.5, the underlay address of host "hh1"/],
    ['10.92.0.128/25', /overlaps 10\.92\.0\.0\/24 of floating IP pool "hpool"/],
    ['100.64.16.0/24', /the egress transit range/],
    ['169.254.0.0/24', /link-local/],
  ] as const) {
    await assert.rejects(hb.apply([network('hb', 'under', cidr)]), refused(409, why));
  }
  assert.equal(await c.find('Network', 'under', 'hb'), undefined);
  // The same subnet in a tenant that is not routed is its own business (it stays in its namespaces).
  await c.apply([network('hc', 'under', '10.91.0.0/24')]);
  await assert.rejects(c.apply([tenant('hc', { routed: {} })]), refused(409, /underlay address of host "hh1"/));
});
