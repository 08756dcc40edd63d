/**
 * Service NAT compile and its transactions, without root: the fragment the services producer hands
 * the shared table, and the typed nft transactions NftTable sends for it (fake driver). Backend churn
 * must be element updates of that service's own slot keys: never another service's elements, never a
 * chain, never a whole-table rewrite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NftTable } from '../../src/agent/nft/table';
import {
  affinityChainName,
  classChainName,
  maglevSlots,
  MAX_SLOT,
  SLOT_CLASSES,
  SERVICE_NAMES,
  ServiceNatCompiler,
  servicesProgram,
  SLOTS,
  slotClass,
  type SlotBackend,
  type SlotMemo,
} from '../../src/core/services/compile';
import { diffPrograms } from '../../src/core/policy/diff';
import { groupsChangedFrom } from '../../src/core/policy/program';
import { renderProgram } from '../../src/core/policy/render';
import type { EndpointView, NetworkView, TenantView } from '../../src/core/dataplane/host-view';
import type { Service } from '../../src/core/model/kinds/service';
import type { Endpoint } from '../../src/core/model/kinds/endpoint';
import { FakeNft } from '../helpers/fake-nft';

type Tenant = Pick<TenantView, 'name' | 'services' | 'endpoints' | 'networks'>;

const network: NetworkView = {
  name: 'net',
  tenant: 't',
  subnets: [
    { family: 4, cidr: '10.0.0.0/24', prefix: 24, gateway: '10.0.0.1' },
    { family: 6, cidr: 'fd00:1::/64', prefix: 64, gateway: 'fd00:1::1' },
  ],
  mtu: 1450,
  object: {} as NetworkView['object'],
};

function endpoint(
  name: string,
  n: number,
  labels: Record<string, string>,
  extra: { local?: boolean; phase?: 'ready' | 'pending'; ports?: Endpoint['spec']['ports'] } = {},
): EndpointView {
  const ipv4 = `10.0.0.${n}`;
  const ipv6 = `fd00:1::${n.toString(16)}`;
  const phase = extra.phase ?? 'ready';
  const object: Endpoint = {
    apiVersion: 'tenet.dev/v1',
    kind: 'Endpoint',
    metadata: { name, tenant: 't', labels },
    spec: { network: 'net', host: 'h1', ...(extra.ports ? { ports: extra.ports } : {}) },
    status: { ipv4, ipv6, phase },
  };
  return {
    name,
    tenant: 't',
    network: 'net',
    host: 'h1',
    local: extra.local ?? false,
    labels,
    ipv4,
    ipv6,
    mac: '02:00:00:00:00:01',
    phase,
    ports: extra.ports ?? [],
    object,
  };
}

function service(name: string, app: string, vips: string[], spec: Partial<Service['spec']> = {}): Service {
  return {
    apiVersion: 'tenet.dev/v1',
    kind: 'Service',
    metadata: { name, tenant: 't' },
    spec: { selector: { matchLabels: { app } }, ports: [{ protocol: 'TCP', port: 80, targetPort: 8080 }], ...spec },
    status: { virtualIPs: vips },
  };
}

const slotsOf = (program: ReturnType<typeof servicesProgram>, family: 4 | 6 = 4) =>
  program.maps.find((m) => m.name === SERVICE_NAMES.slots[family])!.elements;

test('Maglev slots: equal shares within one slot, and a leaving backend moves few slots of the others', () => {
  const b = (name: string): SlotBackend => ({ endpoint: name, address: name, port: 1 });
  const three = maglevSlots('svc', [b('a'), b('b'), b('c')]);
  const counts = new Map<string, number>();
  for (const slot of three) counts.set(slot!.endpoint, (counts.get(slot!.endpoint) ?? 0) + 1);
  assert.deepEqual([...counts.values()].sort(), [20, 20, 21]);
  const two = maglevSlots('svc', [b('a'), b('c')]);
  assert.ok(
    two.every((slot) => slot !== undefined && slot.endpoint !== 'b'),
    'the removed backend keeps no slot',
  );
  const staying = three.map((slot, i) => [slot!.endpoint, two[i]!.endpoint]).filter(([was]) => was !== 'b');
  const moved = staying.filter(([was, now]) => was !== now).length;
  assert.ok(moved <= Math.ceil(staying.length * 0.2), `${moved} of ${staying.length} slots of staying backends moved`);
  assert.ok(maglevSlots('svc', []).every((s) => s === undefined));
});

test('the fragment: VIP sets, one slot key per slot and port, named target ports resolved per backend, hairpin of local endpoints', () => {
  const tenant: Tenant = {
    name: 't',
    networks: [network],
    endpoints: [
      endpoint('db1', 11, { app: 'db' }, { ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
      endpoint('db2', 12, { app: 'db' }, { ports: [{ name: 'pg', port: 6432, protocol: 'TCP' }], local: true }),
      endpoint('db3', 13, { app: 'db' }, { phase: 'pending', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
      endpoint('db4', 14, { app: 'db' }),
      endpoint('web', 20, { app: 'web' }, { local: true }),
    ],
    services: [
      service('db', 'db', ['10.96.0.10', 'fd00:96::a'], {
        ports: [{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 'pg' }],
        sessionAffinity: 'ClientIP',
      }),
    ],
  };
  const program = servicesProgram(tenant);
  assert.deepEqual(program.sets.find((s) => s.name === SERVICE_NAMES.vip[4])!.elements, ['10.96.0.10']);
  // ClientIP with the default timeout (3 h): its VIP and port lead to the chain of that timeout.
  assert.deepEqual(program.maps.find((m) => m.name === SERVICE_NAMES.affinity[4])!.elements, {
    '10.96.0.10 . 6 . 5432': affinityChainName(4, 10_800),
  });
  const slots = slotsOf(program);
  assert.equal(Object.keys(slots).length, SLOTS);
  // db3 is not ready, db4 has no port named pg: only db1 (5432) and db2 (6432).
  assert.deepEqual(new Set(Object.values(slots)), new Set(['10.0.0.11 . 5432', '10.0.0.12 . 6432']));
  assert.ok(Object.keys(slots).every((k) => k.startsWith('10.96.0.10 . 6 . 5432 . ')));
  assert.deepEqual(new Set(Object.values(slotsOf(program, 6))), new Set(['fd00:1::b . 5432', 'fd00:1::c . 6432']));
  assert.deepEqual(program.maps.find((m) => m.name === SERVICE_NAMES.hairpin[4])!.elements, {
    '10.0.0.12 . 10.0.0.12': '10.0.0.1',
    '10.0.0.20 . 10.0.0.20': '10.0.0.1',
  });
  // Rendered: nat chains and the data maps' declarations.
  const text = renderProgram(program);
  assert.match(text, /add chain inet tenet sv_dnat \{ type nat hook prerouting priority -100; policy accept; \}/);
  assert.match(
    text,
    /ct mark set numgen random mod 61 offset 1 dnat ip addr \. port to ip daddr \. meta l4proto \. th dport \. ct mark map @sv_slot4/,
  );
  assert.match(text, /ip daddr \. meta l4proto \. th dport vmap @sv_affd4/);
  assert.match(text, /add map inet tenet sv_affd4 \{ type ipv4_addr \. inet_proto \. inet_service : verdict; \}/);
  assert.match(text, /10\.96\.0\.10 \. 6 \. 5432 : goto sv_aff4_10800/);
  // The affinity chain: the remembered slot, else a random one, remembered for the timeout, then DNAT by the slot.
  assert.match(
    text,
    /add rule inet tenet sv_aff4_10800 counter ct mark set ip saddr \. ip daddr \. meta l4proto \. th dport map @sv_affmem4/,
  );
  assert.match(text, /add rule inet tenet sv_aff4_10800 ct mark 0x00000000 counter ct mark set numgen random mod 61 offset 1/);
  assert.match(text, /update @sv_affmem4 \{ ip saddr \. ip daddr \. meta l4proto \. th dport timeout 10800s : ct mark \}/);
  assert.match(
    text,
    /add map inet tenet sv_affmem4 \{ typeof ip saddr \. ip daddr \. meta l4proto \. th dport : ct mark; size 65536; flags dynamic,timeout; \}/,
  );
  assert.match(text, /add map inet tenet sv_slot4 \{ type ipv4_addr \. inet_proto \. inet_service \. mark : ipv4_addr \. inet_service; \}/);
  assert.match(text, /10\.96\.0\.10 \. 6 \. 5432 \. \d+ : 10\.0\.0\.1[12] \. [56]432/);
  // Slot keys run 1..61: a ct mark of 0 is "no slot yet".
  const slotNumbers = Object.keys(slots).map((k) => Number(k.split(' . ')[3]));
  assert.deepEqual([Math.min(...slotNumbers), Math.max(...slotNumbers)], [1, SLOTS]);
  assert.match(text, /reject with tcp reset/);
  // No service with a VIP: nothing at all (no NAT hooks, no conntrack).
  const none = servicesProgram({ ...tenant, services: [] });
  assert.equal(none.chains.length + none.sets.length + none.maps.length, 0);
});

test("backend churn touches only that service's own slot keys: no chain, no other service, no whole-table rewrite", async () => {
  const driver = new FakeNft();
  const transactions: { full: boolean; ops: import('../../src/core/policy/diff').NftOp[] }[] = [];
  const table = new NftTable('ns-t', driver, { onTransaction: (tx) => transactions.push(tx) });
  const db = service('db', 'db', ['10.96.0.10']);
  const web = service('web', 'web', ['10.96.0.20']);
  const endpoints = [
    endpoint('db1', 11, { app: 'db' }),
    endpoint('db2', 12, { app: 'db' }),
    endpoint('db3', 13, { app: 'db' }),
    endpoint('w1', 21, { app: 'web' }),
    endpoint('w2', 22, { app: 'web' }),
  ];
  const tenant: Tenant = { name: 't', networks: [network], endpoints, services: [db, web] };
  const program = (t: Tenant) => servicesProgram(t);
  table.contribute('services', program(tenant));
  await table.apply({ pass: 'reconcile' });
  assert.equal(transactions.at(-1)!.full, true);
  const before = slotsOf(program(tenant));
  const webSlots = Object.fromEntries(Object.entries(before).filter(([k]) => k.startsWith('10.96.0.20 ')));

  // db: 3 → 1 backend.
  const scaled: Tenant = { ...tenant, endpoints: endpoints.filter((e) => e.name !== 'db2' && e.name !== 'db3') };
  table.contribute('services', program(scaled));
  await table.apply({ pass: 'attach' });
  const tx = transactions.at(-1)!;
  assert.equal(tx.full, false);
  assert.ok(tx.ops.length > 0);
  for (const op of tx.ops) {
    assert.ok(op.op === 'addMapElements' || op.op === 'deleteMapElements', `unexpected ${op.op}`);
    // 3 → 1 backend also moves db's port to a smaller slot class: its own dispatch element changes too.
    assert.ok(op.map === SERVICE_NAMES.slots[4] || op.map === SERVICE_NAMES.dispatch[4], op.map);
    const keys = op.op === 'addMapElements' ? Object.keys(op.elements) : op.keys;
    const own = op.map === SERVICE_NAMES.slots[4] ? /^10\.96\.0\.10 \. 6 \. 80 \. \d+$/ : /^10\.96\.0\.10 \. 6 \. 80$/;
    for (const key of keys) assert.match(key, own, `${key} is not a key of service db`);
  }
  const after = slotsOf(driver.table('ns-t')!);
  assert.ok(
    Object.entries(after)
      .filter(([k]) => k.startsWith('10.96.0.10 '))
      .every(([, v]) => v === '10.0.0.11 . 8080'),
    'every db slot goes to the one backend left',
  );
  assert.deepEqual(Object.fromEntries(Object.entries(after).filter(([k]) => k.startsWith('10.96.0.20 '))), webSlots, 'web untouched');

  // db: 1 → 0: its slot keys leave, its VIP stays (so it is rejected at once), nothing else moves.
  const empty: Tenant = { ...tenant, endpoints: endpoints.filter((e) => !e.name.startsWith('db')) };
  table.contribute('services', program(empty));
  await table.apply({ pass: 'attach' });
  const drained = transactions.at(-1)!;
  assert.deepEqual(
    drained.ops.map((o) => o.op),
    ['deleteMapElements', 'deleteMapElements'],
  );
  assert.deepEqual(
    drained.ops.map((o) => (o.op === 'deleteMapElements' ? [o.map, o.keys.every((k) => k.startsWith('10.96.0.10 . 6 . 80'))] : [])),
    [
      [SERVICE_NAMES.dispatch[4], true],
      [SERVICE_NAMES.slots[4], true],
    ],
  );
  assert.equal(Object.keys(slotsOf(driver.table('ns-t')!)).filter((k) => k.startsWith('10.96.0.10 ')).length, 0);
  assert.deepEqual(
    driver
      .table('ns-t')!
      .sets.find((s) => s.name === SERVICE_NAMES.vip[4])!
      .elements.sort(),
    ['10.96.0.10', '10.96.0.20'],
  );

  // A new service adds its own elements only.
  const withApi: Tenant = { ...empty, services: [...empty.services, service('api', 'web', ['10.96.0.30'])] };
  table.contribute('services', program(withApi));
  await table.apply({ pass: 'attach' });
  const added = transactions.at(-1)!;
  assert.equal(added.full, false);
  for (const op of added.ops) {
    assert.ok(op.op === 'addElements' || op.op === 'addMapElements', `unexpected ${op.op}`);
    const keys = op.op === 'addMapElements' ? Object.keys(op.elements) : op.op === 'addElements' ? op.elements : [];
    for (const key of keys) assert.ok(key.startsWith('10.96.0.30'), key);
  }
  // The kernel read back (fresh agent): the data maps are adopted, nothing is rewritten.
  table.forget();
  table.contribute('services', program(withApi));
  assert.equal(await table.apply({ pass: 'reconcile' }), undefined);
});

test('with a memo, an unchanged service keeps its very slot elements object, and the grouped diff names only the changed service', () => {
  const endpoints = [
    endpoint('db1', 11, { app: 'db' }),
    endpoint('db2', 12, { app: 'db' }),
    endpoint('w1', 21, { app: 'web' }),
    endpoint('w2', 22, { app: 'web' }),
  ];
  const services = [service('db', 'db', ['10.96.0.10']), service('web', 'web', ['10.96.0.20'])];
  const memo: SlotMemo = new Map();
  const tenant: Tenant = { name: 't', networks: [network], endpoints, services };
  const before = servicesProgram(tenant, undefined, memo);
  const after = servicesProgram({ ...tenant, endpoints: endpoints.filter((e) => e.name !== 'db2') }, undefined, memo);
  const groups = (p: typeof before) => p.maps.find((m) => m.name === SERVICE_NAMES.slots[4])!.groups!;
  assert.equal(groups(after).get('web'), groups(before).get('web'), 'web untouched: the same object');
  assert.notEqual(groups(after).get('db'), groups(before).get('db'));
  const ops = diffPrograms(before, after).ops;
  const keys = ops.flatMap((op) =>
    op.op === 'addMapElements' ? Object.keys(op.elements) : op.op === 'deleteMapElements' ? op.keys : [`${op.op}`],
  );
  // db's slot keys, and its dispatch element (2 → 1 backend moves it to a smaller slot class).
  assert.ok(keys.length > 0 && keys.every((k) => /^10\.96\.0\.10 \. 6 \. 80( \. \d+)?$/.test(k)), keys.join(','));
  // The same changes as a diff of the flat maps would make.
  const flat = (p: typeof before): typeof before => ({
    ...p,
    maps: p.maps.map(({ groups: _g, ...m }) => ({ ...m, elements: { ...m.elements } })),
  });
  assert.deepEqual(diffPrograms(flat(before), flat(after)).ops, ops);
  // A deleted service's elements all go, and its memo entry with it.
  const gone = servicesProgram({ ...tenant, services: [services[1]] }, undefined, memo);
  const deleted = diffPrograms(after, gone).ops.filter((op) => op.op === 'deleteMapElements' && op.map === SERVICE_NAMES.slots[4]);
  assert.equal(deleted.flatMap((op) => (op.op === 'deleteMapElements' ? op.keys : [])).length, slotClass(1));
  assert.deepEqual([...memo.keys()], ['web|4'], 'IPv4 VIPs only: no IPv6 slots');
});

test('slot classes: 4 slots a backend at least, primes below the ct mark rule ids; every share within 1/4 of fair', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 62, 63, 500].map((n) => slotClass(n)),
    [0, 7, 13, 13, 31, 31, 61, 61, 127, 127, 251, 251, 251, 251],
  );
  assert.ok(MAX_SLOT < 0x100, 'slot numbers stay below the first rule id in the ct mark');
  const b = (name: string): SlotBackend => ({ endpoint: name, address: name, port: 1 });
  for (let n = 1; n <= 62; n++) {
    const members = Array.from({ length: n }, (_, i) => b(`e${i}`));
    const size = slotClass(n);
    const table = maglevSlots(`svc${n}`, members, size);
    assert.equal(table.length, size);
    const counts = new Map<string, number>();
    for (const slot of table) counts.set(slot!.endpoint, (counts.get(slot!.endpoint) ?? 0) + 1);
    assert.equal(counts.size, n, `${n} backends: every one has a share`);
    const shares = [...counts.values()];
    assert.ok(Math.max(...shares) - Math.min(...shares) <= 1, `${n} backends: shares ${shares.join('/')}`);
    assert.ok(Math.max(...shares) / size <= 1.25 / n, `${n} backends in ${size} slots: the largest share ${Math.max(...shares)}`);
  }
  // 3 backends (the check: each between 20 % and 47 % of 300 connections): 13 slots, 5/4/4.
  const three = maglevSlots('svc', [b('a'), b('b'), b('c')], slotClass(3));
  const counts = new Map<string, number>();
  for (const slot of three) counts.set(slot!.endpoint, (counts.get(slot!.endpoint) ?? 0) + 1);
  assert.deepEqual([...counts.values()].sort(), [4, 4, 5]);
});

test('slot classes: a service without affinity dispatches to the chain of its class; ClientIP keeps SLOTS; every class chain is always there', () => {
  const endpoints = [1, 2, 3].map((i) => endpoint(`w${i}`, 20 + i, { app: 'web' }));
  const tenant: Tenant = {
    name: 't',
    networks: [network],
    endpoints,
    services: [service('web', 'web', ['10.96.0.20']), service('sticky', 'web', ['10.96.0.30'], { sessionAffinity: 'ClientIP' })],
  };
  const program = servicesProgram(tenant);
  const slots = slotsOf(program);
  const keysOf = (vip: string) => Object.keys(slots).filter((k) => k.startsWith(`${vip} `));
  assert.deepEqual(
    keysOf('10.96.0.20')
      .map((k) => Number(k.split(' . ')[3]))
      .sort((x, y) => x - y),
    Array.from({ length: 13 }, (_, i) => i + 1),
  );
  assert.equal(keysOf('10.96.0.30').length, SLOTS);
  // Only the service without affinity is dispatched by class; the ClientIP one by its timeout.
  assert.deepEqual(program.maps.find((m) => m.name === SERVICE_NAMES.dispatch[4])!.elements, {
    '10.96.0.20 . 6 . 80': classChainName(4, 13),
  });
  const chains = new Set(program.chains.map((c) => c.name));
  for (const size of SLOT_CLASSES) for (const family of [4, 6] as const) assert.ok(chains.has(classChainName(family, size)));
  const text = renderProgram(program);
  assert.match(text, /ip daddr \. meta l4proto \. th dport vmap @sv_cls4/);
  assert.match(text, /10\.96\.0\.20 \. 6 \. 80 : goto sv_cls4_13/);
  assert.match(
    text,
    /add rule inet tenet sv_cls4_13 counter ct mark set numgen random mod 13 offset 1 dnat ip addr \. port to ip daddr \. meta l4proto \. th dport \. ct mark map @sv_slot4/,
  );
  // The affinity chain draws among SLOTS: a remembered slot always names one of the service's.
  assert.match(text, /sv_aff4_10800 ct mark 0x00000000 counter ct mark set numgen random mod 61 offset 1/);
});

test("slot classes: churn inside a class moves few slots; a class move rewrites only that service's own elements, atomically", async () => {
  const driver = new FakeNft();
  const transactions: { full: boolean; ops: import('../../src/core/policy/diff').NftOp[] }[] = [];
  const table = new NftTable('ns-t', driver, { onTransaction: (tx) => transactions.push(tx) });
  const memo: SlotMemo = new Map();
  const webs = [1, 2, 3, 4].map((i) => endpoint(`w${i}`, 20 + i, { app: 'web' }));
  const others = [1, 2].map((i) => endpoint(`o${i}`, 40 + i, { app: 'other' }));
  const tenantWith = (n: number): Tenant => ({
    name: 't',
    networks: [network],
    endpoints: [...webs.slice(0, n), ...others],
    services: [service('web', 'web', ['10.96.0.20']), service('other', 'other', ['10.96.0.40'])],
  });
  const apply = async (n: number) => {
    table.contribute('services', servicesProgram(tenantWith(n), undefined, memo));
    await table.apply({ pass: 'attach' });
    return transactions.at(-1)!;
  };
  await apply(3);
  const otherBefore = Object.fromEntries(Object.entries(slotsOf(driver.table('ns-t')!)).filter(([k]) => k.startsWith('10.96.0.40 ')));
  const ownKey = /^10\.96\.0\.20 \. 6 \. 80( \. \d+)?$/;
  const keysOf = (ops: import('../../src/core/policy/diff').NftOp[]) =>
    ops.flatMap((op) => {
      assert.ok(op.op === 'addMapElements' || op.op === 'deleteMapElements', `unexpected ${op.op}`);
      return op.op === 'addMapElements' ? Object.keys(op.elements) : op.keys;
    });
  // 3 → 2 backends, both in class 13: only the leaving backend's slots change hands.
  const before = slotsOf(driver.table('ns-t')!);
  const inside = await apply(2);
  assert.equal(inside.full, false);
  const insideKeys = keysOf(inside.ops);
  assert.ok(
    insideKeys.every((k) => ownKey.test(k) && k.split(' . ').length === 4),
    insideKeys.join(','),
  );
  const after = slotsOf(driver.table('ns-t')!);
  const moved = Object.keys(after).filter((k) => k.startsWith('10.96.0.20 ') && after[k] !== before[k]);
  const leaving = Object.keys(before).filter((k) => k.startsWith('10.96.0.20 ') && before[k] === '10.0.0.23 . 8080');
  assert.ok(
    leaving.every((k) => moved.includes(k)),
    'every slot of the backend that left moves',
  );
  const staying = moved.filter((k) => !leaving.includes(k)).length;
  assert.ok(staying <= 2, `${staying} slots of the 2 staying backends moved (of ${13 - leaving.length})`);
  // 2 → 4 backends: class 13 → 31; 4 → 1: class 31 → 7. Each is one transaction of that service's own elements.
  for (const [n, size] of [
    [4, 31],
    [1, 7],
  ] as const) {
    const tx = await apply(n);
    assert.equal(tx.full, false);
    assert.ok(keysOf(tx.ops).every((k) => ownKey.test(k)));
    const now = driver.table('ns-t')!;
    const own = Object.keys(slotsOf(now)).filter((k) => k.startsWith('10.96.0.20 '));
    assert.equal(own.length, size);
    assert.equal(
      own.map((k) => Number(k.split(' . ')[3])).reduce((m, x) => Math.max(m, x), 0),
      size,
    );
    assert.equal(now.maps.find((m) => m.name === SERVICE_NAMES.dispatch[4])!.elements['10.96.0.20 . 6 . 80'], classChainName(4, size));
    assert.deepEqual(
      Object.fromEntries(Object.entries(slotsOf(now)).filter(([k]) => k.startsWith('10.96.0.40 '))),
      otherBefore,
      'the other service untouched',
    );
  }
  // 1 → 0: the dispatch element and the slots leave (the VIP is then rejected at once).
  const drained = await apply(0);
  assert.ok(keysOf(drained.ops).every((k) => ownKey.test(k)));
  assert.equal(driver.table('ns-t')!.maps.find((m) => m.name === SERVICE_NAMES.dispatch[4])!.elements['10.96.0.20 . 6 . 80'], undefined);
});

test('the periodic read-back never lists the service sets and maps that grow with the services; it still repairs the others', async () => {
  const driver = new FakeNft();
  let clock = 0;
  const table = new NftTable('ns-t', driver, { now: () => clock, readBackMs: 30_000 });
  const memo: SlotMemo = new Map();
  const endpoints = [
    endpoint('w1', 21, { app: 'web' }, { local: true }),
    endpoint('w2', 22, { app: 'web' }),
    endpoint('d1', 31, { app: 'db' }),
  ];
  const tenant: Tenant = {
    name: 't',
    networks: [network],
    endpoints,
    services: [service('web', 'web', ['10.96.0.20']), service('db', 'db', ['10.96.0.30'], { sessionAffinity: 'ClientIP' })],
  };
  table.contribute('services', servicesProgram(tenant, undefined, memo));
  await table.apply({ pass: 'reconcile' });
  assert.deepEqual(driver.excepted, [[]], 'no record yet: everything is read');
  // A hand edit of the hairpin map (not trusted) is found by the next read-back.
  const kernel = driver.table('ns-t')!;
  delete kernel.maps.find((m) => m.name === SERVICE_NAMES.hairpin[4])!.elements['10.0.0.21 . 10.0.0.21'];
  clock += 30_000;
  // The same pass carries a backend change of web: still that service's own elements only.
  table.contribute('services', servicesProgram({ ...tenant, endpoints: endpoints.filter((e) => e.name !== 'w2') }, undefined, memo));
  const tx = await table.apply({ pass: 'reconcile' });
  assert.deepEqual(
    driver.excepted.at(-1),
    [
      SERVICE_NAMES.affinity[4],
      SERVICE_NAMES.affinity[6],
      SERVICE_NAMES.dispatch[4],
      SERVICE_NAMES.dispatch[6],
      SERVICE_NAMES.slots[4],
      SERVICE_NAMES.slots[6],
      SERVICE_NAMES.vip[4],
      SERVICE_NAMES.vip[6],
    ].sort(),
  );
  assert.equal(tx!.full, false);
  const touched = tx!.ops.flatMap((op) =>
    op.op === 'addMapElements'
      ? Object.keys(op.elements).map((k) => `${op.map} ${k}`)
      : op.op === 'deleteMapElements'
        ? op.keys.map((k) => `${op.map} ${k}`)
        : [op.op],
  );
  assert.ok(touched.includes(`${SERVICE_NAMES.hairpin[4]} 10.0.0.21 . 10.0.0.21`), 'the hand edit is repaired');
  assert.ok(
    touched.every((t) => t.startsWith(`${SERVICE_NAMES.hairpin[4]} `) || /^sv_(slot4|cls4) 10\.96\.0\.20 /.test(t)),
    touched.join(', '),
  );
  assert.equal(driver.table('ns-t')!.maps.find((m) => m.name === SERVICE_NAMES.hairpin[4])!.elements['10.0.0.21 . 10.0.0.21'], '10.0.0.1');
});

test('the incremental compiler gives what a full compile gives, recompiles only services an endpoint change may touch, and hands back the same fragment when nothing changed', () => {
  const compiler = new ServiceNatCompiler();
  const webs = [1, 2, 3].map((i) => endpoint(`w${i}`, 20 + i, { app: 'web' }, { local: i === 1 }));
  const dbs = [1, 2].map((i) => endpoint(`d${i}`, 30 + i, { app: 'db' }));
  const services = [
    service('web', 'web', ['10.96.0.20', 'fd00:96::14']),
    service('db', 'db', ['10.96.0.30'], { sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 60 }),
    service('none', 'nothing', ['10.96.0.40']),
  ];
  const steps: { what: string; tenant: Tenant; excluded?: string }[] = [];
  const base: Tenant = { name: 't', networks: [network], endpoints: [...webs, ...dbs], services };
  steps.push({ what: 'start', tenant: base });
  steps.push({ what: 'a web backend leaves', tenant: { ...base, endpoints: [webs[0], webs[1], ...dbs] } });
  steps.push({
    what: 'it is relabelled to db',
    tenant: { ...base, endpoints: [...webs.slice(0, 2), endpoint('w3', 23, { app: 'db' }), ...dbs] },
  });
  steps.push({ what: 'a db backend is excluded (detach)', tenant: base, excluded: 'd1' });
  steps.push({ what: 'a service is added', tenant: { ...base, services: [...services, service('api', 'web', ['10.96.0.50'])] } });
  steps.push({ what: 'a service is removed', tenant: { ...base, services: services.slice(1) } });
  steps.push({ what: 'every service is removed', tenant: { ...base, services: [] } });
  steps.push({ what: 'they come back', tenant: base });
  for (const { what, tenant, excluded } of steps) {
    assert.equal(renderProgram(compiler.compile(tenant, excluded)), renderProgram(servicesProgram(tenant, excluded)), what);
  }
  // Nothing changed: the same fragment object.
  const same = compiler.compile(base);
  assert.equal(compiler.compile({ ...base, endpoints: [...base.endpoints] }), same);
  // A new view of an endpoint that differs in nothing a service reads (a status write elsewhere): nothing recompiled.
  const rewritten = { ...webs[1], object: { ...webs[1].object, status: { ...webs[1].object.status, hostIfName: 'tv000000000002' } } };
  assert.equal(compiler.compile({ ...base, endpoints: [webs[0], rewritten, webs[2], ...dbs] }), same);
  assert.equal(compiler.compile(base), same);
  // Equal services in new objects (a relist): nothing recompiled either.
  assert.equal(compiler.compile({ ...base, services: services.map((x) => structuredClone(x)) }), same);
  // A db endpoint changes: web's slot group is the very same object (not recompiled), db's is new.
  const groups = (p: ReturnType<typeof servicesProgram>) => p.maps.find((m) => m.name === SERVICE_NAMES.slots[4])!.groups!;
  const after = compiler.compile({ ...base, endpoints: [...webs, dbs[0]] });
  assert.equal(groups(after).get('web'), groups(same).get('web'));
  assert.notEqual(groups(after).get('db'), groups(same).get('db'));
  // The groups were made from the last ones by changing db's: the diff looks into db's only, and finds what a diff of the flat maps finds.
  assert.deepEqual([...(groupsChangedFrom(groups(after), groups(same)) ?? [])], ['db']);
  const flat = (p: ReturnType<typeof servicesProgram>): ReturnType<typeof servicesProgram> => ({
    ...p,
    maps: p.maps.map(({ groups: _g, ...m }) => ({ ...m, elements: { ...m.elements } })),
  });
  const ops = diffPrograms(same, after).ops;
  assert.ok(ops.length > 0);
  assert.deepEqual(ops, diffPrograms(flat(same), flat(after)).ops);
  // The VIP set is the same array when no VIP came or went (the diff skips it).
  assert.equal(
    after.sets.find((s) => s.name === SERVICE_NAMES.vip[4])!.elements,
    same.sets.find((s) => s.name === SERVICE_NAMES.vip[4])!.elements,
  );
});
