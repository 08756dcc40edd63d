/**
 * The lab's outside namespace: made by `lab up` on the fabric, an upstream router (a real BIRD) with a
 * BGP session configured for every host, stand-in servers on its loopback, reachable from the hosts and
 * only from the lab's namespaces; `lab exec outside` runs there; `lab down` removes it and BIRD.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestLab } from '../../helpers/lab';
import { labDown } from '../../../src/lab/lab';
import { bgpSessions, birdc, outsideNetns } from '../../../src/lab/outside';
import { isAlive } from '../../../src/lab/processes';
import { listNetns } from '../../../src/kernel/ip';
import { run } from '../../../src/kernel/exec';

const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'tenet');

test('lab up makes the outside namespace with a BIRD upstream router; exec runs there; down removes both', async (t) => {
  const lab = await startTestLab(t, 2);
  const outside = lab.state.outside;
  assert.ok(outside, 'lab.json records the outside namespace');
  assert.equal(outside.netns, outsideNetns(lab.state));
  assert.ok(listNetns().includes(outside.netns));
  assert.ok(isAlive(outside.birdPid), 'BIRD runs');

  // BIRD is the real daemon, answering on the lab's own control socket, with a session per host.
  assert.match(await birdc(outside, ['show', 'status']), /Daemon is up and running/);
  const sessions = await bgpSessions(outside);
  assert.deepEqual(Object.keys(sessions).sort(), ['h1', 'h2']);
  const config = await run('ip', ['netns', 'exec', outside.netns, 'ip', '-json', 'addr', 'show']);
  const addresses = (JSON.parse(config.stdout) as { addr_info: { local: string }[] }[]).flatMap((l) => l.addr_info.map((a) => a.local));
  for (const address of [outside.underlayIP, outside.internetIP, outside.corporateIP]) assert.ok(addresses.includes(address), address);
  // Its only links: lo and the fabric port. Nothing leads to the machine's own namespace.
  const links = JSON.parse((await run('ip', ['netns', 'exec', outside.netns, 'ip', '-json', 'link', 'show'])).stdout) as {
    ifname: string;
  }[];
  assert.deepEqual(links.map((l) => l.ifname).sort(), ['eth0', 'lo']);

  // A host reaches the "internet" server address through the outside router (its default route).
  for (const host of lab.state.hosts) {
    const ping = await run('ip', ['netns', 'exec', host.netns, 'ping', '-c1', '-W2', outside.internetIP], { allowFailure: true });
    assert.equal(ping.code, 0, `${host.name} → ${outside.internetIP}: ${ping.stderr}`);
  }

  // `tenet lab exec outside -- ...` runs in the outside namespace (it sees its own addresses).
  const { stdout } = await promisify(execFile)(BIN, [
    'lab',
    'exec',
    '--name',
    lab.state.name,
    'outside',
    '--',
    'ip',
    '-brief',
    'addr',
    'show',
    'lo',
  ]);
  assert.match(stdout, new RegExp(outside.corporateIP.replace(/\./g, '\\.')));
  // The name is reserved: no container may take it.
  await assert.rejects(lab.run('outside', { host: 'h1', tenant: 'x', network: 'n' }), /names the lab's outside namespace/);

  await labDown(lab.state.name);
  assert.ok(!listNetns().includes(outside.netns), 'lab down deleted the outside namespace');
  assert.ok(!isAlive(outside.birdPid), 'lab down stopped BIRD');
});
