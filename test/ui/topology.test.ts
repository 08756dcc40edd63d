/**
 * The topology view in a real chromium against a real controller: live from the watch stream
 * (endpoints created and deleted through the API appear and vanish without a reload), a
 * tenant-admin sees nothing of another tenant, and 2,000 endpoints are held, grouped and searchable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken } from '../helpers/http';
import { endpointObj, networkObj, tenantObj, V } from '../api/api-helpers';
import { launchBrowser, loggedIn, screenshot } from './browser';

let controller: RunningController;
let browser: Browser;

before(async () => {
  controller = await startController();
  browser = await launchBrowser();
  const c = controller.client;
  for (const tenant of ['shop', 'bank']) await c.create(tenantObj(tenant));
  await c.create(networkObj('shop', 'web', ['10.1.0.0/24']));
  await c.create(networkObj('bank', 'vault', ['10.2.0.0/24']));
  await c.create(endpointObj('shop', 'web', 'web-1', { host: 'h1' }, { app: 'web' }));
  await c.create(endpointObj('bank', 'vault', 'ledger-1', { host: 'h2' }, { app: 'ledger' }));
  await c.apply([
    {
      apiVersion: V,
      kind: 'Service',
      metadata: { tenant: 'shop', name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, ports: [{ protocol: 'TCP', port: 80 }] },
    },
  ]);
});

after(async () => {
  await browser?.close();
  await controller?.stop();
});

async function openTopology(page: Page): Promise<void> {
  await page.click('header nav a:has-text("Topology")');
  await page.waitForFunction(
    () => (globalThis as any).tenetTopology !== undefined && Number((globalThis as any).document.querySelector('.graph').dataset.drawn) > 0,
  );
}

// These functions run in the browser (serialized, so nothing of this module is in scope there, and the page's CSP
// forbids evaluating strings): the page's window is `(globalThis as any)`.
const drawn = (page: Page, id: string): Promise<boolean> => page.evaluate((node) => (globalThis as any).tenetTopology.drawn(node), id);
const waitDrawn = (page: Page, id: string, shown = true, timeout = 15_000) =>
  page.waitForFunction(([node, wanted]) => (globalThis as any).tenetTopology.drawn(node) === wanted, [id, shown] as const, { timeout });

test('endpoints created and deleted through the API appear and vanish without a reload', async () => {
  const page = await loggedIn(browser, controller.url, controller.adminToken);
  await openTopology(page);
  for (const id of ['tn:shop', 'tn:bank', 'net:shop/web', 'ep:shop/web-1', 'ep:bank/ledger-1', 'host:h1', 'svc:shop/web'])
    assert.equal(await drawn(page, id), true, id);
  assert.equal(await drawn(page, 'ep:shop/web-2'), false);

  await controller.client.create(endpointObj('shop', 'web', 'web-2', { host: 'h2' }, { app: 'web' }));
  // Live: the watch event, not a reload (the page's own document stays the same).
  await page.evaluate(() => ((globalThis as any).keptAcrossUpdates = true));
  await waitDrawn(page, 'ep:shop/web-2', true, 2000);
  assert.equal(await page.evaluate(() => (globalThis as any).keptAcrossUpdates), true);
  await screenshot(page, 'topology-live');

  await controller.client.delete('Endpoint', 'web-2', 'shop');
  await waitDrawn(page, 'ep:shop/web-2', false, 2000);
  assert.equal(await drawn(page, 'ep:shop/web-1'), true);
  await page.context().close();
});

test('a tenant-admin sees its own tenant and nothing of another', async () => {
  const token = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'shop' })).token;
  const page = await loggedIn(browser, controller.url, token);
  await openTopology(page);
  assert.equal(await drawn(page, 'ep:shop/web-1'), true);
  for (const id of ['tn:bank', 'net:bank/vault', 'ep:bank/ledger-1', 'host:h2']) assert.equal(await drawn(page, id), false, id);
  // Nor does a live change of the other tenant reach it.
  await controller.client.create(endpointObj('bank', 'vault', 'ledger-2', { host: 'h1' }));
  await controller.client.create(endpointObj('shop', 'web', 'web-3', { host: 'h1' }));
  await waitDrawn(page, 'ep:shop/web-3', true, 2000);
  assert.equal(await drawn(page, 'ep:bank/ledger-2'), false);
  assert.equal(await page.evaluate(() => (globalThis as any).tenetTopology.endpoints()), 2);
  await page.fill('.topology-search', 'ledger');
  assert.equal(await page.textContent('.result-count'), '0 matches');
  await screenshot(page, 'topology-tenant-admin');
  await page.context().close();
});

test('2,000 endpoints are held, big groups collapsed, and search by name, label and address finds and opens one', async () => {
  const c = controller.client;
  await c.create(tenantObj('big'));
  const networks = 8;
  for (let n = 0; n < networks; n++) await c.create(networkObj('big', `net-${n}`, [`10.${100 + n}.0.0/22`]));
  const names = Array.from({ length: 2000 }, (_, i) => i);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(
      names
        .slice(i, i + 50)
        .map((n) =>
          c.create(endpointObj('big', `net-${n % networks}`, `ep-${n}`, { host: `h${n % 2}` }, { shard: String(n % 10), app: `app-${n}` })),
        ),
    );
  }
  const page = await loggedIn(browser, controller.url, controller.adminToken);
  await openTopology(page);
  const total = (await c.list('Endpoint')).items.length;
  assert.ok(total > 2000);
  await page.waitForSelector(`.stats[data-endpoints="${total}"]`);
  // 250 per network: collapsed to one node each, counting what it holds.
  assert.equal(await drawn(page, 'net:big/net-3'), true);
  assert.equal(await drawn(page, 'ep:big/ep-1234'), false);

  await page.fill('.topology-search', 'ep-1234');
  await page.waitForSelector('.result-count:has-text("1 match")');
  await page.click('.results li[data-endpoint="big/ep-1234"]');
  await waitDrawn(page, 'ep:big/ep-1234');
  await screenshot(page, 'topology-2000-search');

  await page.fill('.topology-search', 'app=app-77');
  await page.waitForSelector('.results li[data-endpoint="big/ep-77"]');
  assert.equal(await page.textContent('.result-count'), '1 match');
  const address = ((await c.get('Endpoint', 'ep-42', 'big')).status as { ipv4: string }).ipv4;
  await page.fill('.topology-search', address);
  await page.waitForSelector('.results li[data-endpoint="big/ep-42"]');
  await page.fill('.topology-search', 'shard=3');
  await page.waitForSelector('.result-count:has-text("200 matches")');

  await page.selectOption('select[aria-label="group by"]', 'host');
  await waitDrawn(page, 'host:h0');
  await screenshot(page, 'topology-2000-by-host');
  await page.context().close();
});
