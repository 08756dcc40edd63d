/**
 * `tenet trace` at the controller, without agents or kernel (the kernel test is
 * test/kernel/flows/trace.test.ts): who may ask, who may take and answer the jobs, the concurrency
 * limit, and bad questions — all refused before any job reaches an agent's channel.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import { endpointObj, networkObj, tenantObj } from './api-helpers';
import { MAX_TRACES_PER_TENANT } from '../../src/controller/trace';
import { runCli } from '../cli/run-cli';

let controller: RunningController;
let shopAdmin: string;
let shopViewer: string;
let bankAdmin: string;
let agentH1: string;
let agentH2: string;

before(async () => {
  controller = await startController();
  const c = controller.client;
  for (const tenant of ['shop', 'bank']) await c.create(tenantObj(tenant));
  await c.create(networkObj('shop', 'net', ['10.1.0.0/24']));
  await c.create(networkObj('bank', 'net', ['10.2.0.0/24']));
  await c.create(endpointObj('shop', 'net', 'web-1', { host: 'h1' }, { app: 'web' }));
  await c.create(endpointObj('shop', 'net', 'db-1', { host: 'h1' }, { app: 'db' }));
  await c.create(endpointObj('bank', 'net', 'ledger-1', { host: 'h2' }, { app: 'ledger' }));
  const mint = (body: Record<string, unknown>) => mintToken(controller.url, controller.adminToken, body).then((t) => t.token);
  shopAdmin = await mint({ role: 'tenant-admin', tenant: 'shop' });
  shopViewer = await mint({ role: 'viewer', tenant: 'shop' });
  bankAdmin = await mint({ role: 'tenant-admin', tenant: 'bank' });
  agentH1 = await mint({ role: 'agent', host: 'h1' });
  agentH2 = await mint({ role: 'agent', host: 'h2' });
});

after(async () => controller?.stop());

const trace = (token: string, tenant: string, body: Record<string, unknown>) =>
  send(controller.url, 'POST', `/api/v1/tenants/${tenant}/trace`, { token, body });

/** What the channel of `host` holds (an agent's poll; answers at once when something is queued). */
async function pending(host: string, token: string): Promise<unknown[]> {
  const answer = await send(controller.url, 'GET', `/api/v1/hosts/${host}/traces`, { token });
  assert.equal(answer.status, 200, answer.text);
  return (answer.json as { messages: unknown[] }).messages;
}

