/**
 * The Flows view in a real chromium against a real controller, fed as the agents feed it (POST
 * /api/v1/hosts/NAME/flows with each host's agent token; no kernel needed): records reported later
 * appear without a reload, each with its peers, port, verdict, deciding rule, service and counts; the
 * filters narrow the tail (also the live part); a tenant-admin never sees another tenant's records,
 * not even ones reported while it watches; markup in names is shown as text.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startController, type RunningController } from '../helpers/controller';
import { mintToken, send } from '../helpers/http';
import { tenantObj } from '../api/api-helpers';
import type { FlowRecord } from '../../src/core/flows/records';
import { launchBrowser, loggedIn, screenshot } from './browser';

let controller: RunningController;
let browser: Browser;
const agents: Record<string, string> = {};
let seq = 0;

type Verdict = 'denied' | 'allowed' | 'logged';

function record(tenant: string, host: string, from: string, to: string, verdict: Verdict, extra: Partial<FlowRecord> = {}): FlowRecord {
  return {
    seq: ++seq,
    time: new Date().toISOString(),
    host,
    tenant,
    type: verdict === 'denied' ? 'deny' : verdict === 'logged' ? 'log' : 'flow-start',
    verdict,
    protocol: 'tcp',
    from: { address: '10.1.0.2', port: 40000 + seq, endpoint: from, host },
    to: { address: '10.1.0.3', port: 5432, endpoint: to, host },
    ...(verdict === 'allowed'
      ? { ingress: { direction: 'ingress', tier: 'tenant', policy: `Policy ${tenant}/db-in`, rule: 0, action: 'allow', source: 'kernel' } }
      : {
          rule: {
            direction: 'ingress',
            tier: 'tenant',
            policy: `Policy ${tenant}/db-in`,
            rule: 1,
            ruleName: 'no web',
            action: verdict === 'logged' ? 'log' : 'deny',
          },
        }),
    ...extra,
  } as FlowRecord;
}

async function report(host: string, records: FlowRecord[]): Promise<void> {
  const answer = await send(controller.url, 'POST', `/api/v1/hosts/${host}/flows`, { token: agents[host], body: { records, evicted: 0 } });
  assert.equal(answer.status, 200, answer.text);
}

/** Each row's cells, joined by one space. */
const rows = (page: Page): Promise<string[]> =>
  page.$$eval('.flows-table tbody tr', (trs) =>
    trs.map((tr) =>
      Array.from(tr.querySelectorAll('td'), (td: { textContent: string | null }) => (td.textContent ?? '').trim())
        .filter(Boolean)
        .join(' '),
    ),
  );
// The page's CSP forbids evaluating strings: the predicates are functions, the document reached through globalThis.
const rowCount = (page: Page, n: number) =>
  page.waitForFunction((count) => (globalThis as any).document.querySelectorAll('.flows-table tbody tr').length === count, n);

async function openFlows(token: string): Promise<Page> {
  const page = await loggedIn(browser, controller.url, token);
  await page.click('header nav a:has-text("Flows")');
  await page.waitForSelector('.flows-table');
  // Set on this document: still there later means the page was never reloaded.
  await page.evaluate(() => ((globalThis as Record<string, unknown>).sameDocument = true));
  return page;
}

before(async () => {
  controller = await startController();
  browser = await launchBrowser();
  for (const tenant of ['shop', 'bank']) await controller.client.create(tenantObj(tenant));
  for (const host of ['h1', 'h2']) agents[host] = (await mintToken(controller.url, controller.adminToken, { role: 'agent', host })).token;
  await report('h1', [
    record('shop', 'h1', 'web-1', 'db-1', 'allowed'),
    record('shop', 'h1', 'web-2', 'db-1', 'denied'),
    record('bank', 'h1', 'teller', 'vault', 'denied'),
    record('shop', 'h1', 'old-1', 'db-1', 'denied', { time: new Date(Date.now() - 2 * 3600_000).toISOString() }),
  ]);
});

after(async () => {
  await browser?.close();
  await controller?.stop();
});

test('records appear live without a reload, with peers, port, verdict, deciding rule, service and counts', async () => {
  const page = await openFlows(controller.adminToken);
  await page.waitForSelector('.flows-table tbody tr[data-tenant=bank]');
  const first = await rows(page);
  assert.equal(first.length, 3, JSON.stringify(first));
  assert.ok(!first.some((r) => r.includes('old-1')), 'the two-hour-old record is outside the default 15m');

  await report('h2', [
    record('shop', 'h2', 'web-1', 'cache', 'allowed', {
      type: 'flow-end',
      to: { address: '10.1.0.9', port: 6379, endpoint: 'cache-2', host: 'h2' },
      service: { name: 'cache', address: '10.96.0.10', port: 6379 },
      packets: { forward: 12, reply: 10 },
      bytes: { forward: 1400, reply: 9100 },
    }),
  ]);
  // No timing target here (those live in bench/): the record must come in by the polling, not by a reload.
  await page.waitForSelector('.flows-table tbody tr:has-text("cache-2@h2:6379")');
  assert.equal(await page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument), true, 'no reload');
  const [newest] = await rows(page);
  assert.match(
    newest,
    /shop web-1@h2:\d+ → cache-2@h2:6379 tcp\/6379 allowed \(ended\) ingress: tenant Policy shop\/db-in rule 0 \(allow\) cache:6379 12\/10 pkts 1400\/9100 bytes/,
  );
  const denied = (await rows(page)).find((r) => r.includes('web-2'));
  assert.match(
    denied ?? '',
    /shop web-2@h1:\d+ → db-1@h1:5432 tcp\/5432 denied ingress: tenant Policy shop\/db-in rule 1 "no web" \(deny\)/,
  );
  await screenshot(page, 'flows-live');
  await page.context().close();
});

