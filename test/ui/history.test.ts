/**
 * History and audit in a real chromium against a real controller: an edit made in the console is a
 * revision `tenet history` lists, each revision shows its diff, a rollback shows its dry run (changes
 * and flow impact) and waits for a confirmation, and `tenet get` sees the result; the audit trail is
 * narrowed to a tenant-admin's tenant and filtered by outcome.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import { endpointObj, networkObj, tenantObj, V } from '../api/api-helpers';
import { runCli } from '../cli/run-cli';
import { launchBrowser, loggedIn, screenshot } from './browser';

let controller: RunningController;
let browser: Browser;

const policy = (port: number) => ({
  apiVersion: V,
  kind: 'Policy',
  metadata: { tenant: 'shop', name: 'db-in' },
  spec: {
    appliesTo: { selector: { matchLabels: { app: 'db' } } },
    ingress: [{ action: 'allow', from: [{ selector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port }] }],
  },
});

before(async () => {
  controller = await startController();
  browser = await launchBrowser();
  const c = controller.client;
  for (const tenant of ['shop', 'bank']) await c.create(tenantObj(tenant));
  await c.create(networkObj('shop', 'net', ['10.1.0.0/24']));
  await c.create(networkObj('bank', 'net', ['10.2.0.0/24']));
  await c.create(endpointObj('shop', 'net', 'web-1', {}, { app: 'web' }));
  await c.create(endpointObj('shop', 'net', 'db-1', {}, { app: 'db' }));
  await c.apply([policy(5432)], { message: 'first db policy' });
});

after(async () => {
  await browser?.close();
  await controller?.stop();
});

test('an edit made in the console is in tenet history with its diff; a rollback shows its impact, waits for confirmation, and tenet get sees it', async () => {
  const page = await loggedIn(browser, controller.url, controller.adminToken);
  // The edit, through the Objects view: port 5432 -> 6432.
  await page.click('.kinds button[data-kind=Policy]');
  await page.click('.objects-table tr[data-name=db-in]');
  await page.click('.panel .tabs button:has-text("Edit")');
  const text = await page.inputValue('.yaml-editor textarea');
  assert.match(text, /port: 5432/);
  await page.fill('.yaml-editor textarea', text.replace('port: 5432', 'port: 6432'));
  await page.click('button.preview');
  await page.waitForSelector('[data-testid=preview] .impact');
  await page.click('button.apply');
  await page.waitForSelector('.applied');
  const listed = await runCli(controller.url, ['history']);
  assert.equal(listed.code, 0, listed.stderr);
  const lastLine = listed.stdout.trim().split('\n').pop() ?? '';
  assert.match(lastLine, /admin:\S+\s+apply\s+1 configured: policy\/shop\/db-in/);
  const edited = (await controller.client.history()).at(-1)!;

  await page.click('header nav a:has-text("History")');
  await page.click(`.history-table tr[data-revision="${edited.revision}"]`);
  await page.waitForSelector('.diff[data-change="Policy/shop/db-in"]');
  const diff = (await page.textContent('.diff[data-change="Policy/shop/db-in"] pre')) ?? '';
  assert.match(diff, /- +port: 5432/);
  assert.match(diff, /\+ +port: 6432/);
  await screenshot(page, 'history-diff');

  // Roll back to the revision before the edit: the dry run first, nothing changes until confirmed.
  const target = edited.revision - 1;
  await page.click(`.history-table tr[data-revision="${target}"]`);
  await page.click('button.rollback');
  await page.waitForSelector('[role=dialog][aria-label="confirm rollback"]');
  assert.match((await page.textContent('[role=dialog] ul')) ?? '', /configured Policy shop\/db-in/);
  const impact = await page.$$eval('[role=dialog] .impact tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
  assert.ok(
    impact.some((row) => /web-1db-1tcp\/5432deniedallowed/.test(row)),
    JSON.stringify(impact),
  );
  assert.ok(
    impact.some((row) => /web-1db-1tcp\/6432alloweddenied/.test(row)),
    JSON.stringify(impact),
  );
  await screenshot(page, 'rollback-confirm');
  assert.equal((await controller.client.history()).at(-1)!.revision, edited.revision, 'nothing written before the confirmation');

  await page.click('button.confirm-rollback');
  await page.waitForSelector('.panel [role=status]');
  assert.match((await page.textContent('.panel [role=status]')) ?? '', /Rolled back as revision \d+: Policy shop\/db-in configured/);
  const got = await runCli(controller.url, ['get', 'policy', 'db-in', '--tenant', 'shop', '-o', 'json']);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(JSON.parse(got.stdout).spec.ingress[0].ports[0].port, 5432);
  assert.equal((await controller.client.history()).at(-1)!.verb, 'rollback');
  await page.context().close();
});

test('the audit trail: a tenant-admin sees its tenant only; filters by outcome and actor', async () => {
  const shopAdmin = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'shop' })).token;
  const shopViewer = await mintToken(controller.url, controller.adminToken, { role: 'viewer', tenant: 'shop' });
  const bankAdmin = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'bank' })).token;
  // A viewer's refused write and bank's own change.
  assert.equal(
    (await send(controller.url, 'POST', '/api/v1/apply', { token: shopViewer.token, body: { objects: [policy(1)] } })).status,
    403,
  );
  await controller.client.apply([{ apiVersion: V, kind: 'Group', metadata: { tenant: 'bank', name: 'vault' }, spec: { selector: {} } }]);

  const page = await loggedIn(browser, controller.url, shopAdmin);
  assert.equal(await page.$('header nav a:has-text("History")'), null, 'history is for admins');
  await page.click('header nav a:has-text("Audit")');
  await page.waitForSelector('.audit-table tbody tr');
  const tenants = await page.$$eval('.audit-table tbody tr td:nth-child(4)', (cells) => cells.map((c) => c.textContent ?? ''));
  assert.ok(tenants.length > 0);
  assert.ok(
    tenants.every((t) => t.split(', ').includes('shop')),
    JSON.stringify(tenants),
  );
  await page.selectOption('select[aria-label=outcome]', 'refused');
  await page.waitForSelector('.audit-table tbody tr[data-outcome=refused]');
  const refused = await page.$$eval('.audit-table tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
  assert.ok(refused.every((r) => /refused/.test(r)));
  assert.ok(
    refused.some((r) => r.includes(`viewer(shop):${shopViewer.id}`)),
    JSON.stringify(refused),
  );
  await page.fill('input[aria-label=actor]', 'no-such-actor');
  await page.waitForSelector('.count:has-text("0 of")');
  await screenshot(page, 'audit-tenant-admin');
  await page.context().close();

  const bank = await loggedIn(browser, controller.url, bankAdmin);
  await bank.click('header nav a:has-text("Audit")');
  await bank.waitForSelector('.audit-table tbody tr');
  assert.doesNotMatch((await bank.textContent('.audit-table')) ?? '', /shop|db-in/);
  await bank.context().close();
});
