/**
 * The console rides the API's listener: with `--tls auto` it is served over the same HTTPS, and logs
 * in with the same tokens (chromium is told to accept the controller's own CA-signed certificate).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startController, type RunningController } from '../helpers/controller';
import { launchBrowser, screenshot } from './browser';

let controller: RunningController;
let browser: Browser;

before(async () => {
  controller = await startController({ extraArgs: ['--tls', 'auto'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await controller?.stop();
});

test('over HTTPS: the same listener serves the console, and the API token logs in', async () => {
  assert.match(controller.url, /^https:/);
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const response = await page.goto(`${controller.url}/ui/`);
  assert.equal(response?.status(), 200);
  assert.equal(new URL(page.url()).protocol, 'https:');
  await page.fill('#token', controller.adminToken);
  await page.click('button[type=submit]');
  await page.waitForSelector('header .who');
  assert.equal(await page.textContent('header .who'), 'admin');
  await screenshot(page, 'tls-login');
  await context.close();
});
