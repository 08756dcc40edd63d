/**
 * The agent's trace channel without a kernel: its long poll ends when the agent stops, a malformed job
 * is reported failed, and a job for a tenant the host has no namespace of fails before anything is
 * spawned or armed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TraceAgent } from '../../../src/agent/trace';
import { TenetClient } from '../../../src/client/api-client';
import type { HostView } from '../../../src/core/dataplane/host-view';

test("stop() ends the poll under way (it would hold the agent's process for seconds)", async (t) => {
  let closed: () => void = () => undefined;
  const requestClosed = new Promise<void>((resolve) => (closed = resolve));
  const server = http.createServer((request) => request.on('close', () => closed())); // never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const agent = new TraceAgent({
    host: 'h1',
    client: new TenetClient({ servers: [`http://127.0.0.1:${port}`], timeoutMs: 60000 }),
    log: () => undefined,
    view: () => undefined,
    program: () => undefined,
    resync: () => undefined,
  });
  agent.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  await agent.stop();
  await requestClosed;
  assert.ok(Date.now() - started < 2000);
});

test('a malformed job is reported failed; a job of a tenant without a namespace here fails before touching the kernel', async () => {
  const sent: { method: string; path: string; body: Record<string, unknown> }[] = [];
  const client = {
    request: async (method: string, path: string, body: unknown) => void sent.push({ method, path, body: body as Record<string, unknown> }),
  } as unknown as TenetClient;
  const agent = new TraceAgent({
    host: 'h1',
    client,
    log: () => undefined,
    view: () => ({ tenants: [] }) as unknown as HostView,
    program: () => undefined,
    resync: () => undefined,
  });
  agent.handle({ type: 'arm', job: { id: '0123456789abcdef', tenant: 'shop; rm -rf /' } as never });
  const job = {
    id: 'fedcba9876543210',
    tenant: 'shop',
    match: { family: 4, protocol: 'udp', saddr: '10.0.0.2', daddr: '10.0.0.3', sport: 20000, dport: 53 },
    timeoutMs: 1000,
    live: false,
    probe: { endpoint: 'web-1' },
  } as const;
  agent.handle({ type: 'arm', job: job as never });
  for (let i = 0; i < 50 && (sent.length < 2 || agent.active() > 0); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(agent.active(), 0);
  assert.deepEqual(
    sent.map((s) => [s.path, s.body.phase]),
    [
      ['/api/v1/hosts/h1/traces/0123456789abcdef', 'failed'],
      ['/api/v1/hosts/h1/traces/fedcba9876543210', 'failed'],
    ],
  );
  assert.match(String(sent[0].body.error), /tenant must be a name/);
  assert.match(String(sent[1].body.error), /tenant shop has no router namespace on host h1/);
});
