/**
 * The policy matrix and explain views in a real chromium against a real controller: a policy applied
 * with the CLI turns cells red without a reload, a policy switched off in the preview shows which
 * cells would change, a tenant-admin sees its own tenant and no GlobalPolicy name, explain answers
 * the verdict and the deciding rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken } from '../helpers/http';
import { endpointObj, networkObj, tenantObj, V } from '../api/api-helpers';
import { runCli } from '../cli/run-cli';
import { launchBrowser, loggedIn, screenshot } from './browser';

let controller: RunningController;
let browser: Browser;

before(async () => {
  controller = await startController();
  browser = await launchBrowser();
  const c = controller.client;
  for (const tenant of ['shop', 'bank']) await c.create(tenantObj(tenant));
  await c.create(networkObj('shop', 'net', ['10.1.0.0/24']));
  await c.create(networkObj('bank', 'net', ['10.2.0.0/24']));
  for (const [name, app] of [
    ['web-1', 'web'],
    ['web-2', 'web'],
    ['db-1', 'db'],
    ['cache-1', 'cache'],
  ])
    await c.create(endpointObj('shop', 'net', name, {}, { app }));
  await c.create(endpointObj('bank', 'net', 'ledger-1', {}, { app: 'ledger' }));
  await c.apply(
    [
      ['shop', 'web'],
      ['shop', 'db'],
      ['shop', 'cache'],
      ['bank', 'ledger'],
    ].map(([tenant, app]) => ({
      apiVersion: V,
      kind: 'Group',
      metadata: { tenant, name: app },
      spec: { selector: { matchLabels: { app } } },
    })),
  );
  await c.apply([
    {
      apiVersion: V,
      kind: 'GlobalPolicy',
      metadata: { name: 'hidden-guard' },
      spec: {
        tier: 'admin',
        priority: 5,
        appliesTo: { tenants: ['shop'] },
        ingress: [{ action: 'deny', ports: [{ protocol: 'TCP', port: 6666 }] }],
      },
    },
  ]);
});

after(async () => {
  await browser?.close();
  await controller?.stop();
});

const cell = (page: Page, from: string, to: string) => `table.matrix td[data-from="${from}"][data-to="${to}"]`;

async function openMatrix(page: Page, tenant: string, ports: string): Promise<void> {
  await page.click('header nav a:has-text("Policy matrix")');
  const picker = '.matrix-controls select[aria-label=tenant]';
  await page.locator(picker).locator('option', { hasText: tenant }).waitFor({ state: 'attached' });
  if (!(await page.isDisabled(picker))) await page.selectOption(picker, tenant); // tenant roles: fixed to their own
  await page.fill('.matrix-controls input[aria-label=ports]', ports);
  await page.press('.matrix-controls input[aria-label=ports]', 'Enter');
  await page.waitForSelector(`table.matrix[data-port="${ports.split(',')[0]}"] td.cell`).catch(async (error: unknown) => {
    await screenshot(page, 'matrix-did-not-open');
    throw error;
  });
}

test('a policy applied from the CLI turns matrix cells red live; switching it off in the preview shows what would change', async () => {
  const page = await loggedIn(browser, controller.url, controller.adminToken);
  await openMatrix(page, 'shop', 'tcp/80,tcp/5432');
  assert.equal(await page.getAttribute(cell(page, 'web', 'db'), 'data-verdict'), 'allow');
  assert.equal(await page.getAttribute(cell(page, 'db', 'db'), 'data-verdict'), 'empty');
  assert.equal(await page.$('table.matrix th:has-text("ledger")'), null, "another tenant's groups are not rows");

  const policy = [
    'apiVersion: tenet.dev/v1',
    'kind: Policy',
    'metadata: {tenant: shop, name: db-in}',
    'spec:',
    '  appliesTo: {group: db}',
    '  ingress:',
    '    - {name: web to postgres, action: allow, from: [{group: web}], ports: [{protocol: TCP, port: 5432}]}',
    '',
  ].join('\n');
  const applied = await runCli(controller.url, ['apply', '-f', '-'], { input: policy });
  assert.equal(applied.code, 0, applied.stderr);
  await page.waitForSelector(`${cell(page, 'web', 'db')}[data-verdict="deny"]`, { timeout: 2000 });
  assert.equal(await page.getAttribute(cell(page, 'cache', 'db'), 'data-verdict'), 'deny');
  assert.equal(await page.getAttribute(cell(page, 'db', 'web'), 'data-verdict'), 'allow', 'web is not isolated');
  await screenshot(page, 'matrix-live');

  await page.selectOption('.matrix-controls select[aria-label=port]', { label: 'tcp/5432' });
  await page.waitForSelector('table.matrix[data-port="tcp/5432"]');
  assert.equal(await page.getAttribute(cell(page, 'web', 'db'), 'data-verdict'), 'allow');
  assert.equal(await page.getAttribute(cell(page, 'cache', 'db'), 'data-verdict'), 'deny');
  assert.match(
    (await page.getAttribute(cell(page, 'web', 'db'), 'title')) ?? '',
    /tenant tier, Policy shop\/db-in, ingress rule 0 "web to postgres" \(allow\)/,
  );

  await page.check('input[data-policy="Policy/db-in"]');
  await page.waitForSelector(`${cell(page, 'cache', 'db')}[data-preview="allow"]`);
  assert.match((await page.getAttribute(cell(page, 'cache', 'db'), 'class')) ?? '', /changed/);
  assert.doesNotMatch((await page.getAttribute(cell(page, 'web', 'db'), 'class')) ?? '', /changed/, 'allowed either way');
  assert.match((await page.textContent('.changed-count')) ?? '', /[1-9]\d* cell\(s\) would change/);
  await screenshot(page, 'matrix-preview');
  assert.equal((await controller.client.list('Policy', { tenant: 'shop' })).items.length, 1, 'a preview changes nothing');
  await page.context().close();
});

test('a tenant-admin gets its own matrix and explain, with GlobalPolicies unnamed', async () => {
  const token = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'shop' })).token;
  const page = await loggedIn(browser, controller.url, token);
  await openMatrix(page, 'shop', 'tcp/6666');
  assert.equal(await page.isDisabled('.matrix-controls select[aria-label=tenant]'), true);
  assert.deepEqual(await page.$$eval('.matrix-controls select[aria-label=tenant] option', (options) => options.map((o) => o.textContent)), [
    'shop',
  ]);
  assert.equal(await page.getAttribute(cell(page, 'web', 'cache'), 'data-verdict'), 'deny');
  const title = (await page.getAttribute(cell(page, 'web', 'cache'), 'title')) ?? '';
  assert.match(title, /admin tier, a GlobalPolicy \(deny\)/);
  assert.doesNotMatch(await page.content(), /hidden-guard/);
  await screenshot(page, 'matrix-tenant-admin');

  await page.click('header nav a:has-text("Explain")');
  await page.fill('input[name=from]', 'web-1');
  await page.fill('input[name=to]', 'db-1');
  await page.fill('input[name=port]', 'tcp/5432');
  await page.click('.explain button[type=submit]');
  await page.waitForSelector('.verdict');
  assert.match((await page.textContent('.verdict')) ?? '', /web-1 \(10\.1\.0\.\d+\) → db-1 \(10\.1\.0\.\d+\) tcp\/5432: ALLOWED/);
  assert.match(
    (await page.textContent('.decisions')) ?? '',
    /ingress: allow by tenant tier, Policy shop\/db-in, ingress rule 0 "web to postgres"/,
  );
  await page.fill('input[name=to]', 'ledger-1');
  await page.click('.explain button[type=submit]');
  await page.waitForSelector('.explain [role=alert]');
  assert.match((await page.textContent('.explain [role=alert]')) ?? '', /neither an address nor an endpoint/);
  await page.fill('input[name=to]', 'web-2');
  await page.fill('input[name=port]', 'tcp/6666');
  await page.click('.explain button[type=submit]');
  await page.waitForSelector('.verdict.denied');
  assert.match((await page.textContent('.decisions')) ?? '', /ingress: deny by admin tier, a GlobalPolicy \(deny\)/);
  await screenshot(page, 'explain-tenant-admin');
  await page.context().close();
});
