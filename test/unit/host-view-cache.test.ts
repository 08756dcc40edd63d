/**
 * The agent's host view, updated change by change (HostViewCache through HostViews and the follower's
 * journal of changed objects), is the view buildHostView makes from every object, over a seeded
 * random sequence of changes of every kind; a change of one tenant's object leaves the other tenants'
 * views the very same objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TenetClient } from '../../src/client/api-client';
import { Follower } from '../../src/agent/follower';
import { HostViews } from '../../src/agent/host-views';
import { buildHostView, HOST_VIEW_KINDS } from '../../src/core/dataplane/host-view';
import type { TenetObject } from '../../src/core/model/object';
import { Random } from '../policy/world';

/** A seeded sequence (the project's mulberry32, test/policy/world.ts): the same on every run. */
function random(seed: number): (n: number) => number {
  const generator = new Random(seed);
  return (n) => generator.int(n);
}

const host = { hostName: 'h1', netnsPrefix: 'p-', underlayIP: '192.168.0.1' };

function follower(): Follower {
  return new Follower({ client: {} as TenetClient, kinds: HOST_VIEW_KINDS, log: () => undefined, onChange: () => undefined });
}

test('the host view updated change by change equals the view made from every object, and a change of one tenant keeps the others’ views', () => {
  const pick = random(5);
  const f = follower();
  const views = new HostViews(f, { ...host });
  let revision = 1;
  const meta = (name: string, tenant?: string, labels: Record<string, string> = {}) => ({
    name,
    ...(tenant !== undefined ? { tenant } : {}),
    labels,
    uid: `u-${tenant ?? ''}-${name}`,
    resourceVersion: String(revision++),
  });
  const tenants = ['a', 'b', 'c'];
  const make = (): TenetObject => {
    const tenant = tenants[pick(3)];
    const n = pick(30);
    switch (pick(12)) {
      case 0:
        return {
          apiVersion: 'tenet.dev/v1',
          kind: 'Tenant',
          metadata: meta(tenant),
          spec: { defaultPolicy: pick(2) ? 'allow' : 'deny' },
          status: { vni: 100 + tenants.indexOf(tenant) },
        } as TenetObject;
      case 1:
        return {
          apiVersion: 'tenet.dev/v1',
          kind: 'Host',
          metadata: meta(`h${1 + pick(3)}`),
          spec: { underlayIP: `192.168.0.${1 + pick(3)}` },
          status: { ready: pick(2) === 0 },
        } as TenetObject;
      case 2:
        return {
          apiVersion: 'tenet.dev/v1',
          kind: 'Network',
          metadata: meta(`n${pick(3)}`, tenant),
          spec: { subnets: [{ cidr: `10.${pick(200)}.0.0/24` }] },
        } as TenetObject;
      case 3:
      case 4:
        return {
          apiVersion: 'tenet.dev/v1',
          kind: 'Service',
          metadata: meta(`s${n}`, tenant),
          spec: { selector: { matchLabels: { app: `x${pick(3)}` } }, ports: [{ protocol: 'TCP', port: 80 }] },
          status: { virtualIPs: [`10.96.0.${n + 1}`] },
        } as TenetObject;
      case 5:
        return {
          apiVersion: 'tenet.dev/v1',
          kind: 'Policy',
          metadata: meta(`p${pick(4)}`, tenant),
          spec: { selector: {}, ingress: [] },
        } as unknown as TenetObject;
      default:
        return {
          apiVersion: 'tenet.dev/v1',
          kind: 'Endpoint',
          metadata: meta(`e${n}`, tenant, { app: `x${pick(3)}` }),
          spec: { network: `n${pick(3)}`, host: `h${1 + pick(2)}` },
          status: { ipv4: `10.1.${pick(4)}.${1 + n}`, phase: pick(4) ? 'ready' : 'pending' },
        } as TenetObject;
    }
  };
  let kept = 0;
  let updated = 0;
  for (let step = 0; step < 1500; step++) {
    const before = views.view();
    const object = make();
    const removes = pick(6) === 0;
    if (removes) f.remove(object.kind, object.metadata.tenant, object.metadata.name);
    else f.upsert(object);
    if (pick(3) === 0) continue; // several changes before the next read
    const view = views.view();
    assert.deepEqual(view, buildHostView(f.list(), { ...host, overlayMtu: views.overlayMtu }), `step ${step}`);
    // A change of one tenant's object (or its Tenant): every other tenant's view is the same object as
    // before; a Host's change (a heartbeat) keeps every tenant's view.
    const tenantOf = object.kind === 'Tenant' ? object.metadata.name : object.kind === 'Host' ? '' : object.metadata.tenant;
    if (tenantOf !== undefined) {
      updated++;
      for (const t of view.tenants) {
        const old = before.tenants.find((x) => x.name === t.name);
        if (t.name !== tenantOf && old && f.changedSince(0) !== undefined) {
          assert.equal(t, old, `step ${step}: tenant ${t.name} untouched`);
          kept++;
        }
      }
    }
  }
  assert.ok(updated > 500 && kept > 200, `${updated} tenant changes, ${kept} tenant views kept`);
});

test('the follower journal: changedSince names the changed objects, and undefined once it no longer knows', () => {
  const f = follower();
  const tenant = (name: string, rv: number) =>
    ({ apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name, resourceVersion: String(rv) }, spec: {} }) as TenetObject;
  const start = f.generation;
  f.upsert(tenant('a', 1));
  f.upsert(tenant('b', 1));
  f.remove('Tenant', undefined, 'a');
  assert.deepEqual(
    f.changedSince(start)!.map((c) => `${c.kind}/${c.name}`),
    ['Tenant/a', 'Tenant/b', 'Tenant/a'],
  );
  assert.deepEqual(f.changedSince(f.generation), []);
  const mid = f.generation;
  for (let i = 2; i < 6000; i++) f.upsert(tenant('b', i));
  assert.equal(f.changedSince(start), undefined, 'too far behind: a reader makes its view again');
  assert.equal(f.changedSince(mid), undefined);
  assert.equal(f.changedSince(f.generation - 10)!.length, 10);
});
