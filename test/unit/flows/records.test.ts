import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileProgram } from '../../../src/core/policy/compile';
import { renderProgram } from '../../../src/core/policy/render';
import { explain } from '../../../src/core/policy/explain';
import { hostPolicyHits } from '../../../src/core/policy/hits';
import { DENY_LOG_LIMIT, NFLOG_GROUP, parseLogPrefix } from '../../../src/core/policy/deny-log';
import { parsePacketHeaders } from '../../../src/core/flows/packet';
import { conntrackRecord, logRecord, parseFlowdLine, type FlowContext } from '../../../src/core/flows/records';
import { FlowRing, matchesFilter } from '../../../src/core/flows/ring';
import { checkFlowRecord, flowRecordFrom } from '../../../src/core/flows/validate';
import { allowingRule, ruleMarkId } from '../../../src/core/policy/flow-mark';
import { MAX_SLOT } from '../../../src/core/services/compile';
import { kernelProgram, restrictsNothing } from '../../../src/core/policy/unhooked';
import type { PolicyIntent } from '../../../src/core/policy/intent';
import type { TenantView, EndpointView } from '../../../src/core/dataplane/host-view';

const V = 'tenet.dev/v1' as const;

function endpoint(name: string, ip: string, labels: Record<string, string>, ifname: string) {
  return {
    apiVersion: V,
    kind: 'Endpoint' as const,
    metadata: { name, tenant: 'shop', labels },
    spec: { network: 'pods', host: 'h1' },
    status: { phase: 'ready' as const, ipv4: ip, hostIfName: ifname },
  };
}

function world(defaultPolicy: 'allow' | 'deny' = 'allow'): PolicyIntent {
  return {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 'shop' }, spec: { defaultPolicy } }],
    scopes: [],
    groups: [],
    networks: [
      { apiVersion: V, kind: 'Network', metadata: { name: 'pods', tenant: 'shop' }, spec: { subnets: [{ cidr: '10.1.0.0/24' }] } },
    ],
    policies: [
      {
        apiVersion: V,
        kind: 'Policy',
        metadata: { name: 'db-in', tenant: 'shop' },
        spec: {
          appliesTo: { selector: { matchLabels: { app: 'db' } } },
          ingress: [
            {
              name: 'web to db',
              action: 'allow',
              from: [{ selector: { matchLabels: { app: 'web' } } }],
              ports: [{ protocol: 'TCP', port: 5432 }],
            },
            { name: 'no bad', action: 'deny', from: [{ selector: { matchLabels: { app: 'bad' } } }] },
            { name: 'watch', action: 'log', ports: [{ protocol: 'UDP', port: 53 }] },
          ],
        },
      },
    ],
    globalPolicies: [],
    endpoints: [
      endpoint('web', '10.1.0.2', { app: 'web' }, 'tv-web'),
      endpoint('db', '10.1.0.3', { app: 'db' }, 'tv-db'),
      endpoint('bad', '10.1.0.4', { app: 'bad' }, 'tv-bad'),
    ],
  } as unknown as PolicyIntent;
}

function tenantView(intent: PolicyIntent): TenantView {
  const endpoints = intent.endpoints.map(
    (e) =>
      ({
        name: e.metadata.name,
        tenant: 'shop',
        network: 'pods',
        host: 'h1',
        local: true,
        labels: e.metadata.labels ?? {},
        ipv4: e.status!.ipv4,
        mac: '02:00:00:00:00:01',
        ports: [],
        hostIfName: e.status!.hostIfName,
        object: e,
      }) as unknown as EndpointView,
  );
  return { name: 'shop', endpoints, services: [] } as unknown as TenantView;
}

/** IPv4 + TCP header bytes (as hex) from src to dst:dport. */
function tcpPacket(src: string, dst: string, sport: number, dport: number): string {
  const ip = [0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, ...src.split('.').map(Number), ...dst.split('.').map(Number)];
  const tcp = [sport >> 8, sport & 255, dport >> 8, dport & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 2, 0xff, 0xff, 0, 0, 0, 0];
  return Buffer.from([...ip, ...tcp]).toString('hex');
}

