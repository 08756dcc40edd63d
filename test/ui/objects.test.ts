/**
 * The web console's login and Objects view in a real chromium against a real controller: tokens,
 * what each role sees, edit-and-apply with the impact preview first, errors on the field, a viewer
 * refused by the API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import { endpointObj, networkObj, tenantObj, V } from '../api/api-helpers';
import { launchBrowser, loggedIn, screenshot } from './browser';

let controller: RunningController;
let browser: Browser;
let shopAdmin: string;
let shopViewer: string;

before(async () => {
  controller = await startController();
  browser = await launchBrowser();
  const c = controller.client;
  for (const tenant of ['shop', 'bank']) await c.create(tenantObj(tenant));
  await c.create(networkObj('shop', 'web', ['10.1.0.0/24']));
  await c.create(networkObj('bank', 'vault', ['10.2.0.0/24']));
  await c.create(endpointObj('shop', 'web', 'web-1', {}, { app: 'web' }));
  await c.create(endpointObj('shop', 'web', 'db-1', {}, { app: 'db' }));
  await c.create(endpointObj('bank', 'vault', 'ledger-1', {}, { app: 'ledger' }));
  await c.apply([
    { apiVersion: V, kind: 'Group', metadata: { tenant: 'shop', name: 'db' }, spec: { selector: { matchLabels: { app: 'db' } } } },
    { apiVersion: V, kind: 'Group', metadata: { tenant: 'bank', name: 'ledger' }, spec: { selector: { matchLabels: { app: 'ledger' } } } },
  ]);
  shopAdmin = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'shop' })).token;
  shopViewer = (await mintToken(controller.url, controller.adminToken, { role: 'viewer', tenant: 'shop' })).token;
});

after(async () => {
  await browser?.close();
  await controller?.stop();
});

async function showKind(page: Page, kind: string): Promise<string[]> {
  await page.click(`.kinds button[data-kind=${kind}]`);
  await page.waitForSelector(`.count[data-loaded^="${kind}/"]`);
  return page.$$eval('.objects-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-name') ?? ''));
}

test('the console is served under /ui/ with a strict content security policy; a wrong token is refused', async () => {
  const answer = await send(controller.url, 'GET', '/ui/');
  assert.equal(answer.status, 200);
  assert.match(answer.text, /<script src="app.js"><\/script>/);
  const script = await send(controller.url, 'GET', '/ui/app.js');
  assert.equal(script.status, 200);
  assert.equal((await send(controller.url, 'GET', '/ui/..%2Fsrc%2Fversion.js')).status, 404);
  assert.equal((await send(controller.url, 'GET', '/ui/nothing.js')).status, 404);
  // The bundled libraries' licences travel with the bundle.
  assert.match((await send(controller.url, 'GET', '/ui/app.js.LEGAL.txt')).text, /MIT/);

  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${controller.url}/ui`);
  assert.match(response!.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.fill('#token', 'tnt_not-a-real-token');
  await page.click('button[type=submit]');
  await page.waitForSelector('.login [role=alert]');
  assert.match((await page.textContent('.login [role=alert]')) ?? '', /not accepted/);
  assert.equal(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('tenet.token')), null);
  await screenshot(page, 'login-refused');
  await context.close();
});

test('an admin sees every tenant; a tenant-admin sees only its own, everywhere it looks', async () => {
  const admin = await loggedIn(browser, controller.url, controller.adminToken);
  assert.equal(await admin.textContent('header .who'), 'admin');
  assert.deepEqual((await showKind(admin, 'Tenant')).sort(), ['bank', 'shop']);
  assert.deepEqual((await showKind(admin, 'Endpoint')).sort(), ['db-1', 'ledger-1', 'web-1']);
  await admin.click('.objects-table tr[data-name=web-1]');
  await admin.waitForSelector('.panel .describe');
  assert.match((await admin.textContent('.panel .describe')) ?? '', /network web · unplaced · 10\.1\.0\.\d+/);
  await screenshot(admin, 'objects-admin');
  await admin.context().close();

  const page = await loggedIn(browser, controller.url, shopAdmin);
  assert.equal(await page.textContent('header .who'), 'tenant-admin of shop');
  assert.deepEqual(await showKind(page, 'Tenant'), ['shop']);
  assert.deepEqual((await showKind(page, 'Endpoint')).sort(), ['db-1', 'web-1']);
  assert.deepEqual(await showKind(page, 'Group'), ['db']);
  // Hosts are not for tenant roles: the API's refusal is shown, not an empty list passed off as the truth.
  await page.click('.kinds button[data-kind=Host]');
  await page.waitForSelector('.list [role=alert]');
  assert.match((await page.textContent('.list [role=alert]')) ?? '', /no access to Host/);
  await screenshot(page, 'objects-tenant-admin');
  await page.context().close();
});

test('an edit shows its dry-run impact first, puts validation errors on their line, and once applied is in the history', async () => {
  const page = await loggedIn(browser, controller.url, shopAdmin);
  await showKind(page, 'Policy');
  await page.click('button.new');
  const policy = [
    'apiVersion: tenet.dev/v1',
    'kind: Policy',
    'metadata:',
    '  tenant: shop',
    '  name: db-in',
    'spec:',
    '  appliesTo: { group: db }',
    '  ingress:',
    '    - action: allw',
    '      from: [{ selector: { matchLabels: { app: web } } }]',
    '      ports: [{ protocol: TCP, port: 5432 }]',
    '',
  ].join('\n');
  await page.fill('.yaml-editor textarea', policy);
  // Apply is offered only once the impact of exactly this text has been previewed.
  assert.equal(await page.isDisabled('button.apply'), true);
  await page.click('button.preview');
  await page.waitForSelector('.field-error');
  const error = await page.$eval('.field-error', (li) => ({
    field: li.getAttribute('data-field'),
    line: li.getAttribute('data-line'),
    text: li.textContent,
  }));
  assert.equal(error.field, 'spec.ingress[0].action');
  assert.equal(error.line, '9', 'the line of "- action: allw"');
  assert.match(error.text ?? '', /must be one of allow, deny, pass, log/);
  // ...and written on that line of the editor itself.
  assert.equal(await page.$eval('.marks .field-error-inline', (span) => span.getAttribute('data-line')), '9');
  await screenshot(page, 'edit-field-error');

  await page.fill('.yaml-editor textarea', policy.replace('allw', 'allow'));
  await page.click('button.preview');
  await page.waitForSelector('[data-testid=preview]');
  assert.match((await page.textContent('[data-testid=preview]')) ?? '', /Policy shop\/db-in: created/);
  const changes = await page.$$eval('.impact tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
  );
  // Isolating db for ingress denies what was open: the other endpoint (and db itself) to db on other ports.
  assert.ok(
    changes.some(
      ([tenant, from, to, , before, after]) =>
        tenant === 'shop' && from === 'web-1' && to === 'db-1' && before === 'allowed' && after === 'denied',
    ),
    JSON.stringify(changes),
  );
  assert.equal(
    (await controller.client.history()).some((h) => h.changes.some((c) => c.name === 'db-in')),
    false,
    'a preview writes nothing',
  );
  await screenshot(page, 'edit-preview');

  await page.click('button.apply');
  await page.waitForSelector('.applied');
  const history = await controller.client.history();
  const last = history[history.length - 1];
  assert.equal(last.message, 'edited in the web console');
  assert.deepEqual(last.changes, [{ kind: 'Policy', tenant: 'shop', name: 'db-in', action: 'created' }]);
  assert.match(last.actor, /^tenant-admin:/);
  await page.context().close();
});

test("a viewer is offered no apply; the API refuses the viewer's dry run and a forged apply, and the page says so", async () => {
  const page = await loggedIn(browser, controller.url, shopViewer);
  await showKind(page, 'Network');
  await page.click('.objects-table tr[data-name=web]');
  await page.click('.panel .tabs button:has-text("Edit")');
  assert.equal(await page.$('button.apply'), null);
  await page.fill('.yaml-editor textarea', ((await page.inputValue('.yaml-editor textarea')) ?? '').replace('spec:', 'spec:\n  mtu: 1400'));
  await page.click('button.preview');
  await page.waitForSelector('.edit [role=alert]');
  assert.match((await page.textContent('.edit [role=alert]')) ?? '', /403 Forbidden: viewer of tenant "shop" may only read/);
  await screenshot(page, 'viewer-refused');
  const forged = await page.evaluate(async (token) => {
    const response = await fetch('/api/v1/apply', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        objects: [
          {
            apiVersion: 'tenet.dev/v1',
            kind: 'Network',
            metadata: { tenant: 'shop', name: 'web' },
            spec: { subnets: [{ cidr: '10.1.0.0/24' }], mtu: 1400 },
          },
        ],
      }),
    });
    return response.status;
  }, shopViewer);
  assert.equal(forged, 403);
  const network = await controller.client.get('Network', 'web', 'shop');
  assert.equal((network.spec as { mtu?: number }).mtu, undefined, 'nothing changed');
  await page.context().close();
});

test('text from objects is shown as text: markup in a description is never run or parsed', async () => {
  const markup = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
  await controller.client.create(networkObj('shop', 'evil', ['10.9.0.0/24'], { description: markup }));
  const page = await loggedIn(browser, controller.url, shopAdmin);
  await showKind(page, 'Network');
  await page.click('.objects-table tr[data-name=evil]');
  await page.waitForSelector('.panel .describe');
  assert.match((await page.textContent('.panel .describe')) ?? '', /onerror="window\.pwned=1"/, 'shown, as text');
  await page.click('.panel .tabs button:has-text("YAML")');
  await page.click('.panel .tabs button:has-text("Edit")');
  assert.match(await page.inputValue('.yaml-editor textarea'), /<script>/);
  assert.equal(await page.$$eval('.panel img, .panel script', (found) => found.length), 0);
  assert.equal(await page.evaluate(() => (globalThis as any).pwned), undefined);
  await page.context().close();
});
