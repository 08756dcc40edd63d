/** The OpenAPI document, generated from the same TypeBox schemas that validate requests. */
import { KINDS } from '../core/model/registry';
import { TENET_VERSION } from '../version';

type Json = Record<string, unknown>;

const errorRef = { $ref: '#/components/schemas/Error' };

function answer(description: string, schema?: Json): Json {
  return { description, content: { 'application/json': { schema: schema ?? errorRef } } };
}

export function buildOpenApi(): Json {
  const schemas: Json = {
    Error: {
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: {
            code: { type: 'integer' },
            reason: { type: 'string' },
            message: { type: 'string' },
            details: { type: 'array', items: { type: 'string' } },
          },
          required: ['code', 'reason', 'message'],
        },
      },
    },
  };
  const paths: Json = {};
  for (const info of KINDS) {
    // TypeBox schemas are JSON Schema; a JSON round trip drops its internal symbols.
    const schema = JSON.parse(JSON.stringify(info.schema)) as Json;
    delete schema.$id;
    schemas[info.kind] = schema;
    const ref = { $ref: `#/components/schemas/${info.kind}` };
    const list = { type: 'object', properties: { apiVersion: { type: 'string' }, kind: { const: 'List' }, metadata: { type: 'object' }, items: { type: 'array', items: ref } } };
    const base = info.tenantScoped ? `/api/v1/tenants/{tenant}/${info.plural}` : `/api/v1/${info.plural}`;
    const item = info.kind === 'Tenant' ? `${base}/{tenant}` : `${base}/{name}`;
    const pathParams = [
      ...(info.tenantScoped || info.kind === 'Tenant' ? [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }] : []),
    ];
    const itemParams = info.kind === 'Tenant' ? pathParams : [...pathParams, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }];
    const body = { required: true, content: { 'application/json': { schema: ref } } };
    paths[base] = {
      get: {
        operationId: `list${info.kind}`,
        parameters: [
          ...(info.tenantScoped ? [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }] : []),
          { name: 'labelSelector', in: 'query', schema: { type: 'string' } },
          { name: 'watch', in: 'query', schema: { type: 'string' } },
          { name: 'resourceVersion', in: 'query', schema: { type: 'string' } },
        ],
        responses: { 200: answer('list, or an NDJSON watch stream with ?watch=1', list), 400: answer('invalid'), 410: answer('revision too old') },
      },
      post: {
        operationId: `create${info.kind}`,
        parameters: info.tenantScoped ? [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }] : [],
        requestBody: body,
        responses: { 201: answer('created', ref), 400: answer('invalid'), 404: answer('tenant or network missing'), 409: answer('conflict') },
      },
    };
    paths[item] = {
      get: { operationId: `read${info.kind}`, parameters: itemParams, responses: { 200: answer('the object', ref), 404: answer('not found') } },
      put: { operationId: `replace${info.kind}`, parameters: itemParams, requestBody: body, responses: { 200: answer('replaced', ref), 400: answer('invalid'), 404: answer('not found'), 409: answer('stale') } },
      patch: {
        operationId: `patch${info.kind}`,
        parameters: itemParams,
        requestBody: { required: true, content: { 'application/merge-patch+json': { schema: { type: 'object' } } } },
        responses: { 200: answer('patched', ref), 400: answer('invalid'), 404: answer('not found'), 409: answer('stale') },
      },
      delete: {
        operationId: `delete${info.kind}`,
        parameters: [...itemParams, ...(info.kind === 'Tenant' ? [{ name: 'cascade', in: 'query', schema: { type: 'boolean' } }] : [])],
        responses: { 200: answer('the deleted object', ref), 404: answer('not found'), 409: answer('still in use') },
      },
    };
    paths[`${item}/status`] = {
      put: {
        operationId: `replace${info.kind}Status`,
        parameters: itemParams,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { status: (schema.properties as Json).status } } } } },
        responses: { 200: answer('status replaced', ref), 400: answer('invalid'), 404: answer('not found') },
      },
    };
  }
  paths['/api/v1/apply'] = { post: { operationId: 'apply', responses: { 200: answer('applied', { type: 'object' }), 400: answer('invalid') } } };
  paths['/api/v1/history'] = { get: { operationId: 'history', responses: { 200: answer('history', { type: 'object' }) } } };
  paths['/api/v1/rollback'] = { post: { operationId: 'rollback', responses: { 200: answer('rolled back', { type: 'object' }), 404: answer('no such revision') } } };
  paths['/api/v1/snapshot'] = { get: { operationId: 'snapshot', responses: { 200: answer('objects at one revision', { type: 'object' }) } } };
  paths['/api/v1/watch'] = { get: { operationId: 'watchKinds', responses: { 200: answer('NDJSON stream', { type: 'object' }), 410: answer('revision too old') } } };
  paths['/healthz'] = { get: { operationId: 'health', responses: { 200: answer('ok', { type: 'object' }) } } };
  return { openapi: '3.1.0', info: { title: 'Tenet API', version: TENET_VERSION }, paths, components: { schemas } };
}