test('a deny rule is preceded by a rate-limited nflog rule with the same matches; the log action logs the same way; hits stay on the deny rule', () => {
  const intent = world('deny');
  const program = compileProgram(intent, 'shop');
  const text = renderProgram(program);
  const logLines = text.split('\n').filter((l) => l.includes(' log '));
  const limit = `limit rate ${DENY_LOG_LIMIT.perSecond}/second burst ${DENY_LOG_LIMIT.burst} packets`;
  // deny rule 1 (v4 and v6 peer sets), the log rule 2, isolation and the default deny of both directions.
  for (const prefix of ['deny tenant:db-in:ingress:1', 'log tenant:db-in:ingress:2', 'isolate ingress', 'default-deny egress']) {
    const line = logLines.find((l) => l.includes(`log prefix "${prefix}" group ${NFLOG_GROUP}`));
    assert.ok(line, `${prefix} in\n${logLines.join('\n')}`);
    assert.ok(line.includes(limit), line);
    assert.ok(!/ (drop|accept)( |$)/.test(line.replace(/comment ".*"/, '')), `a logging rule carries no verdict: ${line}`);
  }
  assert.ok(!text.includes('log prefix "tenet '), 'no kernel-log rule is left');
  // Every deny rule is right after its logging twin with identical matches.
  for (const chain of program.chains) {
    chain.rules.forEach((rule, i) => {
      if (rule.verdict?.kind !== 'drop' || rule.origin?.tier === 'base') return;
      const before = chain.rules[i - 1];
      assert.equal(before?.effects?.[0]?.kind, 'log', `${chain.name} #${i} has no logging rule before it`);
      assert.deepEqual(before.matches, rule.matches);
    });
  }
  // Counters of the logging twins are not policy hits.
  const hits = hostPolicyHits([
    {
      tenant: 'shop',
      hits: new Map([
        ['tenant:db-in:ingress:1', { packets: 3, bytes: 180 }],
        ['log deny tenant:db-in:ingress:1', { packets: 3, bytes: 180 }],
      ]),
    },
  ]);
  assert.deepEqual(
    hits.policyHits[0].rules.map((r) => [r.index, r.packets]),
    [[1, 3]],
  );
  // explain still names the deny rule (the logging twin decides nothing).
  const verdict = explain(compileProgram(world('allow'), 'shop'), {
    iif: 'tv-bad',
    oif: 'tv-db',
    src: '10.1.0.4',
    dst: '10.1.0.3',
    protocol: 'tcp',
    port: 80,
  });
  assert.equal(verdict.allowed, false);
  assert.equal(verdict.ingress.origin?.rule, 1);
});

test('prefixes parse back to the decision; anything else is not Tenet`s', () => {
  assert.deepEqual(parseLogPrefix('deny tenant:db-in:ingress:1'), {
    verdict: 'deny',
    tier: 'tenant',
    policy: 'db-in',
    direction: 'ingress',
    rule: 1,
  });
  assert.deepEqual(parseLogPrefix('isolate egress'), { verdict: 'isolate', direction: 'egress' });
  assert.deepEqual(parseLogPrefix('default-deny ingress'), { verdict: 'default-deny', direction: 'ingress' });
  for (const bad of ['', 'deny tenant:DB:ingress:1', 'deny tenant:db:sideways:1', 'allow tenant:db:ingress:1', 'isolate']) {
    assert.equal(parseLogPrefix(bad), undefined, bad);
  }
});

test('packet headers: IPv4 TCP, IPv6 UDP with an extension header, and garbage', () => {
  assert.deepEqual(parsePacketHeaders(tcpPacket('10.1.0.4', '10.1.0.3', 40000, 80)), {
    family: 4,
    protocol: 'tcp',
    src: '10.1.0.4',
    dst: '10.1.0.3',
    sport: 40000,
    dport: 80,
  });
  const v6 = Buffer.alloc(40 + 8 + 8);
  v6[0] = 0x60;
  v6[6] = 0; // hop-by-hop
  Buffer.from('fd000000000000000000000000000001', 'hex').copy(v6, 8);
  Buffer.from('fd00000000000000000000000000abcd', 'hex').copy(v6, 24);
  v6[40] = 17; // next: UDP
  v6[41] = 0; // 8 bytes
  v6.writeUInt16BE(5353, 48);
  v6.writeUInt16BE(53, 50);
  assert.deepEqual(parsePacketHeaders(v6.toString('hex')), {
    family: 6,
    protocol: 'udp',
    src: 'fd00::1',
    dst: 'fd00::abcd',
    sport: 5353,
    dport: 53,
  });
  for (const bad of ['', 'zz', '45', '4500'.repeat(3), '7'.repeat(80)]) assert.equal(parsePacketHeaders(bad), undefined, bad);
});

