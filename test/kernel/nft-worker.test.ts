/**
 * The libnftables worker (native/tenet-nftd) against the real kernel: an atomic multi-line script
 * read back as JSON and terse, a failing script that changes nothing, a missing namespace that does
 * not take the worker down, concurrent requests to two namespaces, a killed worker replaced, a hung
 * one timed out, the nsenter fallback, and a Node process that exits without closing it (no leak).
 * Every namespace carries a random `tqnw` prefix and is deleted after its test.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/kernel/exec';
import { NFT_WORKER_PATH, NftWorker, sharedNftWorker } from '../../src/kernel/nft-worker';
import { kernelNftDriver } from '../../src/agent/nft/kernel';
import { registerTestStem } from '../helpers/netns';

const SCRIPT = `add table inet tenet
add set inet tenet peers { type ipv4_addr; flags interval; }
add element inet tenet peers { 10.1.0.1, 10.1.0.2 }
add chain inet tenet filter_dispatch { type filter hook forward priority 0; policy accept; }
add rule inet tenet filter_dispatch ip saddr @peers counter drop comment "peers-drop"
`;

interface NftJson {
  nftables: Array<Record<string, { name?: string; elem?: unknown[]; hook?: string; chain?: string; comment?: string }>>;
}

/** A fresh namespace whose name the agent would accept (NETNS_NAME_REGEX), deleted after the test. */
async function namespace(t: TestContext): Promise<string> {
  const name = registerTestStem(`tqnw${crypto.randomBytes(4).toString('hex')}-t-a`);
  await run('ip', ['netns', 'add', name]);
  t.after(async () => {
    await run('ip', ['netns', 'del', name], { allowFailure: true });
  });
  return name;
}

function worker(t: TestContext, options: ConstructorParameters<typeof NftWorker>[0] = {}): NftWorker {
  assert.ok(fs.existsSync(NFT_WORKER_PATH), `${NFT_WORKER_PATH} is not built (make -C native)`);
  const w = new NftWorker({ fallback: false, ...options });
  t.after(() => w.close());
  return w;
}

/** What the kernel holds, read with the nft tool itself rather than through the worker. */
async function kernelRuleset(netns: string): Promise<string> {
  return (await run('nsenter', [`--net=/run/netns/${netns}`, 'nft', 'list', 'ruleset'])).stdout;
}

function setElements(listing: string, set: string): unknown[] | undefined {
  const json = JSON.parse(listing) as NftJson;
  const entry = json.nftables.find((o) => o.set?.name === set);
  assert.ok(entry, `set ${set} in the listing`);
  return entry.set.elem;
}

test('a multi-line script applies as one transaction and lists back as JSON and terse', async (t) => {
  const ns = await namespace(t);
  const w = worker(t);
  assert.equal(await w.run({ netns: ns, text: SCRIPT }), '');

  const listing = await w.run({ netns: ns, text: 'list table inet tenet', json: true });
  const json = JSON.parse(listing) as NftJson;
  assert.deepEqual(setElements(listing, 'peers'), ['10.1.0.1', '10.1.0.2']);
  const chain = json.nftables.find((o) => o.chain?.name === 'filter_dispatch');
  assert.equal(chain?.chain.hook, 'forward');
  assert.ok(json.nftables.some((o) => o.rule?.chain === 'filter_dispatch' && o.rule.comment === 'peers-drop'));
  assert.match(await kernelRuleset(ns), /elements = \{ 10\.1\.0\.1, 10\.1\.0\.2 \}/);

  const terse = await w.run({ netns: ns, text: 'list table inet tenet', json: true, terse: true });
  assert.equal(setElements(terse, 'peers'), undefined, 'terse listing omits set elements');
  assert.ok((JSON.parse(terse) as NftJson).nftables.some((o) => o.chain?.name === 'filter_dispatch'));

  // Plain text output, as `nft list` prints it.
  assert.match(await w.run({ netns: ns, text: 'list set inet tenet peers' }), /10\.1\.0\.1, 10\.1\.0\.2/);
  assert.equal(w.started, 1, 'one worker served every request');
});

test('a listing much larger than a pipe buffer arrives whole', async (t) => {
  const ns = await namespace(t);
  const w = worker(t);
  await w.run({ netns: ns, text: SCRIPT });
  const many = Array.from({ length: 20000 }, (_, i) => `10.4.${i >> 8}.${i & 255}`);
  await w.run({ netns: ns, text: `add element inet tenet peers { ${many.join(', ')} }\n` });
  const [listing, small] = await Promise.all([
    w.run({ netns: ns, text: 'list table inet tenet', json: true }),
    w.run({ netns: ns, text: 'list chain inet tenet filter_dispatch', json: true }),
  ]);
  assert.ok(listing.length > 3 * 65536, `listing of ${listing.length} bytes spans many reads`);
  const elements = setElements(listing, 'peers') as Array<string | { prefix?: unknown; range?: unknown }>;
  assert.equal(elements.length, 2 + many.length);
  assert.ok(elements.includes('10.4.23.111'));
  assert.ok(
    (JSON.parse(small) as NftJson).nftables.some((o) => o.chain?.name === 'filter_dispatch'),
    'the reply after it is parsed too',
  );
});