test('the filters narrow the records, the live tail included', async () => {
  const page = await openFlows(controller.adminToken);
  await page.waitForSelector('.flows-table tbody tr');

  await page.selectOption('select[aria-label=verdict]', 'deny');
  await page.waitForFunction(() =>
    Array.from((globalThis as any).document.querySelectorAll('.flows-table tbody tr') as Array<{ dataset: { verdict?: string } }>).every(
      (tr) => tr.dataset.verdict === 'denied',
    ),
  );
  assert.deepEqual((await rows(page)).map((r) => /(\S+)@h1:\d+ →/.exec(r)?.[1]).sort(), ['teller', 'web-2']);

  await page.fill('input[aria-label=tenant]', 'shop');
  await page.press('input[aria-label=tenant]', 'Enter');
  await rowCount(page, 1);
  assert.match((await rows(page))[0], /web-2@h1/);

  // Live: a matching record appears, others reported with it do not.
  await report('h1', [
    record('shop', 'h1', 'web-3', 'db-1', 'allowed'),
    record('bank', 'h1', 'teller', 'vault', 'denied'),
    record('shop', 'h1', 'web-4', 'db-1', 'denied'),
  ]);
  await page.waitForSelector('.flows-table tbody tr:has-text("web-4@h1")');
  await page.waitForTimeout(1500);
  const live = await rows(page);
  assert.equal(live.length, 2, JSON.stringify(live));
  assert.ok(
    live.every((r) => / shop .* denied /.test(r)),
    JSON.stringify(live),
  );
  assert.ok(!live.some((r) => r.includes('web-3') || r.includes('teller')), JSON.stringify(live));

  await page.fill('input[aria-label=from]', 'web-4');
  await page.press('input[aria-label=from]', 'Enter');
  await rowCount(page, 1);
  assert.match((await rows(page))[0], /web-4@h1/);
  await page.fill('input[aria-label=from]', '');
  await page.press('input[aria-label=from]', 'Enter');
  await page.fill('input[aria-label=to]', '10.1.0.3');
  await page.press('input[aria-label=to]', 'Enter');
  await rowCount(page, 2);

  // Since: the two-hour-old record comes back with a wider window.
  await page.selectOption('select[aria-label=since]', '24h');
  await page.waitForSelector('.flows-table tbody tr:has-text("old-1@h1")');
  assert.equal((await rows(page)).length, 3);

  await screenshot(page, 'flows-filtered');
  // A query the API refuses is shown as its words.
  await page.fill('input[aria-label=from]', 'a b');
  await page.press('input[aria-label=from]', 'Enter');
  await page.waitForSelector('.flows [role=alert]');
  assert.match((await page.textContent('.flows [role=alert]')) ?? '', /invalid flow query: from: must be an endpoint name or an address/);
  await page.context().close();
});

test("a tenant-admin sees its tenant's records only, also those reported while it watches", async () => {
  const shopAdmin = (await mintToken(controller.url, controller.adminToken, { role: 'tenant-admin', tenant: 'shop' })).token;
  const page = await openFlows(shopAdmin);
  assert.equal(await page.isDisabled('input[aria-label=tenant]'), true);
  await page.waitForSelector('.flows-table tbody tr');
  // Bank's record first, then shop's: once shop's is shown, bank's had its chance to appear.
  await report('h2', [record('bank', 'h2', 'spy-target', 'vault', 'denied')]);
  await report('h2', [record('shop', 'h2', 'web-9', 'db-1', 'denied')]);
  await page.waitForSelector('.flows-table tbody tr:has-text("web-9@h2")');
  await page.waitForTimeout(1500);
  const tenants = await page.$$eval('.flows-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-tenant')));
  assert.ok(tenants.length >= 4, JSON.stringify(tenants));
  assert.ok(
    tenants.every((t) => t === 'shop'),
    JSON.stringify(tenants),
  );
  assert.doesNotMatch((await page.textContent('.flows')) ?? '', /bank|teller|vault|spy-target/);
  await screenshot(page, 'flows-tenant-admin');
  await page.context().close();
});

test('markup in names is shown as text, never parsed or run', async () => {
  const markup = '<img src=x onerror="window.pwned=1">';
  await report('h1', [
    record('shop', 'h1', markup, 'db-1', 'denied', {
      rule: {
        direction: 'ingress',
        tier: 'tenant',
        policy: 'Policy shop/<b>p</b>',
        rule: 1,
        ruleName: '<script>window.pwned=2</script>',
        action: 'deny',
      },
    }),
  ]);
  const page = await openFlows(controller.adminToken);
  await page.waitForSelector('.flows-table tbody tr:has-text("onerror")');
  const text = (await page.textContent('.flows-table')) ?? '';
  assert.ok(text.includes(`${markup}@h1`), text);
  assert.ok(text.includes('<script>window.pwned=2</script>'));
  assert.equal(await page.$$eval('.flows img, .flows script, .flows b', (found) => found.length), 0);
  assert.equal(await page.evaluate(() => (globalThis as Record<string, unknown>).pwned), undefined);
  await page.context().close();
});