test('deny and flow records name the endpoints, the deciding rule and the service backend', () => {
  const intent = world();
  const program = compileProgram(intent, 'shop');
  const context: FlowContext = { host: 'h1', tenant: tenantView(intent), program };
  const deny = logRecord(
    {
      t: 'log',
      ts: Date.UTC(2026, 0, 1),
      prefix: 'deny tenant:db-in:ingress:1',
      in: 'tv-bad',
      out: 'tv-db',
      pkt: tcpPacket('10.1.0.4', '10.1.0.3', 40000, 80),
    },
    context,
  );
  assert.deepEqual(deny, {
    time: '2026-01-01T00:00:00.000Z',
    host: 'h1',
    tenant: 'shop',
    type: 'deny',
    verdict: 'denied',
    protocol: 'tcp',
    from: { address: '10.1.0.4', port: 40000, endpoint: 'bad', labels: { app: 'bad' }, host: 'h1' },
    to: { address: '10.1.0.3', port: 80, endpoint: 'db', labels: { app: 'db' }, host: 'h1' },
    rule: { direction: 'ingress', tier: 'tenant', policy: 'Policy shop/db-in', rule: 1, action: 'deny', ruleName: 'no bad' },
    interfaces: { in: 'tv-bad', out: 'tv-db' },
  });
  const isolated = logRecord(
    { t: 'log', ts: 0, prefix: 'isolate ingress', in: 'tv-web', out: 'tv-db', pkt: tcpPacket('10.1.0.2', '10.1.0.3', 40000, 22) },
    context,
  );
  assert.equal(isolated?.rule?.action, 'isolate');
  assert.equal(isolated?.rule?.policy, 'Policy shop/db-in');
  assert.equal(logRecord({ t: 'log', ts: 0, prefix: 'someone else', pkt: tcpPacket('1.1.1.1', '2.2.2.2', 1, 2) }, context), undefined);

  // web -> VIP 10.96.0.10:5432, translated to db:5432; the allowing ingress rule is rule 0.
  context.tenant = {
    ...context.tenant,
    services: [{ metadata: { name: 'pg', tenant: 'shop' }, spec: { virtualIPs: ['10.96.0.10'] } }],
  } as unknown as TenantView;
  const ct = parseFlowdLine(
    JSON.stringify({
      t: 'ct',
      ev: 'destroy',
      ts: 1000,
      id: 7,
      fam: 4,
      proto: 6,
      o: ['10.1.0.2', '10.96.0.10', 41000, 5432],
      r: ['10.1.0.3', '10.1.0.2', 5432, 41000],
      op: 5,
      ob: 400,
      rp: 4,
      rb: 300,
      mark: 0,
      status: 0x20 | 0x8,
      start: 1_000_000_000,
      stop: 2_000_000_000,
    }),
  );
  assert.equal(ct?.t, 'ct');
  const flow = conntrackRecord(ct as Parameters<typeof conntrackRecord>[0], context);
  assert.equal(flow.type, 'flow-end');
  assert.equal(flow.to.endpoint, 'db');
  assert.equal(flow.to.port, 5432);
  assert.deepEqual(flow.service, { name: 'pg', address: '10.96.0.10', port: 5432 });
  assert.deepEqual(flow.ingress, {
    direction: 'ingress',
    tier: 'tenant',
    policy: 'Policy shop/db-in',
    rule: 0,
    ruleName: 'web to db',
    action: 'allow',
    source: 'intent',
  });
  assert.deepEqual(flow.packets, { forward: 5, reply: 4 });
  assert.deepEqual(flow.bytes, { forward: 400, reply: 300 });
  assert.equal(flow.start, '1970-01-01T00:00:01.000Z');
  assert.ok(checkFlowRecord({ ...flow, seq: 1 }));
  assert.ok(checkFlowRecord({ ...deny, seq: 2 }));
  assert.equal(checkFlowRecord({ ...deny, seq: 2, tenant: 'x'.repeat(300) }), false);
  // What the controller stores is rebuilt from a record's own fields: anything made up, at any depth, is dropped.
  assert.deepEqual(flowRecordFrom({ ...flow, seq: 1 }), { ...flow, seq: 1 });
  const padded = {
    ...flow,
    seq: 1,
    note: 'x'.repeat(100000),
    from: { ...flow.from, extra: { deep: [1, 2, 3] } },
    ingress: { ...flow.ingress, extra: 'x' },
    packets: { ...flow.packets, extra: 1 },
    service: { address: '10.96.0.1', port: 80, extra: 'x' },
  };
  assert.deepEqual(flowRecordFrom(padded), { ...flow, seq: 1, service: { address: '10.96.0.1', port: 80 } });
  assert.equal(flowRecordFrom({ ...flow, seq: 1, service: { address: '10.96.0.1', port: 70000 } }), undefined);
  assert.equal(flowRecordFrom({ ...deny, seq: 2, interfaces: { in: 'x'.repeat(16) } }), undefined);
  for (const line of ['', '{', '{"t":"ct","ts":1}', '{"t":"log","ts":1,"prefix":3}', '[]', 'null'])
    assert.equal(parseFlowdLine(line), undefined, line);
});

