/**
 * Starting points of the CLI tests. The Kubernetes-import tests': tenant `shop` (default allow) with namespaces `prod`
 * and `dev` as Scopes (labels `env` and `kubernetes.io/metadata.name`) and one endpoint in each:
 * `web-dev` (app=web) and `api-prod` (app=api).
 */
import { after, before } from 'node:test';
import type { TenetClient } from '../../src/client/api-client';
import { startController, type RunningController } from '../helpers/controller';
import type { TenetObject } from '../../src/core/model/object';
import { networkObj, tenantObj, V } from '../api/api-helpers';

export async function createShop(c: TenetClient, cidr: string): Promise<void> {
  await c.create({ ...tenantObj('shop'), spec: { defaultPolicy: 'allow' } });
  await c.create(networkObj('shop', 'net', [cidr]));
  for (const ns of ['prod', 'dev']) {
    await c.create({
      apiVersion: V,
      kind: 'Scope',
      metadata: { name: ns, tenant: 'shop', labels: { env: ns, 'kubernetes.io/metadata.name': ns } },
      spec: {},
    } as TenetObject);
  }
  for (const [name, app, scope] of [
    ['web-dev', 'web', 'dev'],
    ['api-prod', 'api', 'prod'],
  ]) {
    await c.create({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name, tenant: 'shop', labels: { app } },
      spec: { network: 'net', scope },
    } as TenetObject);
  }
}

/** One controller for the whole test file, stopped after it; the getter is valid inside tests. */
export function controllerForFile(): () => RunningController {
  let ctl: RunningController | undefined;
  before(async () => {
    ctl = await startController();
  });
  after(async () => {
    await ctl?.stop();
  });
  return () => ctl!;
}

/** Tenant `shop` (no default policy set) with network `net` on `cidr`. */
export async function createShopNetwork(c: TenetClient, cidr: string): Promise<void> {
  await c.create(tenantObj('shop'));
  await c.create(networkObj('shop', 'net', [cidr]));
}
