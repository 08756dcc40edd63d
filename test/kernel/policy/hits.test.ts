/**
 * Rule hit counters from real packets to the API and CLI: in a 2-host `tenet lab`, a Policy with an
 * allow, a deny and an unused rule and an admin-tier GlobalPolicy deny rule; N real TCP connection
 * attempts per rule from the other host; then GET (as the tenant's admin), `tenet get -o wide` and
 * `tenet describe` show hits on exactly those rules. Heartbeats (1 s here) leave no audit entries.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { TenetClient } from '../../../src/client/api-client';
import { ApiError } from '../../../src/client/errors';
import { API_VERSION } from '../../../src/core/model/common';
import type { LabContainer } from '../../../src/lab/state';
import type { TenetObject } from '../../../src/core/model/object';
import { runCli } from '../../cli/run-cli';

// The lab's agents inherit this: heartbeats (and counter reports) every second instead of 10.
process.env.TENET_HEARTBEAT = '1';

const TENANT = 'hits';
const N = 5;

type RuleHit = { direction: string; index: number; packets: number; bytes: number };

async function connects(from: LabContainer, to: LabContainer, port: number): Promise<boolean> {
  const result = await run(
    'ip',
    ['netns', 'exec', from.netns, 'socat', '-T', '0.5', '-', `TCP:${to.addresses[0]}:${port},connect-timeout=0.5`],
    {
      input: 'ping\n',
      allowFailure: true,
      timeoutMs: 5000,
    },
  );
  return result.stdout.includes('ping');
}

const hitsOf = (object: TenetObject): RuleHit[] => ((object.status ?? {}) as { ruleHits?: RuleHit[] }).ruleHits ?? [];
const packets = (hits: RuleHit[], direction: string, index: number) =>
  hits.find((h) => h.direction === direction && h.index === index)?.packets;

test('policy rule hits from real packets reach the API, get -o wide and describe; heartbeats are not audited', async (t) => {
  const lab = await startTestLab(t, 2);
  const children: ChildProcess[] = [];
  t.after(() => {
    killGroups(children);
  });
  const admin = lab.controller.client;
  await admin.apply(tenantObjects(TENANT, [{ name: 'pods', cidrs: ['10.77.0.0/24'] }]) as TenetObject[]);
  const [h1, h2] = lab.state.hosts.map((h) => h.name);
  const srv = await lab.run('srv', { host: h1, tenant: TENANT, network: 'pods', labels: { app: 'srv' } });
  const cli = await lab.run('cli', { host: h2, tenant: TENANT, network: 'pods', labels: { app: 'cli' } });
  const bad = await lab.run('bad', { host: h2, tenant: TENANT, network: 'pods', labels: { app: 'bad' } });
  for (const port of [80, 81, 82])
    children.push(
      spawnGroup('ip', ['netns', 'exec', srv.netns, 'socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'PIPE'], { stdio: 'ignore' }),
    );
  await waitUntil('listeners', async () => connects(cli, srv, 82), 15000);

  await admin.apply([
    {
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'guard', tenant: TENANT },
      spec: {
        appliesTo: { selector: { matchLabels: { app: 'srv' } } },
        ingress: [
          { name: 'web from cli', action: 'allow', from: [{ selector: { matchLabels: { app: 'cli' } } }], ports: [{ port: 80 }] },
          { name: 'block bad', action: 'deny', from: [{ selector: { matchLabels: { app: 'bad' } } }] },
          { name: 'unused', action: 'allow', from: [{ selector: { matchLabels: { app: 'nobody' } } }], ports: [{ port: 81 }] },
        ],
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'GlobalPolicy',
      metadata: { name: 'no-82' },
      spec: {
        tier: 'admin',
        priority: 10,
        appliesTo: { tenants: [TENANT], selector: { matchLabels: { app: 'srv' } } },
        ingress: [{ name: 'close 82', action: 'deny', ports: [{ port: 82 }] }],
      },
    },
  ] as unknown as TenetObject[]);
  // Programmed on h1 once bad (h2) can no longer connect and port 82 is closed; both probes count toward the rules too.
  await waitUntil('the policy to be enforced', async () => !(await connects(bad, srv, 80)) && !(await connects(cli, srv, 82)), 30000);

  for (let i = 0; i < N; i++) {
    assert.equal(await connects(cli, srv, 80), true, 'cli may reach srv:80');
    assert.equal(await connects(bad, srv, 80), false, 'bad is denied');
    assert.equal(await connects(cli, srv, 82), false, 'port 82 is closed by the admin tier');
  }

  // The tenant's own admin sees the hits of its policy (another tenant's admin sees no such policy).
  const minted = (await admin.request('POST', '/api/v1/tokens', { role: 'tenant-admin', tenant: TENANT })) as { token: string };
  const tenantAdmin = new TenetClient({ servers: [lab.controller.url], token: minted.token });
  let policy: TenetObject | undefined;
  await waitUntil(
    'the heartbeats to report the counters',
    async () => {
      const current = await tenantAdmin.get('Policy', 'guard', TENANT);
      policy = current;
      const hits = hitsOf(current);
      return (packets(hits, 'ingress', 0) ?? 0) >= N && (packets(hits, 'ingress', 1) ?? 0) >= N;
    },
    20000,
  );
  const hits = hitsOf(policy!);
  assert.deepEqual(
    hits.map((h) => `${h.direction}/${h.index}`),
    ['ingress/0', 'ingress/1', 'ingress/2'],
  );
  assert.ok(packets(hits, 'ingress', 0)! >= N, JSON.stringify(hits));
  assert.ok(packets(hits, 'ingress', 1)! >= N, JSON.stringify(hits));
  assert.equal(packets(hits, 'ingress', 2), 0, 'the unused rule has no hits');
  assert.ok(hits[0].bytes > 0 && hits[1].bytes > 0);

  await admin.apply([{ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'other' }, spec: {} }] as unknown as TenetObject[]);
  const otherToken = (await admin.request('POST', '/api/v1/tokens', { role: 'tenant-admin', tenant: 'other' })) as { token: string };
  const other = new TenetClient({ servers: [lab.controller.url], token: otherToken.token });
  await assert.rejects(other.get('Policy', 'guard', TENANT), (e: unknown) => e instanceof ApiError && e.status === 404);
  assert.deepEqual((await other.list('Policy')).items, []);
  await assert.rejects(other.get('GlobalPolicy', 'no-82'), (e: unknown) => e instanceof ApiError && e.status === 403);

  await waitUntil(
    'the global policy counters',
    async () => (packets(hitsOf(await admin.get('GlobalPolicy', 'no-82')), 'ingress', 0) ?? 0) >= N,
    20000,
  );

  // CLI: the HITS column totals the rules, describe lists them with name, action and packets.
  const wide = await runCli(lab.controller.url, ['get', 'policy', `${TENANT}/guard`, '-o', 'wide']);
  assert.equal(wide.code, 0, wide.stderr);
  const [header, row] = wide.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{3,}/));
  const total = Number(row[header.indexOf('HITS')]);
  assert.ok(total >= packets(hits, 'ingress', 0)! + packets(hits, 'ingress', 1)!, wide.stdout);
  const globalWide = await runCli(lab.controller.url, ['get', 'globalpolicy', 'no-82', '-o', 'wide']);
  const [gHeader, gRow] = globalWide.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{3,}/));
  assert.ok(Number(gRow[gHeader.indexOf('HITS')]) >= N, globalWide.stdout);

  const described = await runCli(lab.controller.url, ['describe', 'policy', `${TENANT}/guard`]);
  assert.equal(described.code, 0, described.stderr);
  const ruleRows = new Map(
    described.stdout
      .split('\n')
      .map((l) => /^\s+(ingress|egress)\s{3,}(\d+)\s{3,}(.+?)\s{3,}(allow|deny|pass|log)\s{3,}(\d+)\s{3,}(\d+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [`${m[1]}/${m[2]}`, { name: m[3], action: m[4], packets: Number(m[5]) }]),
  );
  assert.deepEqual([...ruleRows.keys()], ['ingress/0', 'ingress/1', 'ingress/2'], described.stdout);
  assert.deepEqual({ ...ruleRows.get('ingress/1')!, packets: 0 }, { name: 'block bad', action: 'deny', packets: 0 });
  assert.ok(ruleRows.get('ingress/1')!.packets >= N && ruleRows.get('ingress/0')!.packets >= N, described.stdout);
  assert.equal(ruleRows.get('ingress/2')!.packets, 0);
  assert.equal(ruleRows.get('ingress/0')!.name, 'web from cli');

  // Heartbeats of an agent's own Host are not audited; one to another host's Host is refused and audited.
  const h1Token = fs.readFileSync(lab.state.hosts[0].tokenFile!, 'utf8').trim();
  const agent1 = new TenetClient({ servers: [lab.controller.url], token: h1Token });
  await assert.rejects(
    agent1.updateStatus('Host', h2, undefined, { ready: false }),
    (e: unknown) => e instanceof ApiError && e.status === 403,
  );
  const audit = (
    (await admin.request('GET', '/api/v1/audit')) as { items: { kind: string; verb: string; name?: string; outcome: string }[] }
  ).items;
  const hostStatus = audit.filter((e) => e.kind === 'Host' && e.verb === 'status');
  assert.deepEqual(
    hostStatus.map((e) => `${e.name} ${e.outcome}`),
    [`${h2} refused`],
  );
  assert.ok(
    audit.some((e) => e.kind === 'Host' && e.verb === 'create'),
    'registration is audited',
  );
});
