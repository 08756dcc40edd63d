/**
 * Flow and deny records from real packets (docs/observability.md): in a 2-host `tenet lab`, a Policy on
 * srv (h1) allows cli (h2) on tcp/80 and denies bad (h2). A refused connection of bad appears in `GET
 * /api/v1/flows` and `tenet flows` as a deny record on h1 naming rule 1 "block bad"; cli's allowed
 * connection as a flow naming rule 0; a flood of 100,000 denied datagrams is rate-limited in the kernel
 * (the records stay within the limit while the logging rule's counter sees every packet), the agent
 * keeps answering and its memory does not grow with the flood; a tenant-admin sees only its own
 * tenant's records, and an agent can neither read records nor report another host's.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { TenetClient } from '../../../src/client/api-client';
import { ApiError } from '../../../src/client/errors';
import { AttachClient } from '../../../src/attach/client';
import { API_VERSION } from '../../../src/core/model/common';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { DENY_LOG_LIMIT } from '../../../src/core/policy/deny-log';
import type { FlowRecord } from '../../../src/core/flows/records';
import type { LabContainer } from '../../../src/lab/state';
import type { TenetObject } from '../../../src/core/model/object';
import { runCli } from '../../cli/run-cli';

const TENANT = 'flows';
const FLOOD = 100_000;
const FLOOD_PORT = 9999;

async function connects(from: LabContainer, to: LabContainer, port: number): Promise<boolean> {
  const result = await run(
    'ip',
    ['netns', 'exec', from.netns, 'socat', '-T', '0.5', '-', `TCP:${to.addresses[0]}:${port},connect-timeout=0.5`],
    { input: 'ping\n', allowFailure: true, timeoutMs: 5000 },
  );
  return result.stdout.includes('ping');
}

/** GET over the agent's attach socket. */
function agentGet(socketPath: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath, path, method: 'GET' }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
    request.end();
  });
}

type Answer = { items: FlowRecord[]; seq: number; dropped?: unknown };

function rssKb(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/([0-9]+)/.exec(line ?? '')?.[1] ?? NaN);
}

/** Sends `count` UDP datagrams from inside `netns` to address:port as fast as it can (a node child, argument vector only). */
const FLOODER = `
const dgram = require('node:dgram');
const [address, port, count] = process.argv.slice(1);
const socket = dgram.createSocket('udp4');
let sent = 0;
const payload = Buffer.alloc(16);
function batch() {
  let pending = 0;
  for (let i = 0; i < 500 && sent < Number(count); i++, sent++) {
    pending++;
    socket.send(payload, Number(port), address, () => { if (--pending === 0) (sent < Number(count) ? batch() : socket.close()); });
  }
}
batch();
`;

