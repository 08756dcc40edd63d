/**
 * listNetns reuses its last listing while /run/netns is unchanged (src/kernel/ip.ts): a namespace made or
 * deleted, however quickly after the last listing, must be seen at once — by the namespace guard of the
 * next attach and by the next pass.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { addNetns, delNetns, listNetns } from '../../src/kernel/ip';
import { deleteNetnsWithPrefix, uniqueStem } from '../helpers/netns';

test('listNetns sees every namespace made or deleted, even right after the last listing', async (t) => {
  const prefix = `${uniqueStem('q')}-`;
  t.after(() => deleteNetnsWithPrefix(prefix));
  for (let i = 0; i < 30; i++) {
    const name = `${prefix}${i}`;
    assert.ok(!listNetns().includes(name));
    await addNetns(name);
    assert.ok(listNetns().includes(name), `${name} listed at once after it was made`);
    assert.ok(listNetns().includes(name), `${name} listed again (reused listing)`);
    await delNetns(name);
    assert.ok(!listNetns().includes(name), `${name} gone at once after it was deleted`);
    // Half the rounds wait past the file system's clock tick, so the reused listing is exercised too.
    if (i % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 60));
  }
  const kept = [`${prefix}a`, `${prefix}b`];
  for (const name of kept) await addNetns(name);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(
    listNetns()
      .filter((n) => n.startsWith(prefix))
      .sort(),
    kept,
  );
  const copy = listNetns();
  copy.length = 0;
  assert.deepEqual(
    listNetns()
      .filter((n) => n.startsWith(prefix))
      .sort(),
    kept,
    'a caller changing its answer changes no later answer',
  );
});
