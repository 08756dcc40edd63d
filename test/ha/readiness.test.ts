/**
 * The controller's readiness follows its store: `/readyz` answers 200 while etcd answers, 503 (within a
 * few seconds) once the single etcd member is stopped, and 200 again after it is back; `/healthz`
 * (liveness) stays 200 throughout.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { startEtcd } from '../helpers/etcd';
import { startControllerProcess } from './controller-process';

async function status(url: string): Promise<{ code: number; body: Record<string, unknown> }> {
  const answer = await fetch(url, { signal: AbortSignal.timeout(10000) });
  return { code: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

async function until(what: string, check: () => Promise<boolean>, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('readiness follows the store: a stopped etcd makes the controller not ready, and ready again when it is back', async (t) => {
  const etcd = await startEtcd({ size: 1 });
  t.after(() => etcd.stop());
  const controller = await startControllerProcess(etcd.spec);
  t.after(() => controller.kill());
  const ready = await status(`${controller.url}/readyz`);
  assert.equal(ready.code, 200);
  assert.equal(ready.body.ready, true);
  assert.equal(typeof ready.body.revision, 'number');

  await etcd.kill(0);
  await until('the controller to be not ready', async () => (await status(`${controller.url}/readyz`)).code === 503);
  const down = await status(`${controller.url}/readyz`);
  assert.equal(down.body.ready, false);
  assert.equal(typeof down.body.reason, 'string');
  assert.equal((await status(`${controller.url}/healthz`)).code, 200, 'liveness does not follow the store');

  await etcd.restart(0);
  await until('the controller to be ready again', async () => (await status(`${controller.url}/readyz`)).code === 200, 30000);
});
