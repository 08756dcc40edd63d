/**
 * The incremental paths that make a backend change cost the change, not the number of services: the
 * persistent groups of the slot and dispatch maps (groupsChanged), the selector index that finds the
 * services a changed endpoint may touch, and the compiler built on both. Each is checked against the
 * plain computation it replaces, over seeded random sequences of changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GROUP_LAYER_LIMIT, groupsChanged, groupsChangedFrom, type NftProgram } from '../../src/core/policy/program';
import { SelectorIndex } from '../../src/core/model/selector-index';
import { selectorMatches, type LabelSelector } from '../../src/core/model/selectors';
import { ServiceNatCompiler, servicesProgram } from '../../src/core/services/compile';
import { diffPrograms } from '../../src/core/policy/diff';
import { renderRule } from '../../src/core/policy/render';
import type { EndpointView, NetworkView, TenantView } from '../../src/core/dataplane/host-view';
import type { Service } from '../../src/core/model/kinds/service';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import { Random } from '../policy/world';

/** A seeded sequence (the project's mulberry32, test/policy/world.ts): the same on every run. */
function random(seed: number): (n: number) => number {
  const generator = new Random(seed);
  return (n) => generator.int(n);
}

type Group = Readonly<Record<string, string>>;

test('groupsChanged: every version reads, iterates and counts as a Map changed the same way, across compactions, and earlier versions stay as they were', () => {
  const pick = random(7);
  let groups: ReadonlyMap<string, Group> = new Map([...Array(50).keys()].map((i) => [`s${i}`, { [`k${i}`]: 'v0' }]));
  const reference = new Map(groups);
  const kept: { version: ReadonlyMap<string, Group>; entries: [string, Group][] }[] = [];
  let compacted = 0;
  for (let step = 0; step < 3 * GROUP_LAYER_LIMIT; step++) {
    const changes = new Map<string, Group | undefined>();
    for (let i = 0, n = 1 + pick(3); i < n; i++) {
      // Names beyond the first 50 come and go; a removed name may come back.
      const name = `s${pick(GROUP_LAYER_LIMIT + 200)}`;
      changes.set(name, pick(4) === 0 ? undefined : { [`k-${name}`]: `v${step}` });
    }
    const from = groups;
    groups = groupsChanged(from, changes);
    if (groups instanceof Map) compacted++;
    for (const [name, group] of changes) {
      if (group === undefined) reference.delete(name);
      else reference.set(name, group);
    }
    assert.deepEqual([...(groupsChangedFrom(groups, from) ?? [])], [...changes.keys()]);
    assert.deepEqual([...groups], [...reference], `step ${step}: entries in a Map's order`);
    assert.equal(groups.size, reference.size);
    for (const name of changes.keys()) {
      assert.equal(groups.has(name), reference.has(name));
      assert.equal(groups.get(name), reference.get(name));
    }
    if (step % 97 === 0) kept.push({ version: groups, entries: [...reference] });
  }
  assert.ok(compacted > 0, 'the layers were folded into a new base at least once');
  for (const { version, entries } of kept) assert.deepEqual([...version], entries, 'an earlier version is unchanged');
});

test('SelectorIndex: the candidates of a label set include every selector that matches it, and follow selectors changed and removed', () => {
  const pick = random(11);
  const keys = ['app', 'tier', 'env'];
  const values = ['a', 'b', 'c', 'd'];
  const labelsAt = (): Record<string, string> => {
    const labels: Record<string, string> = {};
    for (const key of keys) if (pick(3) > 0) labels[key] = values[pick(values.length)];
    return labels;
  };
  const selectorAt = (): LabelSelector => {
    switch (pick(6)) {
      case 0:
        return {};
      case 1:
        return { matchLabels: { [keys[pick(3)]]: values[pick(4)] } };
      case 2:
        return { matchExpressions: [{ key: keys[pick(3)], operator: 'In', values: [values[pick(4)], values[pick(4)]] }] };
      case 3:
        return { matchExpressions: [{ key: keys[pick(3)], operator: 'NotIn', values: [values[pick(4)]] }] };
      case 4:
        return {
          matchExpressions: [
            { key: keys[pick(3)], operator: 'Exists' },
            { key: keys[pick(3)], operator: 'In', values: [values[pick(4)]] },
          ],
        };
      default:
        return { matchLabels: labelsAt(), matchExpressions: [{ key: keys[pick(3)], operator: 'DoesNotExist' }] };
    }
  };
  const index = new SelectorIndex();
  const selectors = new Map<string, LabelSelector>();
  let narrowed = 0;
  for (let step = 0; step < 2000; step++) {
    const name = `x${pick(60)}`;
    if (pick(5) === 0) {
      index.delete(name);
      selectors.delete(name);
    } else {
      const selector = selectorAt();
      index.set(name, selector);
      selectors.set(name, selector);
    }
    const labels = labelsAt();
    const candidates = index.candidates(labels);
    for (const [n, selector] of selectors)
      if (selectorMatches(selector, labels)) assert.ok(candidates.has(n), `${n} matches ${JSON.stringify(labels)} and is a candidate`);
    for (const n of candidates) assert.ok(selectors.has(n), 'no removed selector is a candidate');
    if (candidates.size < selectors.size) narrowed++;
    assert.equal(index.size, selectors.size);
  }
  assert.ok(narrowed > 1000, `the index narrowed the candidates in ${narrowed} of 2000 lookups`);
});

const network: NetworkView = {
  name: 'net',
  tenant: 't',
  subnets: [
    { family: 4, cidr: '10.0.0.0/16', prefix: 16, gateway: '10.0.0.1' },
    { family: 6, cidr: 'fd00:1::/64', prefix: 64, gateway: 'fd00:1::1' },
  ],
  mtu: 1450,
  object: {} as NetworkView['object'],
};

