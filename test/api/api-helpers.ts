/** Small helpers shared by the API tests: sample objects and raw HTTP requests (for malformed input). */
import type { TenetObject } from '../../src/core/model/object';
import type { TenetClient } from '../../src/client/api-client';
import { ApiError } from '../../src/client/errors';
import { adminTokenFor } from '../helpers/controller';
import { send, type Answer } from '../helpers/http';

export const V = 'tenet.dev/v1';

export function tenantObj(name: string, labels?: Record<string, string>): TenetObject {
  return { apiVersion: V, kind: 'Tenant', metadata: { name, ...(labels ? { labels } : {}) }, spec: {} };
}

export function networkObj(tenant: string, name: string, cidrs: string[], extra: Record<string, unknown> = {}): TenetObject {
  return { apiVersion: V, kind: 'Network', metadata: { name, tenant }, spec: { subnets: cidrs.map((cidr) => ({ cidr })), ...extra } };
}

export function endpointObj(
  tenant: string,
  network: string,
  name: string,
  extra: Record<string, unknown> = {},
  labels?: Record<string, string>,
): TenetObject {
  return { apiVersion: V, kind: 'Endpoint', metadata: { name, tenant, ...(labels ? { labels } : {}) }, spec: { network, ...extra } };
}

/** One request with the controller's admin token; body and headers as given (headers only sent with a body). */
export function raw(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Answer> {
  return send(base, method, path, { token: adminTokenFor(base), rawBody: body, headers: body === undefined ? {} : headers, fresh: true });
}

/** Asserts that a promise rejects with an ApiError of this status; returns the error. */
export async function expectStatus(promise: Promise<unknown>, status: number): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError && error.status === status) return error;
    throw new Error(`expected HTTP ${status}, got ${error instanceof ApiError ? `${error.status} ${error.describe()}` : String(error)}`);
  }
  throw new Error(`expected HTTP ${status}, but the request succeeded`);
}

/** The store revision as the API reports it (list resourceVersion). */
export async function storeRevision(client: TenetClient): Promise<number> {
  return (await client.list('Tenant')).resourceVersion;
}
