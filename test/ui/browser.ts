/**
 * One headless Debian chromium per test file (playwright-core, no downloaded browser), a page per
 * test logged in with a token, and a screenshot of every test under test-output/ui/ (not kept in git).
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TENET_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = path.resolve(__dirname, '..', '..', '..', 'test-output', 'ui');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: bash scripts/setup.sh --test installs Debian's chromium`);
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A fresh page (its own session storage) at /ui/, logged in with `token`. */
export async function loggedIn(browser: Browser, url: string, token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${url}/ui/`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('header .who');
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
