/**
 * ClusterNetworkPolicy with real packets in a 2-host `tenet lab`: pods of four namespaces, a
 * NetworkPolicy letting slytherin and hufflepuff into gryffindor, and ClusterNetworkPolicies imported
 * through `tenet k8s import`:
 *  - an Admin-tier Deny (slytherin -> gryffindor) overrides the NetworkPolicy's allow;
 *  - an Admin-tier Pass (hufflepuff -> gryffindor) hands over to the NetworkPolicy, past a
 *    lower-precedence Admin Deny of the same traffic;
 *  - a Baseline-tier Deny (slytherin -> ravenclaw, which no NetworkPolicy selects) holds.
 * Each is confirmed by TCP probes between the pods and by `tenet explain` naming the deciding rule.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { startTestLab, waitUntil, type TestLab } from '../../helpers/lab';
import { waitProgrammed } from './programmed';
import { runCli } from '../../cli/run-cli';
import { AttachClient } from '../../../src/attach/client';
import { labNetnsPrefix } from '../../../src/lab/state';
import { addNetns } from '../../../src/kernel/ip';
import { run } from '../../../src/kernel/exec';
import { importNamespace, tenetName } from '../../../src/core/k8s/import';

const TENANT = 'k8s';
const HOUSES = ['gryffindor', 'slytherin', 'hufflepuff', 'ravenclaw'];

interface Pod {
  house: string;
  name: string;
  netns: string;
  ip: string;
}

async function attachPod(lab: TestLab, house: string, host: string, ip: string): Promise<Pod> {
  const name = tenetName(house, `${house}-0`);
  const netns = `${labNetnsPrefix(lab.state.name)}c-${name}`;
  await addNetns(netns);
  const client = new AttachClient(lab.state.hosts.find((h) => h.name === host)!.socket);
  try {
    await client.attach({
      containerId: `${lab.state.name}-${name}`,
      netns: `/run/netns/${netns}`,
      ifName: 'eth0',
      tenant: TENANT,
      network: 'pods',
      labels: { 'conformance-house': house },
      scope: tenetName(house),
      ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
      ips: [ip],
    });
  } finally {
    client.close();
  }
  return { house, name, netns, ip };
}

async function probe(from: Pod, to: Pod): Promise<boolean> {
  const result = await run('ip', ['netns', 'exec', from.netns, 'socat', '-T', '0.5', '-', `TCP:${to.ip}:80,connect-timeout=0.5`], {
    input: `hello-${from.name}\n`,
    allowFailure: true,
    timeoutMs: 5000,
  });
  return result.stdout.includes(`hello-${from.name}`);
}

const house = (name: string) => ({ matchLabels: { 'conformance-house': name } });
const cnp = (name: string, tier: string, priority: number, subject: string, rules: Array<[string, string]>) => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  kind: 'ClusterNetworkPolicy',
  metadata: { name },
  spec: {
    tier,
    priority,
    subject: { namespaces: house(subject) },
    ingress: rules.map(([action, from]) => ({ name: `${action.toLowerCase()}-from-${from}`, action, from: [{ namespaces: house(from) }] })),
  },
});

test('Admin Deny overrides a NetworkPolicy allow, Admin Pass hands over to it, Baseline Deny holds: probes and explain agree', async (t) => {
  const lab = await startTestLab(t, 2);
  const children: ChildProcess[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-lab-cnp-'));
  t.after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const client = lab.controller.client;
  await client.apply([
    { apiVersion: 'tenet.dev/v1', kind: 'Tenant', metadata: { name: TENANT }, spec: { defaultPolicy: 'allow' } },
    {
      apiVersion: 'tenet.dev/v1',
      kind: 'Network',
      metadata: { name: 'pods', tenant: TENANT },
      spec: { subnets: [{ cidr: '10.70.0.0/16' }] },
    },
    ...HOUSES.map((h) => importNamespace(h, { 'conformance-house': h }, TENANT)),
  ]);
  // gryffindor and ravenclaw on one host, slytherin and hufflepuff on the other: every judged flow crosses hosts.
  const [h0, h1] = lab.state.hosts.map((h) => h.name);
  const pods = new Map<string, Pod>();
  for (const [i, name] of HOUSES.entries()) pods.set(name, await attachPod(lab, name, i === 0 || i === 3 ? h0 : h1, `10.70.${i + 1}.10`));
  for (const pod of pods.values())
    children.push(spawn('ip', ['netns', 'exec', pod.netns, 'socat', 'TCP-LISTEN:80,fork,reuseaddr', 'PIPE'], { stdio: 'ignore' }));
  await waitUntil('listeners', async () => {
    for (const pod of pods.values())
      if (!(await run('ip', ['netns', 'exec', pod.netns, 'ss', '-ltn'])).stdout.includes(':80 ')) return false;
    return true;
  });
  const [g, s, h, r] = HOUSES.map((name) => pods.get(name)!);
  // Before any policy everything is open.
  for (const [from, to] of [
    [s, g],
    [h, g],
    [r, g],
    [s, r],
  ] as const)
    assert.equal(await probe(from, to), true, `${from.house} -> ${to.house} before policies`);

  const objects = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-houses', namespace: 'gryffindor' },
      spec: {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchExpressions: [{ key: 'conformance-house', operator: 'In', values: ['slytherin', 'hufflepuff'] }],
                },
              },
            ],
          },
        ],
      },
    },
    cnp('deny-slytherin', 'Admin', 10, 'gryffindor', [['Deny', 'slytherin']]),
    cnp('pass-hufflepuff', 'Admin', 20, 'gryffindor', [['Pass', 'hufflepuff']]),
    cnp('deny-hufflepuff', 'Admin', 30, 'gryffindor', [['Deny', 'hufflepuff']]),
    cnp('baseline-deny', 'Baseline', 10, 'ravenclaw', [['Deny', 'slytherin']]),
  ];
  const file = path.join(dir, 'policies.json');
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const imported = await runCli(lab.controller.url, ['k8s', 'import', '-f', file, '--tenant', TENANT]);
  assert.equal(imported.code, 0, imported.stderr);
  await waitProgrammed(lab, TENANT);

  const explain = async (from: Pod, to: Pod) => {
    const out = await runCli(lab.controller.url, ['explain', '--tenant', TENANT, '--from', from.ip, '--to', to.ip, '--port', 'tcp/80']);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout;
  };

  // Admin Deny beats the NetworkPolicy that allows slytherin.
  assert.equal(await probe(s, g), false, 'slytherin -> gryffindor: denied by the admin tier');
  assert.match(
    await explain(s, g),
    /DENIED[\s\S]*ingress: deny by admin tier, GlobalPolicy k8s-cnp-deny-slytherin, ingress rule 0 "deny-from-slytherin"/,
  );

  // Admin Pass skips the admin Deny at priority 30; the NetworkPolicy allows hufflepuff.
  assert.equal(await probe(h, g), true, 'hufflepuff -> gryffindor: passed to the NetworkPolicy, which allows it');
  const passed = await explain(h, g);
  assert.match(passed, /ALLOWED[\s\S]*ingress: allow by tenant tier, Policy k8s\/np-gryffindor-allow-houses/);
  assert.doesNotMatch(passed, /deny-hufflepuff/);

  // The NetworkPolicy isolates gryffindor: ravenclaw, which it does not allow, is denied by it.
  assert.equal(await probe(r, g), false, 'ravenclaw -> gryffindor: not allowed by the NetworkPolicy');
  assert.match(await explain(r, g), /DENIED[\s\S]*tenant tier isolation/);

  // Baseline Deny for a namespace no NetworkPolicy selects.
  assert.equal(await probe(s, r), false, 'slytherin -> ravenclaw: denied by the baseline tier');
  assert.match(
    await explain(s, r),
    /DENIED[\s\S]*ingress: deny by baseline tier, GlobalPolicy k8s-cnp-baseline-deny, ingress rule 0 "deny-from-slytherin"/,
  );
  assert.equal(await probe(h, r), true, 'hufflepuff -> ravenclaw: no rule, the default allows');
  assert.match(await explain(h, r), /ALLOWED/);

  // Without the Pass, the admin Deny at priority 30 decides hufflepuff -> gryffindor instead.
  await client.delete('GlobalPolicy', 'k8s-cnp-pass-hufflepuff');
  await waitProgrammed(lab, TENANT);
  assert.equal(await probe(h, g), false, 'hufflepuff -> gryffindor: denied by the admin Deny once nothing passes it');
  assert.match(await explain(h, g), /DENIED[\s\S]*GlobalPolicy k8s-cnp-deny-hufflepuff/);
});