test("a failing script reports nft's error and changes nothing", async (t) => {
  const ns = await namespace(t);
  const w = worker(t);
  await w.run({ netns: ns, text: SCRIPT });
  const before = await kernelRuleset(ns);

  // nft accepts both lines; the kernel refuses the second (the table exists) and aborts the whole batch.
  const bad = 'add element inet tenet peers { 10.1.0.3 }\ncreate table inet tenet\n';
  await assert.rejects(w.run({ netns: ns, text: bad }), (error: Error & { stderr?: string }) => {
    // Located on the line at fault, as `nft -f` would (not on the script's first line).
    assert.match(
      error.message,
      new RegExp(`^nft in ${ns}: script:2:\\d+-\\d+: Error: Could not process rule: File exists\ncreate table inet tenet`),
    );
    assert.equal(error.stderr, error.message.slice(`nft in ${ns}: `.length) + '\n');
    return true;
  });
  await assert.rejects(
    w.run({ netns: ns, text: 'add element inet tenet peers { 10.1.0.4 }\nadd rule inet tenet filter_dispatch bogus\n' }),
    /script:2:\d+-\d+: Error: syntax error/,
  );
  assert.equal(await kernelRuleset(ns), before, 'nothing of either failed script reached the kernel');

  // A listing of a table that does not exist fails too (the enforcer's "no table yet").
  await assert.rejects(w.run({ netns: ns, text: 'list table inet nothing', json: true }), /No such file or directory/);
});

test('a namespace that does not exist fails clearly and the worker keeps serving', async (t) => {
  const ns = await namespace(t);
  const w = worker(t);
  await w.run({ netns: ns, text: SCRIPT });
  const pid = w.pid;
  const missing = registerTestStem(`tqnw${crypto.randomBytes(4).toString('hex')}-t-gone`);
  await assert.rejects(
    w.run({ netns: missing, text: 'list ruleset' }),
    new RegExp(`cannot enter /run/netns/${missing}: No such file or directory`),
  );
  await assert.rejects(w.run({ netns: 'Not/Valid', text: 'list ruleset' }), /refusing to run nft in namespace "Not\/Valid"/);
  assert.match(await w.run({ netns: ns, text: 'list set inet tenet peers' }), /10\.1\.0\.1/);
  assert.equal(w.pid, pid, 'the same worker process');
  assert.equal(w.started, 1);
});

test('concurrent requests to two namespaces each land in their own namespace', async (t) => {
  const [a, b] = [await namespace(t), await namespace(t)];
  const w = worker(t);
  await Promise.all([w.run({ netns: a, text: SCRIPT }), w.run({ netns: b, text: SCRIPT })]);
  const requests: Promise<string>[] = [];
  for (let i = 10; i < 40; i++) {
    requests.push(w.run({ netns: a, text: `add element inet tenet peers { 10.2.0.${i} }` }));
    requests.push(w.run({ netns: b, text: `add element inet tenet peers { 10.3.0.${i} }\n` }));
    requests.push(w.run({ netns: i % 2 ? a : b, text: 'list table inet tenet', json: true }));
  }
  const replies = await Promise.all(requests);
  assert.equal(replies.length, 90);
  for (const listing of replies.filter((r) => r !== '')) assert.ok(setElements(listing, 'peers'));

  const expect = (prefix: string) => ['10.1.0.1', '10.1.0.2', ...Array.from({ length: 30 }, (_, k) => `${prefix}.${k + 10}`)].sort();
  const elements = async (ns: string) =>
    (setElements(await w.run({ netns: ns, text: 'list set inet tenet peers', json: true }), 'peers') as string[]).slice().sort();
  assert.deepEqual(await elements(a), expect('10.2.0'));
  assert.deepEqual(await elements(b), expect('10.3.0'));
  assert.equal(w.started, 1);
});

