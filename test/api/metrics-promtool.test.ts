/**
 * The controller's and the agent's /metrics pass `promtool check metrics` (Debian's prometheus package,
 * installed by `scripts/setup.sh --test`): no gauge named `_total`, valid names, help and types. The
 * controller's answer comes from a real controller holding a tenant and a network (so the labelled
 * gauges have series); the agent's from its registry with every metric set.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startController } from '../helpers/controller';
import { AgentMetrics } from '../../src/agent/metrics';
import { API_VERSION } from '../../src/core/model/common';
import type { TenetObject } from '../../src/core/model/object';

function promtool(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool could not run (bash scripts/setup.sh --test installs it): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('the controller metrics pass promtool check metrics, with process metrics', async (t) => {
  const controller = await startController();
  t.after(() => controller.stop());
  await controller.client.apply([
    { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'prom' }, spec: {} },
    { apiVersion: API_VERSION, kind: 'Network', metadata: { name: 'n', tenant: 'prom' }, spec: { subnets: [{ cidr: '10.5.0.0/24' }] } },
  ] as unknown as TenetObject[]);
  const answer = await fetch(`${controller.url}/metrics`, { headers: { authorization: `Bearer ${controller.adminToken}` } });
  assert.equal(answer.status, 200);
  const body = await answer.text();
  assert.match(body, /tenet_ipam_addresses_capacity\{tenant="prom",network="n",family="ipv4"\} 253/);
  assert.match(body, /^process_cpu_seconds_total /m);
  const checked = promtool(body);
  assert.equal(checked.status, 0, checked.output);
  // promtool does refuse a gauge named like a counter (the check can fail).
  const bad = promtool('# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n');
  assert.notEqual(bad.status, 0);
});

test('the agent metrics pass promtool check metrics', async () => {
  const metrics = new AgentMetrics({
    namespaces: () => [{ tenant: 'a', endpoints: 2, flowReader: true }],
    flows: () => ({ recorded: 5, evicted: 1, lostLog: 0, lostConntrack: 2, ignored: 3, throttled: 6, ring: 4 }),
    ruleCounts: () => [
      { tenant: 'a', rule: 'deny tenant:p:ingress:1', seen: 100, logged: 21, suppressed: 79, recorded: 20, throttled: 1, ignored: 0 },
    ],
    flowExport: () => ({ exported: 7, dropped: 8, queued: 0 }),
    healthy: async () => true,
  });
  metrics.passes.inc({ full: 'true' });
  metrics.passDuration.observe(0.1);
  metrics.passFailures.set(0);
  metrics.attachDuration.observe({ outcome: 'ok' }, 0.02);
  metrics.nftDuration.observe(0.001);
  const { body } = await metrics.text();
  for (const line of [
    'tenet_agent_flow_records_total 5',
    'tenet_agent_flow_records_evicted_total 1',
    'tenet_agent_flow_events_lost_total{source="conntrack"} 2',
    'tenet_agent_flow_events_throttled_total 6',
    'tenet_agent_namespace_endpoints{tenant="a"} 2',
    'tenet_agent_reconcile_passes_total{full="true"} 1',
    'tenet_agent_deny_log_packets_total{tenant="a",rule="deny tenant:p:ingress:1"} 100',
    'tenet_agent_deny_log_suppressed_total{tenant="a",rule="deny tenant:p:ingress:1"} 79',
    'tenet_agent_flow_export_records_total 7',
    'tenet_agent_flow_export_dropped_total 8',
    'tenet_agent_healthy 1',
  ])
    assert.ok(body.includes(`${line}\n`), `${line} in\n${body}`);
  const checked = promtool(body);
  assert.equal(checked.status, 0, checked.output);
});
