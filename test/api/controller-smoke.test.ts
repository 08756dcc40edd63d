import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startController } from '../helpers/controller';
import { ApiError } from '../../src/client/errors';
import type { TenetObject } from '../../src/core/model/object';

const tenant = (name: string): TenetObject => ({ apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name }, spec: {} });

test('controller starts, serves CRUD, restarts with its data, and cleans up its temp dir', async (t) => {
  let controller = await startController();
  t.after(() => controller.stop());
  assert.match(controller.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const created = await controller.client.create(tenant('acme'));
  assert.equal(created.metadata.name, 'acme');
  assert.equal(typeof (created.status as { vni?: number }).vni, 'number');
  await assert.rejects(controller.client.create(tenant('acme')), (e: unknown) => e instanceof ApiError && e.status === 409);
  controller = await controller.restart();
  const again = await controller.client.get('Tenant', 'acme');
  assert.equal(again.metadata.uid, created.metadata.uid);
  const dir = controller.dataDir;
  await controller.stop();
  const fs = await import('node:fs');
  assert.equal(fs.existsSync(dir), false);
});
