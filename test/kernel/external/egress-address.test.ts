/**
 * Egress addresses with real packets (docs/external.md, "Egress address"): two tenants with identical
 * addresses, each with its own egress address held by a different host, egress from containers on
 * both hosts; the outside server sees each tenant's own egress address whichever host the container
 * is on, never the other's nor a host's; the upstream router (read from its BIRD) learns each address
 * from its holder. Moving blue's address to the other host moves the route, and new connections from
 * both hosts still leave with blue's address.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startTestLab, tenantObjects, waitUntil } from '../../helpers/lab';
import { killGroups, spawnGroup } from '../../helpers/process-group';
import { run } from '../../../src/kernel/exec';
import { API_VERSION } from '../../../src/core/model/common';
import { outsideRoutes } from '../../../src/lab/outside';
import type { TenetObject } from '../../../src/core/model/object';

const PORT = 8080;
const BLUE_EGRESS = '198.18.200.10';
const GREEN_EGRESS = '198.18.200.20';

function tenantWith(name: string, egress: Record<string, unknown>): TenetObject[] {
  const objects = tenantObjects(name, [{ name: 'front', cidrs: ['10.30.1.0/24'] }]) as TenetObject[];
  (objects[0].spec as Record<string, unknown>).egress = egress;
  return objects;
}

test('egress address: each tenant leaves by its own address from every host, held by one host, moved with new connections working', async (t) => {
  const lab = await startTestLab(t, 2);
  const outside = lab.state.outside!;
  const [h1, h2] = lab.state.hosts;
  const client = lab.controller.client;
  await client.apply([
    { apiVersion: API_VERSION, kind: 'FloatingIPPool', metadata: { name: 'egress' }, spec: { cidrs: ['198.18.200.0/24'] } } as TenetObject,
  ]);
  await client.apply([
    ...tenantWith('blue', { mode: 'nat', address: BLUE_EGRESS, host: 'h2' }),
    ...tenantWith('green', { mode: 'nat', address: GREEN_EGRESS, host: 'h1' }),
    // red egresses without an address of its own: the host's underlay address, as before.
    ...tenantWith('red', { mode: 'nat' }),
  ]);
  const b1 = await lab.run('b1', { host: 'h1', tenant: 'blue', network: 'front', ips: ['10.30.1.10'] });
  const b2 = await lab.run('b2', { host: 'h2', tenant: 'blue', network: 'front', ips: ['10.30.1.11'] });
  const g1 = await lab.run('g1', { host: 'h1', tenant: 'green', network: 'front', ips: ['10.30.1.10'] });
  const g2 = await lab.run('g2', { host: 'h2', tenant: 'green', network: 'front', ips: ['10.30.1.11'] });
  const r1 = await lab.run('r1', { host: 'h1', tenant: 'red', network: 'front', ips: ['10.30.1.10'] });

  const children: ChildProcess[] = [];
  t.after(() => killGroups(children));
  children.push(
    spawnGroup(
      'ip',
      [
        'netns',
        'exec',
        outside.netns,
        'socat',
        `TCP-LISTEN:${PORT},bind=${outside.internetIP},fork,reuseaddr`,
        'SYSTEM:read line; echo "$line $SOCAT_PEERADDR"',
      ],
      { stdio: 'ignore' },
    ),
  );
  await waitUntil('the outside server', async () =>
    (await run('ip', ['netns', 'exec', outside.netns, 'ss', '-Htln'])).stdout.includes(`${outside.internetIP}:${PORT}`),
  );
  /** What the server answered to `line` from `netns` ("line peer"; undefined: no answer within 2 s). */
  const fetch = async (netns: string, line: string, socket: string[] = []): Promise<string | undefined> => {
    const r = await run(
      'ip',
      ['netns', 'exec', netns, 'socat', '-T2', '-', [`TCP:${outside.internetIP}:${PORT}`, 'connect-timeout=2', ...socket].join(',')],
      {
        input: `${line}\n`,
        allowFailure: true,
        timeoutMs: 5000,
      },
    );
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  };
  const nextHop = async (address: string): Promise<string | undefined> =>
    /via ([0-9.]+)/.exec(await outsideRoutes(outside, `${address}/32`))?.[1];

  await waitUntil("the upstream learns blue's egress address from h2", async () => (await nextHop(BLUE_EGRESS)) === h2.underlayIP, 30000);
  await waitUntil("the upstream learns green's egress address from h1", async () => (await nextHop(GREEN_EGRESS)) === h1.underlayIP, 30000);
  for (const [c, expected] of [
    [b1, BLUE_EGRESS],
    [b2, BLUE_EGRESS],
    [g1, GREEN_EGRESS],
    [g2, GREEN_EGRESS],
    [r1, h1.underlayIP],
  ] as const) {
    await waitUntil(`${c.name} egresses`, async () => (await fetch(c.netns, c.name)) !== undefined, 20000);
    assert.equal(await fetch(c.netns, c.name), `${c.name} ${expected}`, `${c.name} left by the wrong address`);
  }

  // Same container address, same source port, same moment, from one host, both tenants (one through a
  // tunnel to h2, one translated on h1): each reply comes back to its sender with its tenant's address.
  for (let round = 0; round < 5; round++) {
    const port = [`sourceport=${42000 + round}`, 'reuseaddr'];
    const [blue, green] = await Promise.all([fetch(b1.netns, `blue-${round}`, port), fetch(g1.netns, `green-${round}`, port)]);
    assert.equal(blue, `blue-${round} ${BLUE_EGRESS}`);
    assert.equal(green, `green-${round} ${GREEN_EGRESS}`);
  }
  const burst = await Promise.all(
    [b1, b2, g1, g2].flatMap((c) =>
      Array.from({ length: 5 }, (_, i) => fetch(c.netns, `${c.name}-${i}`).then((a) => [c.name, i, a] as const)),
    ),
  );
  for (const [name, i, answer] of burst) assert.equal(answer, `${name}-${i} ${name.startsWith('b') ? BLUE_EGRESS : GREEN_EGRESS}`);

  // The operator moves blue's address to h1: the route follows, and new connections from both hosts keep leaving by it.
  await client.apply(tenantWith('blue', { mode: 'nat', address: BLUE_EGRESS, host: 'h1' }));
  await waitUntil("the upstream moves blue's egress address to h1", async () => (await nextHop(BLUE_EGRESS)) === h1.underlayIP, 30000);
  for (const c of [b1, b2]) {
    await waitUntil(`${c.name} egresses after the move`, async () => (await fetch(c.netns, c.name)) === `${c.name} ${BLUE_EGRESS}`, 20000);
  }
  assert.equal(await fetch(g2.netns, 'g2'), `g2 ${GREEN_EGRESS}`, 'green is unaffected');
  assert.equal(await fetch(r1.netns, 'r1'), `r1 ${h1.underlayIP}`, 'red is unaffected');

  // Without an address of its own the tenant leaves by the host's address again.
  await client.apply(tenantWith('blue', { mode: 'nat' }));
  await waitUntil("blue's address withdrawn", async () => (await nextHop(BLUE_EGRESS)) === undefined, 30000);
  await waitUntil('b2 leaves by h2', async () => (await fetch(b2.netns, 'b2')) === `b2 ${h2.underlayIP}`, 20000);
});
