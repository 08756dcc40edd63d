/**
 * The enforcer against a real kernel: a tenant router namespace with three containers, real TCP
 * probes, a policy change that must not cut established connections, a container added after the
 * policy exists covered before its first packet (by element updates only), a resync after a lost
 * record that changes nothing, and per-rule hit counters.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { buildHostView } from '../../../src/core/dataplane/host-view';
import type { TenetObject } from '../../../src/core/model/object';
import { createPolicyEnforcer, type Transaction } from '../../../src/agent/policy/enforcer';
import { summarizeOps } from '../../../src/core/policy/diff';
import { PolicyFixture } from '../../policy/netns-fixture';
import { run } from '../../../src/kernel/exec';

const V = 'tenet.dev/v1';
const GATEWAY = '10.70.0.1';

function objects(hostName: string, endpoints: Array<{ name: string; ip: string; app: string }>, dbPorts: number[]): TenetObject[] {
  const list: unknown[] = [
    { apiVersion: V, kind: 'Tenant', metadata: { name: 'acme' }, spec: { defaultPolicy: 'allow' }, status: { vni: 77 } },
    { apiVersion: V, kind: 'Host', metadata: { name: hostName }, spec: { underlayIP: '192.0.2.1' } },
    { apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant: 'acme' }, spec: { subnets: [{ cidr: '10.70.0.0/24' }] } },
    { apiVersion: V, kind: 'Group', metadata: { name: 'web', tenant: 'acme' }, spec: { selector: { matchLabels: { app: 'web' } } } },
    { apiVersion: V, kind: 'Group', metadata: { name: 'db', tenant: 'acme' }, spec: { selector: { matchLabels: { app: 'db' } } } },
    {
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: 'db-ingress', tenant: 'acme' },
      spec: {
        appliesTo: { group: 'db' },
        ingress: dbPorts.length
          ? [
              { action: 'allow', from: [{ group: 'web' }], ports: dbPorts.map((port) => ({ protocol: 'TCP', port })) },
              // A named port and a CIDR with except: their sets must survive a read-back unchanged too.
              { action: 'allow', from: [{ group: 'web' }], ports: [{ port: 'metrics' }] },
              { action: 'allow', from: [{ cidr: '10.99.0.0/16', except: ['10.99.1.0/24'] }] },
            ]
          : [],
      },
    },
    ...endpoints.map((e) => ({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name: e.name, tenant: 'acme', labels: { app: e.app } },
      spec: { network: 'net', host: hostName, ...(e.app === 'db' ? { ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] } : {}) },
      status: { ipv4: e.ip, phase: 'ready' },
    })),
  ];
  return list as TenetObject[];
}

type Ep = { name: string; ip: string; app: string };

/** A router namespace (removed after the test) with a container per endpoint. */
async function fixtureWith(t: TestContext, endpoints: Ep[]): Promise<PolicyFixture> {
  const fixture = new PolicyFixture('acme');
  t.after(() => fixture.cleanup());
  await fixture.start(GATEWAY);
  for (const e of endpoints) await fixture.addEndpoint(e.name, e.ip, GATEWAY);
  return fixture;
}

