/**
 * The console on a real 2-host lab (root: namespaces, agents): a container started as `tenet lab run`
 * does appears in the topology within 2 s, on its host, without a reload; removed, it disappears.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labRm } from '../../../src/lab/lab';
import { startTestLab, tenantObjects } from '../../helpers/lab';
import { launchBrowser, loggedIn, screenshot } from '../../ui/browser';

test('a lab container appears in the topology within 2 s of its start, and disappears when removed', async (t) => {
  const lab = await startTestLab(t, 2);
  const c = lab.controller.client;
  await c.apply(tenantObjects('shop', [{ name: 'net', cidrs: ['10.44.0.0/24'] }]));
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await loggedIn(browser, lab.controller.url, lab.controller.adminToken);
  await page.click('header nav a:has-text("Topology")');
  // Runs in the browser: the page's window is (globalThis as any) there.
  const drawn = (id: string, wanted: boolean, timeout: number) =>
    page.waitForFunction(([node, want]) => (globalThis as any).tenetTopology?.drawn(node) === want, [id, wanted] as const, { timeout });
  await drawn('net:shop/net', true, 15_000);
  const [h1, h2] = lab.state.hosts.map((h) => h.name);
  // The agents' Host objects are there (admins read Hosts).
  await drawn(`host:${h1}`, true, 15_000);
  await drawn(`host:${h2}`, true, 15_000);

  const made = await lab.run('web-1', { host: h2, tenant: 'shop', network: 'net', labels: { app: 'web' } });
  // The agent names the endpoint (after the container's id).
  const endpoint = `ep:shop/${made.endpoint}`;
  await drawn(endpoint, true, 2000);
  // ...linked to the host it runs on, and to no other.
  await drawn(`on:net:shop/net|host:${h2}`, true, 2000);
  assert.equal(await page.evaluate((id) => (globalThis as any).tenetTopology.drawn(id), `on:net:shop/net|host:${h1}`), false);
  await screenshot(page, 'lab-topology');

  await labRm(lab.state, 'web-1');
  await drawn(endpoint, false, 2000);
  await page.context().close();
});
