/**
 * `lab down` removes the lab's own folder under /run/tenet/labs even when one of its namespaces will not
 * go (it used to throw first and leave logs, tokens and the controller's data behind), and touches no
 * other lab's folder. The stuck namespace is a directory in /run/netns, which `ip netns del` cannot unlink.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { uniqueStem, deleteNetnsWithPrefix, netnsWithPrefix } from '../../helpers/netns';
import { labDown } from '../../../src/lab/lab';
import { LabError, labDir, labNetnsPrefix, saveLab, type LabState } from '../../../src/lab/state';
import { addNetns } from '../../../src/kernel/ip';

const NETNS_DIR = '/run/netns';

function recordLab(name: string): LabState {
  const state: LabState = {
    name,
    dir: labDir(name),
    fabricNetns: `${labNetnsPrefix(name)}fab`,
    underlayCidr: '192.168.250.0/24',
    controller: { external: false, servers: [] },
    hosts: [],
    containers: [],
    createdAt: new Date().toISOString(),
  };
  saveLab(state);
  fs.writeFileSync(path.join(state.dir, 'controller.log'), 'a log\n');
  return state;
}

test('lab down removes its own folder, also when a namespace will not go; another lab is untouched', async (t) => {
  const name = uniqueStem('t');
  const other = uniqueStem('t');
  const stuck = path.join(NETNS_DIR, `${labNetnsPrefix(name)}stuck`);
  t.after(async () => {
    fs.rmSync(stuck, { recursive: true, force: true });
    await deleteNetnsWithPrefix(labNetnsPrefix(name));
    fs.rmSync(labDir(name), { recursive: true, force: true });
    fs.rmSync(labDir(other), { recursive: true, force: true });
  });
  const state = recordLab(name);
  const otherState = recordLab(other);
  await addNetns(`${labNetnsPrefix(name)}ok`);
  fs.mkdirSync(path.join(stuck, 'busy'), { recursive: true });

  await assert.rejects(
    labDown(name),
    (error: Error) => error instanceof LabError && error.message.includes(`${labNetnsPrefix(name)}stuck`),
  );
  assert.equal(fs.existsSync(state.dir), false, "the lab's folder is gone although a namespace would not go");
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(name)), [`${labNetnsPrefix(name)}stuck`], 'the namespace that could go went');
  assert.ok(fs.existsSync(path.join(otherState.dir, 'lab.json')), "another lab's folder is left alone");

  // Once the namespace can go, a repeated down (no folder any more) finishes the job.
  fs.rmSync(stuck, { recursive: true, force: true });
  assert.equal(await labDown(name), false, 'nothing of the lab is left to remove');
  assert.equal(await labDown(other), true);
  assert.equal(fs.existsSync(otherState.dir), false);
});