test('enforcer programs a real namespace: verdicts, established flows, new containers, resync, counters', async (t) => {
  const eps = [
    { name: 'web-1', ip: '10.70.0.2', app: 'web' },
    { name: 'other-1', ip: '10.70.0.3', app: 'other' },
    { name: 'db-1', ip: '10.70.0.4', app: 'db' },
  ];
  const fixture = await fixtureWith(t, eps);
  await fixture.listen('db-1', 'tcp', 5432);
  await fixture.listen('db-1', 'tcp', 22);
  await fixture.listen('web-1', 'tcp', 80);
  await fixture.listen('db-1', 'tcp', 9100);

  const transactions: Transaction[] = [];
  const log = () => undefined;
  const enforcer = createPolicyEnforcer({ hostName: 'h1', netnsPrefix: fixture.prefix, log, onTransaction: (tx) => transactions.push(tx) });
  const view = (list: typeof eps, ports: number[]) =>
    buildHostView(objects('h1', list, ports), { hostName: 'h1', netnsPrefix: fixture.prefix });

  // Before any policy is programmed, everything flows.
  assert.equal(await fixture.probe('other-1', 'db-1', 'tcp', 22), true);

  await enforcer.sync(view(eps, [5432]));
  assert.equal(transactions.length, 1);
  assert.equal(transactions[0].full, true);
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 5432), true, 'web -> db:5432 allowed by the policy');
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 22), false, 'web -> db:22 isolated');
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 9100), true, 'web -> db named port metrics allowed');
  assert.equal(await fixture.probe('other-1', 'db-1', 'tcp', 9100), false);
  assert.equal(await fixture.probe('other-1', 'db-1', 'tcp', 5432), false, 'other -> db isolated');
  assert.equal(await fixture.probe('db-1', 'web-1', 'tcp', 80), true, 'db -> web: no policy, tenant default allow');

  // An established connection survives a change that denies new ones.
  const conn = fixture.connect('web-1', 'db-1', 5432);
  t.after(() => conn.close());
  assert.equal(await conn.send('before'), true);
  await enforcer.sync(view(eps, []));
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 5432), false, 'new connections are denied now');
  assert.equal(await conn.send('after'), true, 'the established connection still carries data');
  conn.close();

  // Back to allowing 5432; then a container started after the policy exists.
  await enforcer.sync(view(eps, [5432]));
  const grown = [...eps, { name: 'web-2', ip: '10.70.0.5', app: 'web' }];
  await fixture.addEndpoint('web-2', '10.70.0.5', GATEWAY);
  const before = transactions.length;
  const grownView = view(grown, [5432]);
  await enforcer.endpointAdded!(
    grownView,
    grownView.tenants[0].endpoints.find((e) => e.name === 'web-2')!,
  );
  assert.equal(transactions.length, before + 1);
  const counts = summarizeOps(transactions[transactions.length - 1].ops);
  assert.equal(transactions[transactions.length - 1].full, false);
  assert.deepEqual(
    Object.entries(counts).filter(([, n]) => n > 0),
    [
      ['addElements', 1],
      ['addMapElements', 2],
    ],
    'a joining member changes only set and map elements',
  );
  assert.equal(await fixture.probe('web-2', 'db-1', 'tcp', 5432), true, "the new container's first connection is allowed by its group");

  // A lost record (agent restart): the kernel is read back and nothing needs to change.
  enforcer.forget();
  const beforeResync = transactions.length;
  await enforcer.sync(grownView);
  assert.equal(transactions.length, beforeResync, 'resync of an unchanged kernel sends nothing');

  // Counters attribute hits to the policy rule: only the first packet of a connection reaches it
  // (the rest is accepted as established), and the chain was rewritten before web-2's connection.
  const hits = await enforcer.ruleHits(fixture.router);
  assert.deepEqual(hits.get('tenant:db-ingress:ingress:0')?.packets, 1, `hits: ${JSON.stringify([...hits])}`);
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 5432), true);
  assert.deepEqual((await enforcer.ruleHits(fixture.router)).get('tenant:db-ingress:ingress:0')?.packets, 2);
  const perPolicy = await enforcer.policyHits();
  assert.deepEqual(
    perPolicy.map((p) => [p.tier, p.policy, p.ruleHits.map((r) => [r.direction, r.index, r.packets])]),
    [
      [
        'tenant',
        'db-ingress',
        [
          ['ingress', 0, 2],
          ['ingress', 1, 0],
          ['ingress', 2, 0],
        ],
      ],
    ],
  );

  // Leaving: the interface leaves the dispatch maps, its address the group set.
  await enforcer.endpointRemoved!(grownView, {
    tenant: 'acme',
    name: 'web-2',
    hostIfName: grownView.tenants[0].endpoints.find((e) => e.name === 'web-2')!.hostIfName!,
  });
  const last = summarizeOps(transactions[transactions.length - 1].ops);
  assert.equal(last.deleteElements, 1);
  assert.equal(last.deleteMapElements, 2);
});

/** Chains with a forward hook in the namespace's table (none means the kernel tracks no connection for it). */
async function hookedChains(router: string): Promise<string[]> {
  const table = JSON.parse((await run('ip', ['netns', 'exec', router, 'nft', '-j', 'list', 'table', 'inet', 'tenet'])).stdout) as {
    nftables: Array<{ chain?: { name: string; hook?: string } }>;
  };
  return table.nftables.flatMap((item) => (item.chain?.hook ? [item.chain.name] : []));
}

async function trackedConnections(router: string): Promise<number> {
  return Number((await run('ip', ['netns', 'exec', router, 'conntrack', '-C'])).stdout.trim());
}