test('a killed worker fails the request it held and is replaced on the next one', async (t) => {
  const ns = await namespace(t);
  const w = worker(t);
  await w.run({ netns: ns, text: SCRIPT });
  const pid = w.pid;
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  // Sent before Node has noticed the death: it reaches a dead worker and must fail, not hang.
  await assert.rejects(w.run({ netns: ns, text: 'add element inet tenet peers { 10.1.0.9 }' }), /nft worker exited \(SIGKILL\)/);
  assert.match(await w.run({ netns: ns, text: 'list set inet tenet peers' }), /10\.1\.0\.1, 10\.1\.0\.2 \}/);
  assert.notEqual(w.pid, pid);
  assert.equal(w.started, 2);

  // close() ends the process; a later request starts another.
  const second = w.pid as number;
  await w.close();
  assert.equal(w.pid, undefined);
  assert.throws(() => process.kill(second, 0), /ESRCH/);
  assert.match(await w.run({ netns: ns, text: 'list set inet tenet peers' }), /10\.1\.0\.2/);
  assert.equal(w.started, 3);
});

test('a worker that does not answer is killed at the timeout and later requests get a new one', async (t) => {
  const ns = await namespace(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tqnw-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Stands in for a worker stuck in the kernel: reads nothing, answers nothing.
  const hung = path.join(dir, 'hung-worker');
  fs.writeFileSync(hung, '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
  const w = worker(t, { binary: hung, timeoutMs: 300 });
  const first = w.run({ netns: ns, text: 'list ruleset' });
  const queued = w.run({ netns: ns, text: 'list ruleset' });
  await assert.rejects(first, /no reply from the nft worker in 0\.3 s \(worker killed\)/);
  await assert.rejects(queued, /no reply from the nft worker/);
  assert.equal(w.started, 2, 'the queued request went to a new worker');
});

test('without the built worker, requests go through nsenter + nft', async (t) => {
  const ns = await namespace(t);
  const w = new NftWorker({ binary: path.join(os.tmpdir(), `tqnw-${crypto.randomBytes(4).toString('hex')}-absent`) });
  t.after(() => w.close());
  assert.equal(await w.run({ netns: ns, text: SCRIPT }), '');
  assert.deepEqual(setElements(await w.run({ netns: ns, text: 'list table inet tenet', json: true }), 'peers'), ['10.1.0.1', '10.1.0.2']);
  assert.equal(setElements(await w.run({ netns: ns, text: 'list table inet tenet', json: true, terse: true }), 'peers'), undefined);
  await assert.rejects(w.run({ netns: ns, text: 'add rule inet tenet filter_dispatch bogus\n' }), /syntax error/);
  assert.equal(w.started, 0);
});

test("the table's kernel driver sends typed requests through the shared worker", async (t) => {
  assert.ok(fs.existsSync(NFT_WORKER_PATH), `${NFT_WORKER_PATH} is not built (make -C native)`);
  const ns = await namespace(t);
  t.after(() => sharedNftWorker().close());
  const driver = kernelNftDriver();
  const program = { family: 'inet' as const, table: 'tenet', sets: [], maps: [], chains: [], interfaces: {} };
  await driver.commit({ netns: ns, full: true, program, ops: [], text: SCRIPT });
  const read = await driver.read(ns);
  assert.deepEqual(read?.sets.find((s) => s.name === 'peers')?.elements, ['10.1.0.1', '10.1.0.2']);
  assert.ok(Array.isArray(await driver.counters(ns)));
  assert.equal(sharedNftWorker().started, 1);
  await assert.rejects(
    driver.commit({ netns: ns, full: false, program, ops: [], text: 'add rule inet tenet filter_dispatch bogus\n' }),
    /syntax error/,
  );
});

test('a Node process that exits without closing the worker does not keep it alive or leak it', async (t) => {
  const ns = await namespace(t);
  assert.ok(fs.existsSync(NFT_WORKER_PATH), `${NFT_WORKER_PATH} is not built (make -C native)`);
  const moduleJs = path.join(__dirname, '..', '..', 'src', 'kernel', 'nft-worker.js');
  const program = `
    const { sharedNftWorker } = require(${JSON.stringify(moduleJs)});
    sharedNftWorker().run({ netns: ${JSON.stringify(ns)}, text: 'add table inet tenet\\n' })
      .then(() => console.log(sharedNftWorker().pid))
      .catch((error) => { console.error(error.message); process.exitCode = 1; });
  `;
  // The child must end by itself once its request is answered: an unref'd worker holds nothing.
  const result = await run(process.execPath, ['-e', program], { timeoutMs: 30000 });
  const pid = Number(result.stdout.trim());
  assert.ok(pid > 0, `worker pid printed: ${result.stdout} ${result.stderr}`);
  assert.match(await kernelRuleset(ns), /table inet tenet/);
  // Its stdin closed with the parent: the worker exits on end of input (reaped by init, or a zombie at most).
  const gone = () => {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'tenet-nftd') return true; // pid reused
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
    } catch {
      return true;
    }
  };
  for (let i = 0; i < 500 && !gone(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(gone(), `worker ${pid} exited with its parent`);
});
