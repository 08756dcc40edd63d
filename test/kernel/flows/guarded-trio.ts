/**
 * The flows and trace tests' shared world: a tenant with one network on a 2-host lab, `srv` on h1 with a
 * TCP echo on port 80, `cli` and `bad` on h2, and the Policy `guard` whose rule 0 admits cli on port 80 and
 * rule 1 denies bad — so an allowed and a denied pair cross hosts, each decided by a named rule.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnGroup } from '../../helpers/process-group';
import { tenantObjects, waitUntil, type TestLab } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import type { LabContainer } from '../../../src/lab/state';
import type { TenetObject } from '../../../src/core/model/object';

export async function connects(from: LabContainer, to: LabContainer, port: number): Promise<boolean> {
  const result = await run(
    'ip',
    ['netns', 'exec', from.netns, 'socat', '-T', '0.5', '-', `TCP:${to.addresses[0]}:${port},connect-timeout=0.5`],
    { input: 'ping\n', allowFailure: true, timeoutMs: 5000 },
  );
  return result.stdout.includes('ping');
}

export async function guardedTrio(
  lab: TestLab,
  children: ChildProcess[],
  options: { tenant: string; cidr: string; egress?: boolean },
): Promise<{ h1: string; h2: string; srv: LabContainer; cli: LabContainer; bad: LabContainer }> {
  const { tenant } = options;
  const admin = lab.controller.client;
  const objects = tenantObjects(tenant, [{ name: 'pods', cidrs: [options.cidr] }]) as { spec: Record<string, unknown> }[];
  if (options.egress) objects[0].spec.egress = { mode: 'nat' };
  await admin.apply(objects as unknown as TenetObject[]);
  const [h1, h2] = lab.state.hosts.map((h) => h.name);
  const srv = await lab.run('srv', { host: h1, tenant, network: 'pods', labels: { app: 'srv' } });
  const cli = await lab.run('cli', { host: h2, tenant, network: 'pods', labels: { app: 'cli' } });
  const bad = await lab.run('bad', { host: h2, tenant, network: 'pods', labels: { app: 'bad' } });
  children.push(spawnGroup('ip', ['netns', 'exec', srv.netns, 'socat', 'TCP-LISTEN:80,fork,reuseaddr', 'PIPE'], { stdio: 'ignore' }));
  await waitUntil('the listener', async () => connects(cli, srv, 80), 15000);
  await admin.apply([
    {
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'guard', tenant },
      spec: {
        appliesTo: { selector: { matchLabels: { app: 'srv' } } },
        ingress: [
          { name: 'web from cli', action: 'allow', from: [{ selector: { matchLabels: { app: 'cli' } } }], ports: [{ port: 80 }] },
          { name: 'block bad', action: 'deny', from: [{ selector: { matchLabels: { app: 'bad' } } }] },
        ],
      },
    },
  ] as unknown as TenetObject[]);
  await waitUntil('the policy to be enforced', async () => !(await connects(bad, srv, 80)), 30000);
  return { h1, h2, srv, cli, bad };
}
