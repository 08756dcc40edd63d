/** Small helpers shared by the API tests: sample objects and raw HTTP requests (for malformed input). */
import http from 'node:http';
import type { TenetObject } from '../../src/core/model/object';
import type { TenetClient } from '../../src/client/api-client';
import { ApiError } from '../../src/client/errors';
import { adminTokenFor } from '../helpers/controller';

export const V = 'tenet.dev/v1';

export function tenantObj(name: string, labels?: Record<string, string>): TenetObject {
  return { apiVersion: V, kind: 'Tenant', metadata: { name, ...(labels ? { labels } : {}) }, spec: {} };
}

export function networkObj(tenant: string, name: string, cidrs: string[], extra: Record<string, unknown> = {}): TenetObject {
  return { apiVersion: V, kind: 'Network', metadata: { name, tenant }, spec: { subnets: cidrs.map((cidr) => ({ cidr })), ...extra } };
}

export function endpointObj(tenant: string, network: string, name: string, extra: Record<string, unknown> = {}, labels?: Record<string, string>): TenetObject {
  return { apiVersion: V, kind: 'Endpoint', metadata: { name, tenant, ...(labels ? { labels } : {}) }, spec: { network, ...extra } };
}

export function raw(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; text: string; json: unknown }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const token = adminTokenFor(base);
    const sent: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : headers) };
    const request = http.request(url, { method, headers: sent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, text, json });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
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