test('a tenant role cannot trace from or to another tenant, and nothing reaches an agent', async () => {
  const ledger = (await controller.client.get<{ status: { ipv4: string } }>('Endpoint', 'ledger-1', 'bank')).status.ipv4;
  // Another tenant's trace: hidden, as explain.
  assert.equal((await trace(bankAdmin, 'shop', { from: 'web-1', to: 'db-1', port: 'tcp/80' })).status, 404);
  // Another tenant's endpoint by name or by address, from or to: not found in this tenant.
  assert.equal((await trace(shopAdmin, 'shop', { from: 'ledger-1', to: 'db-1', port: 'tcp/80' })).status, 404);
  assert.equal((await trace(shopAdmin, 'shop', { from: 'web-1', to: 'ledger-1', port: 'tcp/80' })).status, 404);
  assert.equal((await trace(shopAdmin, 'shop', { from: 'web-1', to: ledger, port: 'tcp/80' })).status, 404);
  assert.equal((await trace(shopAdmin, 'shop', { from: ledger, to: 'db-1', port: 'tcp/80' })).status, 404);
  // A viewer reads, it does not send probes; an agent asks no questions.
  assert.equal((await trace(shopViewer, 'shop', { from: 'web-1', to: 'db-1', port: 'tcp/80' })).status, 403);
  assert.equal((await trace(agentH1, 'shop', { from: 'web-1', to: 'db-1', port: 'tcp/80' })).status, 403);
  // Bad questions: 400, naming the field.
  for (const body of [
    { from: 'web-1', to: 'db-1', port: 'sctp/80' },
    { from: 'web-1', to: 'db-1', port: 'tcp/80', timeout: '1h' },
    { from: 'web-1', to: 'db-1', port: 'tcp/80', netns: '/proc/1/ns/net' },
    { from: 'web-1', to: 'db-1' },
    { from: 'web-1', to: 'service/../x', port: 'tcp/80' },
  ]) {
    const answer = await trace(shopAdmin, 'shop', body);
    assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${answer.text}`);
  }
  const [h1, h2] = await Promise.all([pending('h1', agentH1), pending('h2', agentH2)]);
  assert.deepEqual(h1, [], 'no job was sent for a refused trace');
  assert.deepEqual(h2, []);
});

test("only a host's own agent takes its jobs and reports on them", async () => {
  // Another host's channel, an admin or a tenant role: refused.
  for (const token of [agentH2, controller.adminToken, shopAdmin])
    assert.equal((await send(controller.url, 'GET', '/api/v1/hosts/h1/traces', { token })).status, 403);
  // A report for a job that is not under way (or not sent to this host): 404, never accepted.
  const report = await send(controller.url, 'POST', '/api/v1/hosts/h1/traces/0123456789abcdef', {
    token: agentH1,
    body: { phase: 'done', hooks: [] },
  });
  assert.equal(report.status, 404);
  assert.equal(
    (await send(controller.url, 'POST', '/api/v1/hosts/h1/traces/0123456789abcdef', { token: agentH2, body: { phase: 'armed' } })).status,
    403,
  );
});

test('a job goes to the source host only, and a report from another host is refused', async () => {
  const running = trace(shopAdmin, 'shop', { from: 'web-1', to: 'db-1', port: 'tcp/80', timeout: '500ms' });
  let messages: unknown[] = [];
  for (let i = 0; i < 50 && messages.length === 0; i++) messages = await pending('h1', agentH1);
  const arm = messages[0] as {
    type: string;
    job: { id: string; tenant: string; match: Record<string, unknown>; probe?: { endpoint: string } };
  };
  assert.equal(arm.type, 'arm');
  assert.equal(arm.job.tenant, 'shop');
  assert.deepEqual(arm.job.probe, { endpoint: 'web-1' });
  assert.equal(arm.job.match.protocol, 'tcp');
  assert.equal(arm.job.match.dport, 80);
  // h2's agent was sent nothing and cannot answer for h1.
  const forged = await send(controller.url, 'POST', `/api/v1/hosts/h2/traces/${arm.job.id}`, {
    token: agentH2,
    body: { phase: 'done', hooks: [] },
  });
  assert.equal(forged.status, 404);
  // A malformed report of the right host is refused whole.
  const malformed = await send(controller.url, 'POST', `/api/v1/hosts/h1/traces/${arm.job.id}`, {
    token: agentH1,
    body: { phase: 'done', hooks: [{ table: 'tenet', chain: 'x'.repeat(500), verdict: 'accept', rules: [], packet: {} }] },
  });
  assert.equal(malformed.status, 400);
  const done = await send(controller.url, 'POST', `/api/v1/hosts/h1/traces/${arm.job.id}`, {
    token: agentH1,
    body: { phase: 'done', hooks: [] },
  });
  assert.equal(done.status, 200, done.text);
  const answer = await running;
  assert.equal(answer.status, 200, answer.text);
  const body = answer.json as { agreement: string; verdict: string; explain: { allowed: boolean } };
  assert.equal(body.verdict, 'not-seen');
  assert.equal(body.agreement, 'inconclusive');
  // Audited under the tenant: its own admins see who traced, and so do they the other tenant's refused attempt.
  const audit = await send(controller.url, 'GET', '/api/v1/audit', { token: shopAdmin });
  assert.equal(audit.status, 200, audit.text);
  const entries = (audit.json as { items: { kind: string; tenant?: string; outcome: string; role: string }[] }).items.filter(
    (e) => e.kind === '/api/v1/tenants/shop/trace',
  );
  assert.ok(
    entries.some((e) => e.tenant === 'shop' && e.outcome === 'allowed' && e.role === 'tenant-admin(shop)'),
    JSON.stringify(entries),
  );
  assert.ok(entries.some((e) => e.outcome === 'refused'));
});

test(`at most ${MAX_TRACES_PER_TENANT} traces per tenant at once: the next is 429 and sends nothing`, async () => {
  const runs = Array.from({ length: MAX_TRACES_PER_TENANT }, () =>
    trace(shopAdmin, 'shop', { from: 'web-1', to: 'db-1', port: 'udp/53', timeout: '500ms' }),
  );
  // Wait until both reached the channel (their jobs are queued for h1).
  let queued: unknown[] = [];
  for (let i = 0; i < 50 && queued.length < MAX_TRACES_PER_TENANT; i++) queued = [...queued, ...(await pending('h1', agentH1))];
  assert.equal(queued.length, MAX_TRACES_PER_TENANT);
  const third = await trace(shopAdmin, 'shop', { from: 'web-1', to: 'db-1', port: 'udp/53', timeout: '500ms' });
  assert.equal(third.status, 429, third.text);
  // Another tenant is not held back by shop's traces (it gets its own answer: here, its agent never answers).
  const answers = await Promise.all(runs);
  for (const a of answers) assert.equal(a.status, 200);
  const errors = answers.map((a) => (a.json as { hosts: { error?: string }[] }).hosts[0].error);
  for (const e of errors) assert.match(e ?? '', /did not answer/);
  assert.deepEqual(
    (await pending('h1', agentH1)).filter((m) => (m as { type: string }).type === 'arm'),
    [],
    'the refused trace sent no job',
  );
});

test('the CLI: usage errors exit 2 and send nothing; another tenant is refused; no agent answering is inconclusive, exit 3', async () => {
  const cli = (args: string[], token = controller.adminToken) =>
    runCli(controller.url, ['trace', '--tenant', 'shop', '--from', 'web-1', '--to', 'db-1', ...args], { env: { TENET_TOKEN: token } });
  for (const args of [
    ['--port', 'sctp/9'],
    ['--port', 'tcp/80', '--timeout', 'soon'],
    ['--port', 'tcp/99999'],
  ]) {
    const result = await cli(args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
  }
  const other = await cli(['--port', 'tcp/80'], bankAdmin);
  assert.equal(other.code, 3, other.stderr);
  assert.match(other.stderr, /not found/);
  const nobody = await cli(['--port', 'tcp/80', '--timeout', '500ms']);
  assert.equal(nobody.code, 3, nobody.stdout + nobody.stderr);
  assert.match(nobody.stdout, /host h1, source:\n {2}error: the agent of host h1 did not answer in time/);
  assert.match(nobody.stdout, /INCONCLUSIVE/);
});
