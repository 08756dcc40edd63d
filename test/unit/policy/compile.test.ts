import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileProgram, compileTenant, programForHost } from '../../../src/core/policy/compile';
import { endpointJoin, programForUpdate } from '../../../src/core/policy/incremental';
import { explain, explainAcross } from '../../../src/core/policy/explain';
import { diffPrograms, summarizeOps } from '../../../src/core/policy/diff';
import { renderOps, renderProgram } from '../../../src/core/policy/render';
import type { PolicyIntent } from '../../../src/core/policy/intent';
import type { Endpoint } from '../../../src/core/model/kinds/endpoint';
import { addressOf, probesOf, randomWorld, Reference } from '../../policy/world';

const V = 'tenet.dev/v1' as const;

function iface(endpoint: Endpoint): string {
  return endpoint.status!.hostIfName!;
}

test('explain over the compiled program agrees with the reference semantics in 300 random worlds', () => {
  let probesChecked = 0;
  let allowed = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const intent = randomWorld(seed);
    const program = compileProgram(intent, 't1');
    const reference = new Reference(intent);
    for (const probe of probesOf(intent)) {
      const expected = reference.allowed(probe);
      const got = explain(program, {
        iif: iface(probe.from),
        oif: iface(probe.to),
        src: addressOf(probe.from, probe.family)!,
        dst: addressOf(probe.to, probe.family)!,
        protocol: probe.protocol,
        port: probe.port,
      });
      if (got.allowed !== expected) {
        assert.fail(
          `seed ${seed}: ${probe.from.metadata.name} -> ${probe.to.metadata.name} ${probe.protocol}/${probe.port ?? '-'} v${probe.family}: ` +
            `explain says ${got.allowed}, reference ${expected}\n${JSON.stringify({ egress: got.egress, ingress: got.ingress })}\n${got.trace.join('\n')}\n` +
            JSON.stringify({ policies: intent.policies, globalPolicies: intent.globalPolicies, tenant: intent.tenants[0].spec }, null, 1),
        );
      }
      probesChecked++;
      if (expected) allowed++;
    }
  }
  // The worlds must exercise both outcomes substantially, or the comparison proves little.
  assert.ok(probesChecked > 50000, `only ${probesChecked} probes`);
  assert.ok(allowed > probesChecked * 0.15 && allowed < probesChecked * 0.85, `allowed ${allowed} of ${probesChecked}`);
});

test('per-host programs judged across hosts give the same verdicts as one program', () => {
  for (let seed = 301; seed <= 360; seed++) {
    const intent = randomWorld(seed);
    const whole = compileProgram(intent, 't1');
    const h1 = compileProgram(intent, 't1', { host: 'h1' });
    const h2 = compileProgram(intent, 't1', { host: 'h2' });
    const byHost = { h1, h2 } as Record<string, typeof h1>;
    for (const probe of probesOf(intent)) {
      const packet = {
        src: addressOf(probe.from, probe.family)!,
        dst: addressOf(probe.to, probe.family)!,
        protocol: probe.protocol,
        port: probe.port,
        iif: iface(probe.from),
        oif: iface(probe.to),
      };
      const single = explain(whole, packet).allowed;
      const source = byHost[probe.from.spec.host!];
      const destination = byHost[probe.to.spec.host!];
      const split = source === destination ? explain(source, packet).allowed : explainAcross(source, destination, packet).allowed;
      assert.equal(
        split,
        single,
        `seed ${seed}: ${probe.from.metadata.name}@${probe.from.spec.host} -> ${probe.to.metadata.name}@${probe.to.spec.host}`,
      );
    }
  }
});

function bigWorld(members: number): PolicyIntent {
  const intent: PolicyIntent = {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 't1' }, spec: { defaultPolicy: 'deny' } }],
    scopes: [],
    groups: [
      { apiVersion: V, kind: 'Group', metadata: { name: 'web', tenant: 't1' }, spec: { selector: { matchLabels: { app: 'web' } } } },
      { apiVersion: V, kind: 'Group', metadata: { name: 'db', tenant: 't1' }, spec: { selector: { matchLabels: { app: 'db' } } } },
    ],
    networks: [],
    policies: [
      {
        apiVersion: V,
        kind: 'Policy',
        metadata: { name: 'db-from-web', tenant: 't1' },
        spec: {
          appliesTo: { group: 'db' },
          ingress: [{ action: 'allow', from: [{ group: 'web' }], ports: [{ protocol: 'TCP', port: 5432 }] }],
        },
      },
      {
        apiVersion: V,
        kind: 'Policy',
        metadata: { name: 'web-out', tenant: 't1' },
        spec: { appliesTo: { group: 'web' }, egress: [{ action: 'allow', to: [{ group: 'db' }] }] },
      },
    ],
    globalPolicies: [],
    endpoints: [],
  };
  const endpoint = (i: number, app: string): Endpoint => ({
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { name: `${app}-${i}`, tenant: 't1', labels: { app } },
    spec: { network: 'net', host: 'h1', ips: [`10.${app === 'web' ? 1 : 2}.${i >> 8}.${i & 255}`] },
    status: { hostIfName: `v${app}${i}` },
  });
  for (let i = 0; i < members; i++) intent.endpoints.push(endpoint(i, 'web'));
  for (let i = 0; i < 3; i++) intent.endpoints.push(endpoint(i, 'db'));
  return intent;
}