function endpointView(name: string, n: number, labels: Record<string, string>, ready: boolean, local: boolean): EndpointView {
  const ipv4 = `10.0.${n >> 8}.${n & 255}`;
  const ipv6 = `fd00:1::${n.toString(16)}`;
  const phase = ready ? 'ready' : 'pending';
  const object: Endpoint = {
    apiVersion: 'tenet.dev/v1',
    kind: 'Endpoint',
    metadata: { name, tenant: 't', labels },
    spec: { network: 'net', host: 'h1', ports: [{ name: 'http', port: 8080 + (n % 3), protocol: 'TCP' }] },
    status: { ipv4, ipv6, phase },
  };
  return { name, tenant: 't', network: 'net', host: 'h1', local, labels, ipv4, ipv6, mac: '02:00:00:00:00:01', phase, ports: [], object };
}

/** What a program makes the kernel hold, whatever the order of its elements. */
function meaning(program: NftProgram): unknown {
  return {
    sets: program.sets.map((s) => ({ name: s.name, type: s.type, elements: [...s.elements].sort() })),
    maps: program.maps.map((m) => ({
      name: m.name,
      typeof: m.typeof,
      keyType: m.keyType,
      elements: Object.entries(m.elements)
        .map(([k, v]) => `${k} : ${v}`)
        .sort(),
    })),
    chains: program.chains.map((c) => ({ name: c.name, base: c.base, rules: c.rules.map(renderRule) })),
  };
}

test('the incremental compiler (selector index, persistent groups) gives what a full compile gives over a random sequence of endpoint and service changes, and its diffs are those of the flat maps', () => {
  const pick = random(23);
  const apps = ['a', 'b', 'c', 'd', 'e'];
  const selectorAt = (): LabelSelector =>
    [
      { matchLabels: { app: apps[pick(5)] } },
      { matchExpressions: [{ key: 'app', operator: 'In' as const, values: [apps[pick(5)], apps[pick(5)]] }] },
      { matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: [apps[pick(5)]] }] },
      { matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] },
      {},
    ][pick(5)];
  const serviceAt = (i: number, version: number): Service => ({
    apiVersion: 'tenet.dev/v1',
    kind: 'Service',
    metadata: { name: `s${i}`, tenant: 't', resourceVersion: String(version) },
    spec: {
      selector: selectorAt(),
      ports: [{ protocol: 'TCP', port: 80, targetPort: pick(2) === 0 ? 8080 : 'http' }],
      ...(pick(6) === 0 ? { sessionAffinity: 'ClientIP' as const, sessionAffinityTimeoutSeconds: 30 + pick(2) * 30 } : {}),
    },
    status: { virtualIPs: [`10.96.${i >> 8}.${(i & 255) + 1}`, ...(pick(2) === 0 ? [`fd00:96::${(i + 1).toString(16)}`] : [])] },
  });
  const endpointAt = (i: number): EndpointView => {
    const labels: Record<string, string> = { app: apps[pick(5)] };
    if (pick(2) === 0) labels.tier = 'x';
    return endpointView(`e${i}`, 10 + i, labels, pick(5) > 0, pick(3) === 0);
  };
  const services = new Map<number, Service>();
  for (let i = 0; i < 40; i++) services.set(i, serviceAt(i, 1));
  const endpoints = new Map<number, EndpointView>();
  for (let i = 0; i < 30; i++) endpoints.set(i, endpointAt(i));
  const tenantNow = (): Pick<TenantView, 'name' | 'services' | 'endpoints' | 'networks'> => ({
    name: 't',
    networks: [network],
    services: [...services.entries()].sort(([a], [b]) => a - b).map(([, s]) => s),
    endpoints: [...endpoints.entries()].sort(([a], [b]) => a - b).map(([, e]) => e),
  });
  const compiler = new ServiceNatCompiler();
  let last = compiler.compile(tenantNow());
  let lastFull = servicesProgram(tenantNow());
  let elementOnly = 0;
  for (let step = 0; step < 150; step++) {
    const what = pick(10);
    const e = pick(40);
    const s = pick(45);
    if (what < 6) endpoints.set(e, endpointAt(e));
    else if (what === 6) endpoints.delete(e);
    else if (what === 7) services.set(s, serviceAt(s, step + 2));
    else if (what === 8) services.delete(s);
    // what === 9: nothing changed.
    const tenant = tenantNow();
    const excluded = pick(8) === 0 ? `e${pick(30)}` : undefined;
    const program = compiler.compile(tenant, excluded);
    const full = servicesProgram(tenant, excluded);
    assert.deepEqual(meaning(program), meaning(full), `step ${step}`);
    // The diff of the incremental programs (grouped, looking at the changed services only) sends
    // what the diff of the full compiles finds.
    const ops = diffPrograms(last, program).ops;
    const expected = diffPrograms(lastFull, full).ops;
    const normal = (list: typeof ops): unknown =>
      list
        .map((op) =>
          op.op === 'addMapElements'
            ? { ...op, elements: Object.entries(op.elements).sort() }
            : op.op === 'deleteMapElements'
              ? { ...op, keys: [...op.keys].sort() }
              : op.op === 'addElements' || op.op === 'deleteElements'
                ? { ...op, elements: [...op.elements].sort() }
                : op,
        )
        .map((op) => JSON.stringify(op))
        .sort();
    assert.deepEqual(normal(ops), normal(expected), `step ${step}: the same operations`);
    if (ops.length > 0 && ops.every((op) => op.op.endsWith('Elements'))) elementOnly++;
    last = program;
    lastFull = full;
  }
  assert.ok(elementOnly > 30, `${elementOnly} of the changes were element operations only`);
});
