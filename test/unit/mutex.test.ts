import test from 'node:test';
import assert from 'node:assert/strict';
import { Mutex } from '../../src/agent/mutex';

test("kernel lock: one task at a time in order; the holder's caller goes on before the next task starts, with no event-loop turn between", async () => {
  const mutex = new Mutex();
  const log: string[] = [];
  let turn = false;
  let running = 0;
  const task = (name: string, ms: number) => async (): Promise<string> => {
    running++;
    assert.equal(running, 1, `${name} runs alone`);
    log.push(`${name} start`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    // Something of the event loop's next turn (an I/O callback, a watch event) must not run before the next task starts.
    setImmediate(() => (turn = true));
    running--;
    return name;
  };
  // A's caller does several steps with the result (as an attach answering over HTTP does).
  const a = (async () => {
    const result = await mutex.run(task('a', 5));
    await null;
    await null;
    await null;
    log.push(`${result} answered`);
  })();
  const b = mutex.run(async () => {
    log.push(`b start${turn ? ' after a turn' : ''}`);
    return 'b';
  });
  const c = mutex.run(task('c', 1));
  await Promise.all([a, b, c]);
  assert.deepEqual(log, ['a start', 'a answered', 'b start', 'c start']);
  // A failed task does not stop the queue.
  await assert.rejects(
    mutex.run(async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await mutex.run(async () => 'after'), 'after');
});