test('the 1,001st member joining a group changes only set and map elements', () => {
  const before = bigWorld(1000);
  const after = bigWorld(1001);
  const a = compileProgram(before, 't1', { host: 'h1' });
  const b = compileProgram(after, 't1', { host: 'h1' });
  const diff = diffPrograms(a, b);
  assert.equal(diff.replace, false);
  const counts = summarizeOps(diff.ops);
  // One address into the web set; the interface into the egress and ingress dispatch maps (one op each).
  assert.deepEqual(counts, { ...summarizeOps([]), addElements: 1, addMapElements: 2 });
  const elements = diff.ops.flatMap((op) => (op.op === 'addElements' ? op.elements : []));
  assert.deepEqual(elements, ['10.1.3.232']);
  const text = renderOps(b, diff.ops);
  assert.equal(text.length, 3, text.join('\n'));
  assert.ok(text.every((line) => line.startsWith('add element inet tenet ')));
  // The rule count does not depend on how many endpoints there are.
  const rules = (p: typeof a) => p.chains.reduce((n, c) => n + c.rules.length, 0);
  assert.equal(rules(a), rules(compileProgram(bigWorld(10), 't1', { host: 'h1' })));

  // The incremental join computes the same change without a recompile.
  const compiled = compileTenant(before, 't1');
  const joinedFrom = programForHost(compiled, { host: 'h1' });
  const program = programForUpdate(joinedFrom);
  const newcomer = after.endpoints.find((e) => e.metadata.name === 'web-1000')!;
  endpointJoin(compiled, program, newcomer, 'vweb1000');
  const joinOps = diffPrograms(joinedFrom, program).ops;
  assert.deepEqual(
    joinOps.flatMap((op) => (op.op === 'addElements' ? op.elements : [])),
    ['10.1.3.232'],
  );
  assert.equal(joinOps.filter((op) => op.op === 'addChain').length, 0);
  assert.equal(joinOps.flatMap((op) => (op.op === 'addMapElements' ? Object.keys(op.elements) : [])).length, 2);
  assert.equal(diffPrograms(program, b).ops.length, 0, 'incremental program equals a full recompile');
});

test('a policy change rewrites only the chains it touches, and leaving members become deletions', () => {
  const before = bigWorld(5);
  const after = bigWorld(4);
  after.policies[0].spec.ingress![0].ports = [{ protocol: 'TCP', port: 5433 }];
  const diff = diffPrograms(compileProgram(before, 't1', { host: 'h1' }), compileProgram(after, 't1', { host: 'h1' }));
  const counts = summarizeOps(diff.ops);
  assert.equal(counts.setChainRules, 1);
  assert.equal(counts.deleteElements, 1);
  assert.equal(counts.deleteMapElements, 2);
  assert.equal(counts.addChain + counts.deleteChain + counts.addSet + counts.deleteSet, 0);
});

test('explain names the deciding tier, policy and rule', () => {
  const intent = bigWorld(2);
  const program = compileProgram(intent, 't1', { host: 'h1' });
  const ok = explain(program, { iif: 'vweb0', oif: 'vdb0', src: '10.1.0.0', dst: '10.2.0.0', protocol: 'tcp', port: 5432 });
  assert.equal(ok.allowed, true);
  assert.equal(ok.egress.origin?.policy, 'Policy t1/web-out');
  assert.equal(ok.ingress.origin?.policy, 'Policy t1/db-from-web');
  assert.equal(ok.ingress.origin?.rule, 0);
  const no = explain(program, { iif: 'vweb0', oif: 'vdb0', src: '10.1.0.0', dst: '10.2.0.0', protocol: 'tcp', port: 22 });
  assert.equal(no.allowed, false);
  assert.equal(no.ingress.origin?.action, 'isolate');
  const back = explain(program, { iif: 'vdb0', oif: 'vweb0', src: '10.2.0.0', dst: '10.1.0.0', protocol: 'tcp', port: 80 });
  assert.equal(back.allowed, false);
  assert.equal(back.egress.origin?.tier, 'default');
  const replies = explain(program, {
    iif: 'vdb0',
    oif: 'vweb0',
    src: '10.2.0.0',
    dst: '10.1.0.0',
    protocol: 'tcp',
    port: 80,
    state: 'established',
  });
  assert.equal(replies.allowed, true);
  const self = explain(program, { iif: 'vweb0', oif: 'vweb0', src: '10.1.0.0', dst: '10.1.0.0', protocol: 'tcp', port: 1 });
  assert.equal(self.allowed, true);
});

test('rendered program names only safe identifiers and puts counters on every rule', () => {
  const text = renderProgram(compileProgram(randomWorld(7), 't1'));
  for (const line of text.split('\n').filter((l) => l.startsWith('add rule'))) {
    assert.ok(line.includes(' counter ') || line.includes(' vmap @'), line);
  }
  assert.doesNotMatch(text, /[;`$]\s*[a-z]+\s*\(/);
});