test('deny and flow records from real packets, a rate-limited deny flood, and tenant-scoped reading', async (t) => {
  const lab = await startTestLab(t, 2);
  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  const admin = lab.controller.client;
  await admin.apply(tenantObjects(TENANT, [{ name: 'pods', cidrs: ['10.78.0.0/24'] }]) as TenetObject[]);
  const [h1, h2] = lab.state.hosts.map((h) => h.name);
  const srv = await lab.run('srv', { host: h1, tenant: TENANT, network: 'pods', labels: { app: 'srv' } });
  const cli = await lab.run('cli', { host: h2, tenant: TENANT, network: 'pods', labels: { app: 'cli' } });
  const bad = await lab.run('bad', { host: h2, tenant: TENANT, network: 'pods', labels: { app: 'bad' } });
  children.push(spawnGroup('ip', ['netns', 'exec', srv.netns, 'socat', 'TCP-LISTEN:80,fork,reuseaddr', 'PIPE'], { stdio: 'ignore' }));
  await waitUntil('the listener', async () => connects(cli, srv, 80), 15000);

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
        ],
      },
    },
  ] as unknown as TenetObject[]);
  await waitUntil('the policy to be enforced', async () => !(await connects(bad, srv, 80)), 30000);

  const flows = async (client: TenetClient, query: string): Promise<Answer> =>
    (await client.request('GET', `/api/v1/flows?${query}`)) as Answer;
  const isBadDeny = (r: FlowRecord) =>
    r.type === 'deny' && r.from.endpoint === bad.endpoint && r.to.endpoint === srv.endpoint && r.to.port === 80 && r.protocol === 'tcp';

  // A refused connection: its deny record names the rule that refused it, as the kernel matched it.
  const before = (await flows(admin, `tenant=${TENANT}`)).seq;
  assert.equal(await connects(bad, srv, 80), false);
  let deny: FlowRecord | undefined;
  await waitUntil(
    'the deny record',
    async () => (deny = (await flows(admin, `tenant=${TENANT}&verdict=deny&after=${before}`)).items.find(isBadDeny)) !== undefined,
    10000,
  ).catch(async (error: Error) => {
    const all = await flows(admin, '');
    throw new Error(
      `${error.message}; records: ${JSON.stringify(all).slice(0, 3000)}\nh1 log: ${fs.readFileSync(lab.state.hosts[0].log, 'utf8').slice(-3000)}`,
    );
  });
  assert.equal(deny!.host, h1, 'ingress is judged on the destination host');
  assert.equal(deny!.verdict, 'denied');
  assert.deepEqual(deny!.rule, {
    direction: 'ingress',
    tier: 'tenant',
    policy: `Policy ${TENANT}/guard`,
    rule: 1,
    action: 'deny',
    ruleName: 'block bad',
  });
  assert.equal(deny!.from.labels?.app, 'bad');
  assert.equal(deny!.from.host, h2);
  assert.equal(deny!.to.host, h1);

  // An allowed connection: a flow record on h1 naming the allowing rule, read from the connection's ct mark.
  assert.equal(await connects(cli, srv, 80), true);
  let allowed: FlowRecord | undefined;
  await waitUntil(
    'the flow record',
    async () =>
      (allowed = (await flows(admin, `tenant=${TENANT}&from=${cli.endpoint}&to=${srv.endpoint}&verdict=allow`)).items.find(
        // h1 judged the ingress side; h2 records the connection too when its namespace tracks (Service NAT hooks).
        (r) => r.type === 'flow-start' && r.host === h1,
      )) !== undefined,
    10000,
  );
  assert.equal(allowed!.host, h1);
  assert.equal(allowed!.to.port, 80);
  assert.deepEqual(allowed!.ingress, {
    direction: 'ingress',
    tier: 'tenant',
    policy: `Policy ${TENANT}/guard`,
    rule: 0,
    ruleName: 'web from cli',
    action: 'allow',
    source: 'kernel',
  });

  // A translated connection (Service NAT on the client's host, h2): the record names the service and the backend.
  await admin.apply([
    {
      apiVersion: API_VERSION,
      kind: 'Service',
      metadata: { name: 'web', tenant: TENANT },
      spec: {
        selector: { matchLabels: { app: 'srv' } },
        ports: [{ protocol: 'TCP', port: 8080, targetPort: 80 }],
        virtualIPs: ['10.96.0.80'],
      },
    },
  ] as unknown as TenetObject[]);
  await waitUntil('the service', async () => connects(cli, { ...srv, addresses: ['10.96.0.80'] }, 8080), 20000);
  let translated: FlowRecord | undefined;
  await waitUntil(
    'the translated flow record',
    async () =>
      (translated = (await flows(admin, `tenant=${TENANT}&from=${cli.endpoint}&verdict=allow`)).items.find(
        (r) => r.service !== undefined && r.type === 'flow-start',
      )) !== undefined,
    10000,
  );
  assert.equal(translated!.host, h2);
  assert.deepEqual(translated!.service, { name: 'web', address: '10.96.0.80', port: 8080 });
  assert.equal(translated!.to.endpoint, srv.endpoint, 'the backend');
  assert.equal(translated!.to.port, 80);

  // The CLI prints the same records; -o json is one record per line.
  const cliText = await runCli(lab.controller.url, ['flows', '--tenant', TENANT, '--verdict', 'deny', '--from', bad.endpoint!]);
  assert.equal(cliText.code, 0, cliText.stderr);
  assert.ok(
    cliText.stdout.includes(`DENIED tcp ${bad.endpoint}@${h2}:`) &&
      cliText.stdout.includes(`-> ${srv.endpoint}@${h1}:80  ingress: tenant Policy flows/guard rule 1 "block bad" (deny)`),
    cliText.stdout,
  );
  const cliJson = await runCli(lab.controller.url, ['flows', '--tenant', TENANT, '--verdict', 'deny', '-o', 'json']);
  const lines = cliJson.stdout.trim().split('\n');
  assert.ok(lines.length >= 1 && lines.every((l) => (JSON.parse(l) as FlowRecord).verdict === 'denied'), cliJson.stdout);

  // A flood of denied datagrams: the kernel logs at most the limit, the logging rule counts every packet.
  const h1Host = lab.state.hosts[0];
  const rssBefore = rssKb(h1Host.agentPid!);
  const floodStart = Date.now();
  const flood = run(
    'ip',
    ['netns', 'exec', bad.netns, process.execPath, '-e', FLOODER, srv.addresses[0], String(FLOOD_PORT), String(FLOOD)],
    {
      timeoutMs: 120000,
    },
  );
  // The agent keeps answering while the flood runs.
  const health = new AttachClient(h1Host.socket);
  const answered = Date.now();
  assert.equal((await health.healthz()).ok, true);
  assert.ok(Date.now() - answered < 5000, 'the agent answered its health check during the flood');
  await flood;
  const floodSeconds = (Date.now() - floodStart) / 1000;
  const router = tenantNamespaceName(h1Host.netnsPrefix, TENANT);
  const table = (await run('ip', ['netns', 'exec', router, 'nft', '-j', 'list', 'table', 'inet', 'tenet'])).stdout;
  const logged = (JSON.parse(table) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[] }).nftables
    .map((e) => e.rule)
    .filter((r) => r?.comment?.startsWith('log deny tenant:guard:ingress:1'))
    .reduce((sum, r) => sum + (r!.expr.find((x) => x.counter)?.counter?.packets ?? 0), 0);
  assert.ok(logged >= FLOOD, `the logging rule saw every packet of the flood (${logged})`);
  await new Promise((resolve) => setTimeout(resolve, 2500)); // the last records' push
  const floodRecords = (await flows(admin, `tenant=${TENANT}&verdict=deny&from=${bad.endpoint}`)).items.filter(
    (r) => r.to.port === FLOOD_PORT && r.protocol === 'udp',
  );
  const allowedByLimit = DENY_LOG_LIMIT.burst + Math.ceil(DENY_LOG_LIMIT.perSecond * (floodSeconds + 1));
  assert.ok(floodRecords.length >= 1, 'the flood is recorded');
  assert.ok(
    floodRecords.length <= allowedByLimit,
    `${floodRecords.length} records of ${FLOOD} packets in ${floodSeconds.toFixed(1)} s: the limit allows ${allowedByLimit}`,
  );
  const rssAfter = rssKb(h1Host.agentPid!);
  t.diagnostic(
    `flood: ${FLOOD} datagrams in ${floodSeconds.toFixed(1)} s, logging rule counted ${logged}, ${floodRecords.length} records (limit allows ${allowedByLimit}), agent RSS ${rssBefore} -> ${rssAfter} kB`,
  );
  assert.ok(rssAfter - rssBefore < 40_000, `agent memory grew by ${rssAfter - rssBefore} kB during the flood`);

  // The agent's metrics (attach socket): the records it made, its flow reader, and promtool's approval.
  const metrics = await agentGet(h1Host.socket, '/metrics');
  assert.equal(metrics.status, 200);
  const made = Number(/^tenet_agent_flow_records_total (\d+)$/m.exec(metrics.text)?.[1]);
  assert.ok(made >= floodRecords.length + 1, `tenet_agent_flow_records_total ${made}`);
  assert.match(metrics.text, /^tenet_agent_flow_readers 1$/m);
  assert.match(metrics.text, /^tenet_agent_reconcile_passes_total\{full="true"\} [1-9]/m);
  assert.match(metrics.text, /^tenet_agent_nft_transaction_duration_seconds_count [1-9]/m);
  const checked = spawnSync('promtool', ['check', 'metrics'], { input: metrics.text, encoding: 'utf8' });
  assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);

  // Tenants: another tenant's admin sees none of these records and may not ask for them; this tenant's admin sees them.
  await admin.apply([{ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'other' }, spec: {} }] as unknown as TenetObject[]);
  const token = async (tenant: string) =>
    ((await admin.request('POST', '/api/v1/tokens', { role: 'tenant-admin', tenant })) as { token: string }).token;
  const other = new TenetClient({ servers: [lab.controller.url], token: await token('other') });
  const own = new TenetClient({ servers: [lab.controller.url], token: await token(TENANT) });
  assert.deepEqual((await flows(other, '')).items, []);
  assert.equal((await flows(other, '')).dropped, undefined, 'per-host counters are for admins');
  await assert.rejects(flows(other, `tenant=${TENANT}`), (e: unknown) => e instanceof ApiError && e.status === 403);
  const ownRecords = (await flows(own, 'verdict=deny')).items;
  assert.ok(ownRecords.some(isBadDeny));
  assert.ok(ownRecords.every((r) => r.tenant === TENANT));
  const otherCli = await runCli(lab.controller.url, ['flows', '--tenant', TENANT], { env: { TENET_TOKEN: await token('other') } });
  assert.notEqual(otherCli.code, 0);

  // Agents: no reading, and no reporting for another host.
  const h1Agent = new TenetClient({ servers: [lab.controller.url], token: fs.readFileSync(h1Host.tokenFile!, 'utf8').trim() });
  await assert.rejects(flows(h1Agent, ''), (e: unknown) => e instanceof ApiError && e.status === 403);
  await assert.rejects(
    h1Agent.request('POST', `/api/v1/hosts/${h2}/flows`, { records: [{ ...deny!, tenant: 'other' }], evicted: 0 }),
    (e: unknown) => e instanceof ApiError && e.status === 403,
  );
  assert.deepEqual((await flows(other, '')).items, [], 'nothing was planted in the other tenant');
  // A malformed report is refused whole.
  await assert.rejects(
    h1Agent.request('POST', `/api/v1/hosts/${h1}/flows`, { records: [{ ...deny!, from: 'x' }], evicted: 0 }),
    (e: unknown) => e instanceof ApiError && e.status === 400,
  );
});
