/**
 * Real packets in a 2-host `tenet lab`: the x/y/z universe of the conformance cases becomes lab
 * containers (labels, scope and declared ports as in the case, spread over both hosts); for at least
 * ten cases the Kubernetes policies are imported through the API, the agents program their kernels,
 * and real TCP/UDP probes must give exactly the verdicts `tenet k8s verdicts` gives. Then: an
 * established cross-host connection survives a policy that denies new ones, and containers started
 * after a policy exists are covered by it from their first packet.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { startTestLab, waitUntil, type TestLab } from '../../helpers/lab';
import { waitProgrammed } from './programmed';
import { AttachClient } from '../../../src/attach/client';
import { labNetnsPrefix } from '../../../src/lab/state';
import { addNetns } from '../../../src/kernel/ip';
import { restartAgent } from '../../../src/lab/lab';
import { run } from '../../../src/kernel/exec';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { importKubernetes, importNamespace, tenetName } from '../../../src/core/k8s/import';
import { caseVerdicts, type ConformanceCase } from '../../../src/core/k8s/verdicts';
import type { TenetObject } from '../../../src/core/model/object';

const TENANT = 'k8s';
const CASES_DIR = path.join(__dirname, '..', '..', '..', '..', 'test', 'conformance', 'cases');
const CASES = [
  'sample-01-ingress-from-one-pod',
  'sample-02-egress-lockdown',
  'sample-03-admin-tiers',
  'e2e-default-deny-all',
  'e2e-podselector-or-namespaceselector',
  'e2e-ports',
  'e2e-egress-one-named-port',
  'e2e-egress-cidr-except',
  'e2e-ingress-any-port-on-protocol',
  'e2e-egress-denied-on-client-even-if-server-allows',
  'cyclonus-union-of-ingress-rules',
  'cyclonus-named-port-egress-to-namespace',
];

interface Pod {
  key: string;
  netns: string;
  ip: string;
  host: string;
}

function loadCase(name: string): ConformanceCase {
  return JSON.parse(fs.readFileSync(path.join(CASES_DIR, `${name}.json`), 'utf8')) as ConformanceCase;
}

async function attachPod(
  lab: TestLab,
  pod: ConformanceCase['universe']['pods'][number],
  host: string,
  ip: string,
  extraLabels: Record<string, string> = {},
): Promise<Pod> {
  const name = tenetName(pod.namespace, pod.name);
  const netns = `${labNetnsPrefix(lab.state.name)}c-${name}`;
  await addNetns(netns);
  const socket = lab.state.hosts.find((h) => h.name === host)!.socket;
  const client = new AttachClient(socket);
  try {
    await client.attach({
      containerId: `${lab.state.name}-${name}`,
      netns: `/run/netns/${netns}`,
      ifName: 'eth0',
      tenant: TENANT,
      network: 'pods',
      labels: { ...pod.labels, ...extraLabels },
      scope: tenetName(pod.namespace),
      ports: (pod.containerPorts ?? []).map((p) => ({
        name: p.name,
        port: p.port,
        protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP',
      })),
      ips: [ip],
    });
  } finally {
    client.close();
  }
  return { key: `${pod.namespace}/${pod.name}`, netns, ip, host };
}

function listen(children: ChildProcess[], pod: Pod): void {
  for (const [proto, port] of [
    ['TCP', 80],
    ['TCP', 81],
    ['UDP', 80],
    ['UDP', 81],
  ] as const) {
    const address = proto === 'TCP' ? `TCP-LISTEN:${port},fork,reuseaddr` : `UDP-RECVFROM:${port},fork,reuseaddr`;
    children.push(spawnGroup('ip', ['netns', 'exec', pod.netns, 'socat', address, 'PIPE'], { stdio: 'ignore' }));
  }
}

async function probe(from: Pod, to: Pod, protocol: string, port: number): Promise<boolean> {
  const address = protocol === 'TCP' ? `TCP:${to.ip}:${port},connect-timeout=0.5` : `UDP:${to.ip}:${port}`;
  const result = await run('ip', ['netns', 'exec', from.netns, 'socat', '-T', '0.5', '-', address], {
    input: `hello-${from.key}\n`,
    allowFailure: true,
    timeoutMs: 5000,
  });
  return result.stdout.includes(`hello-${from.key}`);
}

async function pool<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await task(items[i]);
      }
    }),
  );
  return out;
}

test('real packets in a 2-host lab match tenet k8s verdicts; established flows survive; new containers are covered', async (t) => {
  const lab = await startTestLab(t, 2);
  const children: ChildProcess[] = [];
  t.after(() => {
    killGroups(children);
  });
  const client = lab.controller.client;
  const universe = loadCase(CASES[0]).universe;
  await client.apply([
    { apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: TENANT }, spec: { defaultPolicy: 'allow' } },
    {
      apiVersion: 'tenet.dev/v1',
      kind: 'Network',
      metadata: { name: 'pods', tenant: TENANT },
      spec: { subnets: [{ cidr: '192.168.0.0/16' }] },
    },
    ...universe.namespaces.map((ns) => importNamespace(ns.name, ns.labels, TENANT)),
  ]);
  const pods: Pod[] = [];
  for (const [i, pod] of universe.pods.entries()) pods.push(await attachPod(lab, pod, lab.state.hosts[i % 2].name, pod.ip!));
  for (const pod of pods) listen(children, pod);
  const byKey = new Map(pods.map((p) => [p.key, p]));
  await waitUntil('listeners', async () => (await run('ip', ['netns', 'exec', pods[8].netns, 'ss', '-ltn'])).stdout.includes(':81 '));

  let previous: TenetObject[] = [];
  let probed = 0;
  for (const name of CASES) {
    const testCase = loadCase(name);
    assert.deepEqual(
      testCase.universe.pods.map((p) => `${p.namespace}/${p.name}=${p.ip}`),
      universe.pods.map((p) => `${p.namespace}/${p.name}=${p.ip}`),
    );
    const imported = importKubernetes(testCase.policies, TENANT);
    assert.deepEqual(imported.problems, []);
    const next = [...imported.policies, ...imported.globalPolicies] as unknown as TenetObject[];
    for (const old of previous) {
      if (!next.some((n) => n.kind === old.kind && n.metadata.name === old.metadata.name))
        await client.delete(old.kind, old.metadata.name, old.metadata.tenant);
    }
    if (next.length > 0) await client.apply(next);
    previous = next;
    await waitProgrammed(lab, TENANT);

    const { verdicts } = caseVerdicts(testCase);
    // Every denied probe and as many allowed ones, at most 48 per case (each denied probe waits out a timeout).
    const denied = verdicts.filter((v) => !v.allowed);
    const allowed = verdicts.filter((v) => v.allowed);
    const sample = [
      ...denied.filter((_, i) => i % Math.ceil(denied.length / 24) === 0),
      ...allowed.filter((_, i) => i % Math.ceil(allowed.length / 24) === 0),
    ];
    const real = await pool(sample, 12, (v) => probe(byKey.get(v.from)!, byKey.get(v.to)!, v.protocol, v.port));
    const wrong = sample
      .filter((v, i) => real[i] !== v.allowed)
      .map((v) => `${v.from} -> ${v.to} ${v.protocol}/${v.port}: verdict ${v.allowed}, packets ${!v.allowed}`);
    assert.deepEqual(wrong, [], `case ${name}`);
    assert.ok(sample.some((v) => v.allowed) && (denied.length === 0 || sample.some((v) => !v.allowed)));
    probed += sample.length;
  }
  assert.ok(probed >= 300, `${probed} probes`);

  // Clean slate but for a policy that lets everything into y (so its namespaces filter and track
  // connections: one that restricts nothing would not, docs/policy.md), then an established
  // cross-host connection, and a policy that denies new ones in place of the open one.
  for (const old of previous) await client.delete(old.kind, old.metadata.name, old.metadata.tenant);
  const openY = importKubernetes(
    [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'open-in', namespace: 'y' },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] },
      },
    ],
    TENANT,
  );
  await client.apply(openY.policies);
  await waitProgrammed(lab, TENANT);
  const from = byKey.get('x/a')!;
  const to = byKey.get('y/a')!;
  assert.notEqual(from.host, to.host);
  const conn = spawnGroup('ip', ['netns', 'exec', from.netns, 'socat', '-', `TCP:${to.ip}:80`], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(conn);
  let echoed = '';
  conn.stdout!.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
  const send = async (line: string) => {
    conn.stdin!.write(`${line}\n`);
    await waitUntil(`echo of ${line}`, () => echoed.includes(line), 5000).catch(() => undefined);
    return echoed.includes(line);
  };
  assert.equal(await send('before-policy'), true);
  const denyY = importKubernetes(
    [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny-in', namespace: 'y' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
    ],
    TENANT,
  );
  await client.apply(denyY.policies);
  for (const open of openY.policies) await client.delete(open.kind, open.metadata.name, open.metadata.tenant);
  await waitProgrammed(lab, TENANT);
  assert.equal(await probe(from, to, 'TCP', 80), false, 'new connections into y are denied');
  assert.equal(await send('after-policy'), true, 'the established connection still works');
  conn.kill('SIGTERM');

  // Containers started after the policy exists: a new pod in y is isolated from its first packet, and
  // a new pod in x with egress isolated by a policy cannot send its first packet anywhere but allowed.
  const egressX = importKubernetes(
    [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'x-egress', namespace: 'x' },
        spec: {
          podSelector: { matchLabels: { pod: 'd' } },
          policyTypes: ['Egress'],
          egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }] }],
        },
      },
    ],
    TENANT,
  );
  await client.apply(egressX.policies);
  await waitProgrammed(lab, TENANT);
  const template = universe.pods[0];
  const yd = await attachPod(lab, { ...template, namespace: 'y', name: 'd', labels: { pod: 'd' } }, lab.state.hosts[0].name, '192.168.2.4');
  listen(children, yd);
  const xd = await attachPod(lab, { ...template, namespace: 'x', name: 'd', labels: { pod: 'd' } }, lab.state.hosts[1].name, '192.168.1.4');
  // First packets, right after the attach answered: x/d may reach z (allowed egress) but not x/b.
  assert.equal(await probe(xd, byKey.get('z/b')!, 'TCP', 80), true, 'x/d -> z/b (same host) allowed by its egress policy');
  assert.equal(await probe(xd, byKey.get('x/b')!, 'TCP', 80), false, 'x/d -> x/b denied from the first packet');
  const zc = byKey.get('z/c')!;
  await waitUntil('y/d listening', async () => (await run('ip', ['netns', 'exec', yd.netns, 'ss', '-ltn'])).stdout.includes(':80 '));
  assert.equal(await probe(zc, yd, 'TCP', 80), false, 'y/d is isolated by the namespace policy from its first packet');

  // An agent killed and restarted reads its kernel back and rewrites nothing: every rule keeps its handle.
  const host = lab.state.hosts[0];
  const routerNs = tenantNamespaceName(host.netnsPrefix, TENANT);
  const handles = async () => {
    const { stdout } = await run('ip', ['netns', 'exec', routerNs, 'nft', '-j', '-a', 'list', 'table', 'inet', 'tenet']);
    const items = (JSON.parse(stdout) as { nftables: Array<{ rule?: { chain: string; handle: number } }> }).nftables;
    return items
      .filter((i) => i.rule)
      .map((i) => `${i.rule!.chain}#${i.rule!.handle}`)
      .sort();
  };
  const beforeRestart = await handles();
  await restartAgent(lab.state, host.name, 'SIGKILL');
  // Attaching runs the enforcer on this host (read-back first, then only element updates).
  const ze = await attachPod(lab, { ...template, namespace: 'z', name: 'e', labels: { pod: 'e' } }, host.name, '192.168.3.5');
  assert.deepEqual(await handles(), beforeRestart, 'no chain was rewritten after the restart');
  assert.equal(await probe(ze, zc, 'TCP', 80), true, 'z/e reaches z/c from its first packet');
  assert.equal(await probe(ze, yd, 'TCP', 80), false, 'policies still hold after the restart');
});