test('the allowing rule comes from the ct mark the accepting rules write, and only then from the program', () => {
  const intent = world();
  const program = compileProgram(intent, 'shop');
  const text = renderProgram(program);
  const id = ruleMarkId('tenant:db-in:ingress:0');
  assert.ok(
    text.includes(
      `ct mark set ct mark & 0x0000ffff | 0x${((id << 16) >>> 0).toString(16).padStart(8, '0')} accept comment "tenant:db-in:ingress:0"`,
    ),
    text,
  );
  const egressDefault = ruleMarkId('default allow egress');
  assert.ok(text.includes(`ct mark set ct mark & 0xffff0000 | 0x${egressDefault.toString(16).padStart(8, '0')} accept`), text);
  const context: FlowContext = { host: 'h1', tenant: tenantView(intent), program };
  // Port 9999 is not what rule 0 allows: walking the program would not name it. The kernel's mark does.
  const event = {
    t: 'ct' as const,
    ev: 'new' as const,
    ts: 0,
    id: 1,
    fam: 4,
    proto: 6,
    o: ['10.1.0.2', '10.1.0.3', 41000, 9999] as [string, string, number, number],
    r: ['10.1.0.3', '10.1.0.2', 9999, 41000] as [string, string, number, number],
    op: 0,
    ob: 0,
    rp: 0,
    rb: 0,
    mark: ((id << 16) | egressDefault) >>> 0,
    status: 8,
    start: 0,
    stop: 0,
  };
  const flow = conntrackRecord(event, context);
  assert.equal(flow.ingress?.rule, 0);
  assert.equal(flow.ingress?.source, 'kernel');
  assert.deepEqual(flow.egress, { direction: 'egress', tier: 'default', action: 'default-allow', source: 'kernel' });
  // Without a mark the program is walked: port 9999 is isolated on ingress, so no allowing ingress rule.
  const unmarked = conntrackRecord({ ...event, mark: 0 }, context);
  assert.equal(unmarked.ingress, undefined);
  assert.equal(unmarked.egress?.source, 'intent');
  // An unhooked program stays unhooked: the mark on a default allow restricts nothing.
  const open = compileProgram({ ...intent, policies: [] }, 'shop');
  assert.equal(restrictsNothing(open), true);
  // ...and carries no ct expression at all: one in any chain would make the kernel track the namespace's connections.
  assert.ok(renderProgram(open).includes('ct mark set'));
  assert.ok(!renderProgram(kernelProgram(open)).includes(' ct '), renderProgram(kernelProgram(open)));
  assert.ok(renderProgram(kernelProgram(program)).includes('ct mark set'), 'a restricting program keeps its marks');
});

test('a service slot left in the ct mark (no accepting rule marked the connection) is never read as a rule', () => {
  const program = compileProgram(world(), 'shop');
  const ids = program.chains
    .flatMap((c) => c.rules)
    .flatMap((r) => r.effects ?? [])
    .flatMap((e) => (e.kind === 'ctMarkRule' ? [e.id] : []));
  assert.ok(ids.length > 0 && ids.every((id) => id > MAX_SLOT && id <= 0xffff), String(ids));
  for (let slot = 1; slot <= MAX_SLOT; slot++) {
    assert.equal(allowingRule(program, slot, 'egress'), undefined, `slot ${slot}`);
    assert.equal(allowingRule(program, slot << 16, 'ingress'), undefined, `slot ${slot} in the ingress half`);
  }
  // A hash that would have landed on a slot number lands above them all.
  for (const comment of ['a', 'b', 'tenant:x:egress:0', 'default allow ingress']) assert.ok(ruleMarkId(comment) >= 0x100);
});

test('the ring keeps the newest records and counts exactly what it let go', () => {
  const ring = new FlowRing(100);
  const base = {
    time: new Date(0).toISOString(),
    host: 'h',
    tenant: 't',
    type: 'deny' as const,
    verdict: 'denied' as const,
    protocol: 'udp',
    from: { address: '10.0.0.1' },
    to: { address: '10.0.0.2' },
  };
  for (let i = 1; i <= 100_000; i++) ring.push({ ...base, from: { address: '10.0.0.1', port: i % 65536 } });
  assert.equal(ring.size, 100);
  assert.equal(ring.evicted, 100_000 - 100);
  const kept = ring.since();
  assert.equal(kept.length, 100);
  assert.equal(kept[0].seq, 99_901);
  assert.equal(kept[99].seq, 100_000);
  assert.deepEqual(
    ring.since(99_998).map((r) => r.seq),
    [99_999, 100_000],
  );
  assert.equal(matchesFilter(kept[0], { tenant: 't', to: '10.0.0.2', verdict: 'denied' }), true);
  assert.equal(matchesFilter(kept[0], { tenant: 'u' }), false);
  assert.equal(matchesFilter(kept[0], { verdict: 'allowed' }), false);
  assert.equal(matchesFilter(kept[0], { sinceMs: 1 }), false);
  assert.throws(() => new FlowRing(0));
});
