/**
 * `tenet trace` where the trace test of two hosts does not go (docs/observability.md): both endpoints on
 * one host, and IPv6 on a dual-stack network, each agreeing with `tenet explain`. Then drift in the
 * middle of a chain, repaired by the agent alone (no trace asks for it): the accepting rule deleted by
 * hand, and replaced by a hand-written rule without the agent's comment. The chain's last rule, and the
 * fingerprint in its comment, stay as they were; the rule count and the comment sequence do not, so
 * the watcher's check (or at the latest the read-back) finds the chain changed and rewrites it. Then
 * trace and explain agree again.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { READBACK_MS } from '../../../src/agent/nft/table';
import type { LabContainer } from '../../../src/lab/state';
import type { TenetObject } from '../../../src/core/model/object';
import type { TraceAnswer } from '../../../src/core/trace/report';
import { runCli } from '../../cli/run-cli';

const TENANT = 'retrace';

const v4 = (c: LabContainer): string => c.addresses.find((a) => !a.includes(':'))!;
const v6 = (c: LabContainer): string => c.addresses.find((a) => a.includes(':'))!;

async function connects(from: LabContainer, address: string, port: number): Promise<boolean> {
  const target = address.includes(':') ? `TCP6:[${address}]:${port}` : `TCP4:${address}:${port}`;
  const result = await run('ip', ['netns', 'exec', from.netns, 'socat', '-T', '0.5', '-', `${target},connect-timeout=0.5`], {
    input: 'ping\n',
    allowFailure: true,
    timeoutMs: 5000,
  });
  return result.stdout.includes('ping');
}

test('trace on one host and over IPv6 agrees with explain; a rule deleted or replaced mid-chain is repaired by the agent alone', async (t) => {
  const lab = await startTestLab(t, 2);
  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  const admin = lab.controller.client;
  await admin.apply(tenantObjects(TENANT, [{ name: 'pods', cidrs: ['10.78.0.0/24', 'fd00:78::/64'] }]) as TenetObject[]);
  const [h1, h2] = lab.state.hosts.map((h) => h.name);
  const router1 = tenantNamespaceName(lab.state.hosts[0].netnsPrefix, TENANT);
  const srv = await lab.run('srv', { host: h1, tenant: TENANT, network: 'pods', labels: { app: 'srv' } });
  const near = await lab.run('near', { host: h1, tenant: TENANT, network: 'pods', labels: { role: 'client' } });
  const far = await lab.run('far', { host: h2, tenant: TENANT, network: 'pods', labels: { role: 'client' } });
  assert.ok(v4(srv) && v6(srv) && v6(far), `dual-stack addresses: ${JSON.stringify([srv.addresses, far.addresses])}`);
  children.push(
    spawnGroup('ip', ['netns', 'exec', srv.netns, 'socat', 'TCP6-LISTEN:80,ipv6only=0,fork,reuseaddr', 'PIPE'], { stdio: 'ignore' }),
  );
  await waitUntil('the listener', async () => (await connects(far, v4(srv), 80)) && connects(far, v6(srv), 80), 20000);
  await admin.apply([
    {
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'guard', tenant: TENANT },
      spec: {
        appliesTo: { selector: { matchLabels: { app: 'srv' } } },
        ingress: [
          { name: 'web from clients', action: 'allow', from: [{ selector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }] },
        ],
      },
    },
  ] as unknown as TenetObject[]);
  // Enforced: isolation now drops what rule 0 does not admit (another port).
  children.push(
    spawnGroup('ip', ['netns', 'exec', srv.netns, 'socat', 'TCP6-LISTEN:81,ipv6only=0,fork,reuseaddr', 'PIPE'], { stdio: 'ignore' }),
  );
  await waitUntil(
    'the policy to be enforced',
    async () => (await connects(far, v4(srv), 80)) && !(await connects(far, v4(srv), 81)),
    30000,
  );

  const trace = async (from: string, to: string, port: string): Promise<{ code: number; stdout: string; answer: TraceAnswer }> => {
    const result = await runCli(lab.controller.url, [
      'trace',
      '--tenant',
      TENANT,
      '--from',
      from,
      '--to',
      to,
      '--port',
      port,
      '-o',
      'json',
    ]);
    assert.ok(result.code === 0 || result.code === 1, `${result.stdout}\n${result.stderr}`);
    return { code: result.code, stdout: result.stdout, answer: JSON.parse(result.stdout) as TraceAnswer };
  };
  const explain = async (from: string, to: string, port: string) => {
    const result = await runCli(lab.controller.url, [
      'explain',
      '--tenant',
      TENANT,
      '--from',
      from,
      '--to',
      to,
      '--port',
      port,
      '-o',
      'json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as { allowed: boolean; ingress: { origin: Record<string, unknown> } };
  };

  // Both endpoints on h1: one host traces the whole path, no VXLAN hop, delivered by rule 0 as explain says.
  const local = await trace(near.endpoint!, srv.endpoint!, 'tcp/80');
  assert.equal(local.code, 0, local.stdout);
  assert.equal(local.answer.verdict, 'delivered', local.stdout);
  assert.equal(local.answer.agreement, 'agree', local.stdout);
  assert.deepEqual([...new Set(local.answer.hosts.map((h) => h.host))], [h1], local.stdout);
  assert.ok(
    local.answer.hosts.every((h) => h.vxlan === undefined),
    local.stdout,
  );
  assert.equal(local.answer.hosts.at(-1)?.delivered?.endpoint, srv.endpoint);
  const localIntent = await explain(near.endpoint!, srv.endpoint!, 'tcp/80');
  assert.equal(localIntent.allowed, true);
  assert.deepEqual(local.answer.ingress?.rule?.origin, localIntent.ingress.origin);
  assert.equal(local.answer.ingress?.rule?.origin?.ruleName, 'web from clients');
  // Denied on one host (another port): dropped on h1 by the rule explain names.
  const localDenied = await trace(near.endpoint!, srv.endpoint!, 'tcp/81');
  const localDeniedIntent = await explain(near.endpoint!, srv.endpoint!, 'tcp/81');
  assert.equal(localDeniedIntent.allowed, false);
  assert.equal(localDenied.answer.verdict, 'dropped', localDenied.stdout);
  assert.equal(localDenied.answer.died?.host, h1);
  assert.equal(localDenied.answer.agreement, 'agree', localDenied.stdout);
  assert.deepEqual(localDenied.answer.died?.rule?.origin, localDeniedIntent.ingress.origin);

  // IPv6 across hosts: the probe leaves far's namespace over IPv6, crosses h2's VXLAN device to h1 and is
  // delivered by the same rule explain names for these addresses.
  const six = await trace(v6(far), v6(srv), 'tcp/80');
  assert.equal(six.code, 0, six.stdout);
  assert.equal(six.answer.from.address, v6(far));
  assert.equal(six.answer.to.address, v6(srv));
  assert.equal(six.answer.verdict, 'delivered', six.stdout);
  assert.equal(six.answer.agreement, 'agree', six.stdout);
  assert.deepEqual(
    six.answer.hosts.map((h) => h.host),
    [h2, h1],
  );
  assert.equal(six.answer.hosts[0].vxlan?.remoteHost, h1, six.stdout);
  assert.equal(six.answer.hosts[1].delivered?.endpoint, srv.endpoint);
  const sixIntent = await explain(v6(far), v6(srv), 'tcp/80');
  assert.equal(sixIntent.allowed, true);
  assert.deepEqual(six.answer.ingress?.rule?.origin, sixIntent.ingress.origin);
  // An ICMPv6 echo: the kernel's verdict is the one explain gives (guard admits tcp/80 only).
  const echo = await trace(far.endpoint!, srv.endpoint!, 'icmpv6');
  const echoIntent = await explain(far.endpoint!, srv.endpoint!, 'icmpv6');
  assert.equal(echo.answer.from.address, v6(far));
  assert.equal(echo.answer.agreement, 'agree', echo.stdout);
  assert.equal(echo.answer.verdict, echoIntent.allowed ? 'delivered' : 'dropped', echo.stdout);

  // Drift mid-chain, repaired without any trace.
  const chainOf = async (): Promise<{ chain: string; rules: { text: string; handle: string }[] }> => {
    const listing = (await run('ip', ['netns', 'exec', router1, 'nft', '-a', 'list', 'table', 'inet', 'tenet'])).stdout;
    for (const block of listing.split(/\n\s*chain /).slice(1)) {
      const name = /^(\S+) \{/.exec(block)![1];
      if (!/ accept comment "tenant:guard:ingress:0[" ]/.test(block)) continue;
      // The first line is the chain's own (`name { # handle N`).
      const rules = block
        .split('\n')
        .slice(1)
        .map((line) => /^\s*(.+) # handle ([0-9]+)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null && !/^(type|policy) /.test(m[1]))
        .map((m) => ({ text: m[1], handle: m[2] }));
      return { chain: name, rules };
    }
    assert.fail(`no chain holds the accepting rule:\n${listing.slice(0, 4000)}`);
  };
  const accepting = (rules: { text: string }[]): number =>
    rules.filter((r) => / accept comment "tenant:guard:ingress:0[" ]/.test(r.text)).length;
  const written = await chainOf();
  const wanted = accepting(written.rules);
  // The bound: the watcher's check follows the edit at once; the read-back comes within READBACK_MS.
  const bound = READBACK_MS + 10000;
  for (const edit of ['delete', 'replace'] as const) {
    const before = await chainOf();
    const victim = before.rules.find(
      (r) => / accept comment "tenant:guard:ingress:0[" ]/.test(r.text) && !/ fp=[0-9a-f]{16}"/.test(r.text),
    );
    assert.ok(victim, `an accepting rule in the middle of ${before.chain}: ${JSON.stringify(before.rules)}`);
    const last = before.rules.at(-1)!;
    if (edit === 'delete')
      await run('ip', ['netns', 'exec', router1, 'nft', 'delete', 'rule', 'inet', 'tenet', before.chain, 'handle', victim.handle]);
    else
      await run('ip', [
        'netns',
        'exec',
        router1,
        'nft',
        'replace',
        'rule',
        'inet',
        'tenet',
        before.chain,
        'handle',
        victim.handle,
        'counter drop',
      ]);
    const started = Date.now();
    await waitUntil(`the agent to repair the ${edit}d rule`, async () => accepting((await chainOf()).rules) === wanted, bound);
    t.diagnostic(`${edit}: repaired after ${Date.now() - started} ms (no trace asked for it)`);
    const after = await chainOf();
    // The hand-written rule (no comment) is gone.
    assert.ok(!after.rules.some((r) => /^counter packets [0-9]+ bytes [0-9]+ drop$/.test(r.text)), JSON.stringify(after.rules));
    assert.equal(after.rules.length, written.rules.length, JSON.stringify(after.rules));
    assert.notEqual(last.handle, after.rules.at(-1)!.handle, 'the chain was written again');
    await waitUntil('far to connect again', async () => connects(far, v4(srv), 80), 10000);
    const agreed = await trace(far.endpoint!, srv.endpoint!, 'tcp/80');
    assert.equal(agreed.code, 0, agreed.stdout);
    assert.equal(agreed.answer.agreement, 'agree', agreed.stdout);
    assert.equal(agreed.answer.verdict, 'delivered', agreed.stdout);
    assert.equal(agreed.answer.resync, undefined, 'nothing for a trace to ask for');
  }
});
