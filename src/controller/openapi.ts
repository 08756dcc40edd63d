/** The OpenAPI document, generated from the same TypeBox schemas that validate requests. */
import { KINDS } from '../core/model/registry';
import { TENET_VERSION } from '../version';
import { APPLY_BODY_LIMIT, BODY_LIMIT } from './json-body';

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
    const listMeta = {
      type: 'object',
      properties: { resourceVersion: { type: 'string' }, continue: { type: 'string' }, remainingItemCount: { type: 'integer' } },
      required: ['resourceVersion'],
    };
    const list = {
      type: 'object',
      properties: { apiVersion: { type: 'string' }, kind: { const: 'List' }, metadata: listMeta, items: { type: 'array', items: ref } },
    };
    const base = info.tenantScoped ? `/api/v1/tenants/{tenant}/${info.plural}` : `/api/v1/${info.plural}`;
    const item = info.kind === 'Tenant' ? `${base}/{tenant}` : `${base}/{name}`;
    const pathParams = [
      ...(info.tenantScoped || info.kind === 'Tenant' ? [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }] : []),
    ];
    const itemParams =
      info.kind === 'Tenant' ? pathParams : [...pathParams, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }];
    const body = { required: true, content: { 'application/json': { schema: ref } } };
    const listQuery = [
      { name: 'labelSelector', in: 'query', schema: { type: 'string' } },
      { name: 'watch', in: 'query', schema: { type: 'string' } },
      {
        name: 'resourceVersion',
        in: 'query',
        description:
          'watch: stream the changes after this revision (at most the current one); list: ignored (a list is always read at the latest revision)',
        schema: { type: 'string' },
      },
      {
        name: 'fieldSelector',
        in: 'query',
        description: 'lists only: metadata.name and metadata.tenant with =, == or != (comma = and); any other field is refused',
        schema: { type: 'string' },
      },
      {
        name: 'limit',
        in: 'query',
        description: 'lists only: at most this many items (0: no limit); metadata.continue then names the next page',
        schema: { type: 'integer', minimum: 0 },
      },
      {
        name: 'continue',
        in: 'query',
        description: 'lists only: the metadata.continue of the previous page (same path and selectors); 410 when it expired',
        schema: { type: 'string' },
      },
    ];
    const listAnswers = {
      200: answer('list, or an NDJSON watch stream with ?watch=1', list),
      400: answer('invalid query, or a resourceVersion newer than the store'),
      410: answer('revision too old, or the continue token expired: list again from the start'),
    };
    if (info.tenantScoped) {
      paths[`/api/v1/${info.plural}`] = {
        get: {
          operationId: `list${info.kind}AllTenants`,
          description: `${info.kind} objects of every tenant (?tenant= narrows to one)`,
          parameters: [{ name: 'tenant', in: 'query', schema: { type: 'string' } }, ...listQuery],
          responses: listAnswers,
        },
      };
    }
    paths[base] = {
      get: {
        operationId: `list${info.kind}`,
        parameters: [
          ...(info.tenantScoped ? [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }] : []),
          ...listQuery,
        ],
        responses: listAnswers,
      },
      post: {
        operationId: `create${info.kind}`,
        parameters: info.tenantScoped ? [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }] : [],
        requestBody: body,
        responses: {
          201: answer('created', ref),
          400: answer('invalid'),
          404: answer('tenant or network missing'),
          409: answer('conflict'),
        },
      },
    };
    paths[item] = {
      get: {
        operationId: `read${info.kind}`,
        parameters: itemParams,
        responses: { 200: answer('the object', ref), 404: answer('not found') },
      },
      put: {
        operationId: `replace${info.kind}`,
        parameters: itemParams,
        requestBody: body,
        responses: { 200: answer('replaced', ref), 400: answer('invalid'), 404: answer('not found'), 409: answer('stale') },
      },
      patch: {
        operationId: `patch${info.kind}`,
        parameters: itemParams,
        requestBody: { required: true, content: { 'application/merge-patch+json': { schema: { type: 'object' } } } },
        responses: { 200: answer('patched', ref), 400: answer('invalid'), 404: answer('not found'), 409: answer('stale') },
      },
      delete: {
        operationId: `delete${info.kind}`,
        parameters: [
          ...itemParams,
          ...(info.kind === 'Tenant' ? [{ name: 'cascade', in: 'query', schema: { type: 'boolean' } }] : []),
          {
            name: 'dryRun',
            in: 'query',
            description: 'All: every check of the deletion, nothing written',
            schema: { type: 'string', enum: ['All'] },
          },
        ],
        responses: { 200: answer('the deleted object', ref), 404: answer('not found'), 409: answer('still in use') },
      },
    };
    paths[`${item}/status`] = {
      put: {
        operationId: `replace${info.kind}Status`,
        parameters: itemParams,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', properties: { status: (schema.properties as Json).status } } } },
        },
        responses: { 200: answer('status replaced', ref), 400: answer('invalid'), 404: answer('not found') },
      },
    };
    if (info.kind === 'Network') {
      paths[`${item}/addresses`] = {
        get: {
          operationId: 'listNetworkAddresses',
          parameters: itemParams,
          responses: {
            200: {
              description: 'every address allocated in the network, whoever holds it',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { kind: { const: 'AddressList' }, addresses: { type: 'array', items: { type: 'string' } } },
                  },
                },
              },
            },
            404: answer('not found'),
          },
        },
      };
    }
  }
  const anyObject = { oneOf: KINDS.map((k) => ({ $ref: `#/components/schemas/${k.kind}` })) };
  const kindsQuery = {
    name: 'kinds',
    in: 'query',
    required: true,
    description: 'comma-separated kinds, e.g. Tenant,Network,Endpoint',
    schema: { type: 'string' },
  };
  const object = { type: 'object' };
  const jsonBody = (schema: Json) => ({ required: true, content: { 'application/json': { schema } } });
  paths['/api/v1/apply'] = {
    post: {
      operationId: 'apply',
      description: `all objects in one transaction; the body may be up to ${APPLY_BODY_LIMIT} bytes (other bodies: ${BODY_LIMIT})`,
      requestBody: jsonBody({
        type: 'object',
        properties: {
          objects: { type: 'array', items: anyObject, minItems: 1, maxItems: 10_000 },
          dryRun: { type: 'boolean' },
          message: { type: 'string' },
        },
        required: ['objects'],
      }),
      responses: {
        200: answer('applied', object),
        400: answer('invalid'),
        404: answer('tenant missing'),
        409: answer('conflict'),
        413: answer('body too large'),
      },
    },
  };
  paths['/api/v1/history'] = { get: { operationId: 'history', responses: { 200: answer('history', object) } } };
  paths['/api/v1/history/{revision}'] = {
    get: {
      operationId: 'historyRevision',
      description: 'one history record with each changed object before and after (admins)',
      parameters: [{ name: 'revision', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      responses: { 200: answer('the record', object), 400: answer('invalid'), 404: answer('no such revision') },
    },
  };
  paths['/api/v1/rollback'] = {
    post: {
      operationId: 'rollback',
      requestBody: jsonBody({ type: 'object', properties: { revision: { type: 'integer', minimum: 0 } }, required: ['revision'] }),
      responses: { 200: answer('rolled back', object), 400: answer('invalid'), 404: answer('no such revision'), 409: answer('conflict') },
    },
  };
  paths['/api/v1/snapshot'] = {
    get: {
      operationId: 'snapshot',
      parameters: [kindsQuery],
      responses: { 200: answer('objects at one revision', object), 400: answer('invalid') },
    },
  };
  paths['/api/v1/watch'] = {
    get: {
      operationId: 'watchKinds',
      parameters: [kindsQuery, { name: 'resourceVersion', in: 'query', schema: { type: 'string' } }],
      responses: { 200: answer('NDJSON stream', object), 400: answer('invalid'), 410: answer('revision too old') },
    },
  };
  paths['/api/v1/openapi.json'] = { get: { operationId: 'openapi', responses: { 200: answer('this document', object) } } };
  paths['/api/v1/whoami'] = {
    get: { operationId: 'whoami', responses: { 200: answer('the caller: tokenId, role, tenant?, host?', object) } },
  };
  paths['/api/v1/tokens'] = {
    get: { operationId: 'listTokens', responses: { 200: answer('tokens (never their secrets)', object) } },
    post: {
      operationId: 'createToken',
      requestBody: jsonBody({
        type: 'object',
        properties: {
          role: { enum: ['admin', 'tenant-admin', 'viewer', 'agent'] },
          tenant: { type: 'string' },
          host: { type: 'string' },
          ttl: { type: 'string' },
          description: { type: 'string', maxLength: 200 },
        },
        required: ['role'],
        additionalProperties: false,
      }),
      responses: { 201: answer('the token, shown only here', object), 400: answer('invalid') },
    },
  };
  paths['/api/v1/tokens/{id}'] = {
    delete: {
      operationId: 'revokeToken',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 200: answer('revoked', object), 404: answer('not found') },
    },
  };
  paths['/api/v1/audit'] = {
    get: {
      operationId: 'audit',
      description: 'event: only entries carrying that named event (floatingip.move) or family (floatingip, floatingippool)',
      parameters: ['tenant', 'since', 'limit', 'event'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
      responses: { 200: answer('audit entries', object), 400: answer('invalid') },
    },
  };
  paths['/api/v1/flows'] = {
    get: {
      operationId: 'flows',
      description:
        'flow and deny records the agents reported (docs/observability.md), oldest first; a tenant-admin or viewer gets its own tenant only',
      parameters: ['tenant', 'from', 'to', 'verdict', 'since', 'after', 'limit'].map((name) => ({
        name,
        in: 'query',
        schema: { type: 'string' },
      })),
      responses: { 200: answer('{items, seq, truncated, dropped?}', object), 400: answer('invalid'), 403: answer('another tenant') },
    },
  };
  paths['/api/v1/hosts/{name}/flows'] = {
    post: {
      operationId: 'reportFlows',
      description: "an agent's new records of its own host: {records, evicted, counters}",
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: jsonBody(object),
      responses: { 200: answer('accepted', object), 400: answer('invalid'), 403: answer('not this host') },
    },
  };
  paths['/version'] = {
    get: {
      operationId: 'version',
      description: 'the controller build and cluster DNS domain: {version, apiVersion, node, clusterDomain}',
      responses: { 200: answer('version', object) },
    },
  };
  const tenantParam = { name: 'tenant', in: 'path', required: true, schema: { type: 'string' } };
  const queryParams = (...names: string[]) => names.map((name) => ({ name, in: 'query', schema: { type: 'string' } }));
  paths['/api/v1/tenants/{tenant}/policymatrix'] = {
    get: {
      operationId: 'policyMatrix',
      description:
        "the tenant's groups (or ?label=KEY values) x themselves per port (?ports=tcp/80,udp/53, default: the ports the policies name), " +
        'each cell allow/deny/mixed with example flows and the deciding rules; ?off=Policy/NAME,... adds a preview without those policies',
      parameters: [tenantParam, ...queryParams('label', 'ports', 'off')],
      responses: { 200: answer('the matrix', object), 400: answer('invalid'), 403: answer('forbidden'), 404: answer('no such tenant') },
    },
  };
  paths['/api/v1/tenants/{tenant}/explain'] = {
    get: {
      operationId: 'explainFlow',
      description:
        'the verdict of one flow (?from=&to= endpoint names or addresses, ?port=tcp/5432) and the rules that decided it, as tenet explain -o json',
      parameters: [tenantParam, ...queryParams('from', 'to', 'port', 'verbose')],
      responses: { 200: answer('the verdict', object), 400: answer('invalid'), 403: answer('forbidden'), 404: answer('no such tenant') },
    },
  };
  paths['/api/v1/tenants/{tenant}/trace'] = {
    post: {
      operationId: 'traceFlow',
      description:
        "follows one real packet with the kernels' tracer (nft trace) on every host it crosses and compares it with explain " +
        '(docs/observability.md): each hop with its rule, DNAT, route and VXLAN hop, where it died, and agreement agree/disagree/inconclusive. ' +
        "Admins and the tenant's tenant-admins; at most 2 traces per tenant and 4 per host at once (429)",
      parameters: [tenantParam],
      requestBody: jsonBody({
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to', 'port'],
        properties: {
          from: { type: 'string', description: 'source endpoint (the probe leaves from its namespace)' },
          to: { type: 'string', description: 'destination endpoint, its address, or service/NAME' },
          port: { type: 'string', description: 'tcp/PORT, udp/PORT, icmp or icmpv6' },
          live: { type: 'boolean', description: 'inject nothing: wait for the next real matching packet' },
          timeout: { type: 'string', description: '500ms to 15s (default 5s)' },
        },
      }),
      responses: {
        200: answer('the trace and the comparison with explain', object),
        400: answer('invalid'),
        403: answer('viewers and agents may not trace'),
        404: answer('no such tenant, endpoint or service in this tenant'),
        429: answer('too many traces under way'),
      },
    },
  };
  paths['/api/v1/hosts/{name}/traces'] = {
    get: {
      operationId: 'traceJobs',
      description: 'the agent of host NAME only: its trace jobs ({messages}); held up to 8 s when there are none (a long poll)',
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 200: answer('{messages}', object), 403: answer('not this host') },
    },
  };
  paths['/api/v1/hosts/{name}/traces/{id}'] = {
    post: {
      operationId: 'reportTrace',
      description: 'the agent of host NAME only: {phase: armed|done|failed, ...its part of the trace} for a job sent to it',
      parameters: ['name', 'id'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      requestBody: jsonBody(object),
      responses: {
        200: answer('accepted', object),
        400: answer('invalid'),
        403: answer('not this host'),
        404: answer('no such job on this host'),
      },
    },
  };
  const page = (description: string) => ({ 200: { description, content: { 'text/html': { schema: { type: 'string' } } } } });
  // The web console (docs/ui.md): static files, no token needed; its views call the API with the user's token.
  paths['/ui'] = { get: { operationId: 'consoleRedirect', security: [], responses: { 302: { description: 'to /ui/' } } } };
  paths['/ui/'] = { get: { operationId: 'console', security: [], responses: { ...page('the web console'), 503: answer('not built') } } };
  paths['/ui/{file}'] = {
    get: {
      operationId: 'consoleFile',
      security: [],
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 200: { description: 'a file of the built console (script, style sheet)' }, 404: answer('no such file') },
    },
  };
  paths['/healthz'] = { get: { operationId: 'health', security: [], responses: { 200: answer('ok', object) } } };
  paths['/readyz'] = {
    get: {
      operationId: 'ready',
      security: [],
      description: 'whether the store answers (etcd reachable): {ready, revision} or 503 {ready: false, reason}',
      responses: { 200: answer('ready', object), 503: answer('the store does not answer', object) },
    },
  };
  paths['/metrics'] = {
    get: {
      operationId: 'metrics',
      responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tenet API',
      version: TENET_VERSION,
      description: 'Every operation takes only the query parameters listed here; any other is answered 400 (reason Invalid).',
    },
    security: [{ bearer: [] }],
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
