/**
 * The Kubernetes-import CLI tests' starting point: tenant `shop` (default allow) with namespaces `prod`
 * and `dev` as Scopes (labels `env` and `kubernetes.io/metadata.name`) and one endpoint in each:
 * `web-dev` (app=web) and `api-prod` (app=api).
 */
import type { TenetClient } from '../../src/client/api-client';
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
