/**
 * The console on a real 2-host lab (root: namespaces, agents): a container started with the CLI
 * (`tenet lab run`, the real process) appears in the topology within 2 s, on its host, without a reload;
 * removed with `tenet lab rm`, it disappears.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestLab, tenantObjects } from '../../helpers/lab';
import { launchBrowser, loggedIn, screenshot } from '../../ui/browser';
import { runCli } from '../../cli/run-cli';
import type { TenetObject } from '../../../src/core/model/object';

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

  const labFlag = ['--name', lab.state.name];
  const made = await runCli(lab.controller.url, [
    'lab',
    'run',
    'web-1',
    ...labFlag,
    '--host',
    h2,
    '--tenant',
    'shop',
    '--network',
    'net',
    '--labels',
    'app=web',
  ]);
  assert.equal(made.code, 0, made.stderr);
  // The agent names the endpoint (after the container's id): the one endpoint labelled app=web.
  const endpoints = (await c.list('Endpoint', { tenant: 'shop' })).items.filter((e: TenetObject) => e.metadata.labels?.app === 'web');
  assert.equal(endpoints.length, 1, JSON.stringify(endpoints));
  const endpoint = `ep:shop/${endpoints[0].metadata.name}`;
  await drawn(endpoint, true, 2000);
  // ...linked to the host it runs on, and to no other.
  await drawn(`on:net:shop/net|host:${h2}`, true, 2000);
  assert.equal(await page.evaluate((id) => (globalThis as any).tenetTopology.drawn(id), `on:net:shop/net|host:${h1}`), false);
  await screenshot(page, 'lab-topology');

  const removed = await runCli(lab.controller.url, ['lab', 'rm', 'web-1', ...labFlag]);
  assert.equal(removed.code, 0, removed.stderr);
  await drawn(endpoint, false, 2000);
  await page.context().close();
});