test('a namespace no policy restricts has no hooks and tracks nothing; the first restriction adds them; hand edits are repaired', async (t) => {
  const eps = [
    { name: 'web-1', ip: '10.70.0.2', app: 'web' },
    { name: 'db-1', ip: '10.70.0.4', app: 'db' },
  ];
  const fixture = await fixtureWith(t, eps);
  await fixture.listen('db-1', 'tcp', 5432);
  await fixture.listen('db-1', 'tcp', 22);
  const enforcer = createPolicyEnforcer({ hostName: 'h1', netnsPrefix: fixture.prefix, log: () => undefined, readBackMs: 0 });
  const view = (dbPorts: number[] | undefined) =>
    buildHostView(
      objects('h1', eps, dbPorts ?? []).filter((o) => dbPorts !== undefined || o.kind !== 'Policy'),
      { hostName: 'h1', netnsPrefix: fixture.prefix },
    );

  await enforcer.sync(view(undefined));
  assert.deepEqual(await hookedChains(fixture.router), [], 'no policy: the table has no hooks');
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 22), true);
  assert.equal(await trackedConnections(fixture.router), 0, 'and the kernel tracks no connection');

  // A connection that began untracked is judged by the first restriction (docs/policy.md).
  const untracked = fixture.connect('web-1', 'db-1', 5432);
  const untrackedDenied = fixture.connect('web-1', 'db-1', 22);
  t.after(() => [untracked, untrackedDenied].forEach((c) => c.close()));
  assert.equal(await untracked.send('before'), true);
  assert.equal(await untrackedDenied.send('before'), true);
  await enforcer.sync(view([5432]));
  assert.deepEqual((await hookedChains(fixture.router)).sort(), ['egress', 'ingress']);
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 5432), true, 'allowed by the policy');
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 22), false, 'isolated by the policy');
  assert.ok((await trackedConnections(fixture.router)) > 0, 'connections are tracked now');
  assert.equal(await untracked.send('after'), true, 'the untracked connection is allowed by the policy, so it carries on');
  assert.equal(await untrackedDenied.send('after'), false, 'the untracked connection the policy denies is cut at its next packet');

  // A hand edit (the ingress hook flushed) fails closed: the hook keeps its policy, drop, so new
  // connections get nothing, allowed or not, until the next pass's read-back repairs it.
  await run('ip', ['netns', 'exec', fixture.router, 'nft', 'flush', 'chain', 'inet', 'tenet', 'ingress']);
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 22), false, 'the flushed hook lets nothing in (fail closed)');
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 5432), false, 'not even what the policy allows, until repaired');
  await enforcer.sync(view([5432]));
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 22), false, 'repaired by the read-back');
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 5432), true, 'repaired by the read-back: allowed again');

  // Every restriction gone: the hooks leave again.
  await enforcer.sync(view(undefined));
  assert.deepEqual(await hookedChains(fixture.router), []);
  assert.equal(await fixture.probe('web-1', 'db-1', 'tcp', 22), true);
});

test('dispatch entries of deleted links are dropped by a reconcile pass, never by an attach or detach (each drop waits for RCU)', async (t) => {
  const all = [
    { name: 'web-1', ip: '10.70.0.2', app: 'web' },
    { name: 'db-1', ip: '10.70.0.4', app: 'db' },
    { name: 'web-2', ip: '10.70.0.5', app: 'web' },
    { name: 'web-3', ip: '10.70.0.6', app: 'web' },
  ];
  const fixture = await fixtureWith(t, all.slice(0, 3));
  await fixture.listen('db-1', 'tcp', 5432);
  await fixture.listen('db-1', 'tcp', 22);
  const transactions: Transaction[] = [];
  // Expired at once and prunable at once: only where pruning happens is left to decide.
  const enforcer = createPolicyEnforcer({
    hostName: 'h1',
    netnsPrefix: fixture.prefix,
    log: () => undefined,
    onTransaction: (tx) => transactions.push(tx),
    spareMs: 0,
    pruneMs: 0,
  });
  const view = (names: string[]) =>
    buildHostView(
      objects(
        'h1',
        all.filter((e) => names.includes(e.name)),
        [5432],
      ),
      { hostName: 'h1', netnsPrefix: fixture.prefix },
    );
  const last = () => summarizeOps(transactions[transactions.length - 1].ops);

  await enforcer.sync(view(['web-1', 'db-1', 'web-2']));
  const gone = view(['web-1', 'db-1', 'web-2']).tenants[0].endpoints.find((e) => e.name === 'web-2')!.hostIfName!;
  await run('ip', ['-n', fixture.router, 'link', 'del', gone]);
  await enforcer.endpointRemoved!(view(['web-1', 'db-1', 'web-2']), { tenant: 'acme', name: 'web-2', hostIfName: gone, linkGone: true });
  assert.equal(last().deleteElements, 1, 'its address leaves the sets at once');
  assert.equal(last().deleteMapElements, 0, 'its dispatch entries stay for now');

  await fixture.addEndpoint('web-3', '10.70.0.6', GATEWAY);
  const grown = view(['web-1', 'db-1', 'web-3']);
  await enforcer.endpointAdded!(
    grown,
    grown.tenants[0].endpoints.find((e) => e.name === 'web-3')!,
  );
  assert.equal(last().addMapElements, 2);
  assert.equal(last().deleteMapElements, 0, 'an attach does not drop the expired entries');

  await enforcer.sync(grown);
  assert.equal(last().deleteMapElements, 2, 'the next reconcile pass drops them');
  const maps = (await run('ip', ['netns', 'exec', fixture.router, 'nft', 'list', 'map', 'inet', 'tenet', 'egress_dispatch'])).stdout;
  assert.ok(!maps.includes(gone), maps);
  assert.equal(await fixture.probe('web-3', 'db-1', 'tcp', 5432), true, 'the new container is in its group');
  assert.equal(await fixture.probe('web-3', 'db-1', 'tcp', 22), false, 'and isolated like it');
});
