/**
 * A transaction libnftables answers with ENOBUFS (its acknowledgements were lost; seen on the first large
 * service transaction while another process listened to the nftables group) may or may not have taken
 * effect: the kernel driver asks the kernel for one element the transaction changes and either takes it
 * as done or sends it again, and says which (the agent counts it in tenet_agent_nft_enobufs_total).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enobufsParts, enobufsProbe, kernelNftDriver, type EnobufsOutcome } from '../../src/agent/nft/kernel';
import type { NftTransaction } from '../../src/agent/nft/table';
import type { NftRequest } from '../../src/kernel/nft-worker';

const program: NftTransaction['program'] = {
  family: 'inet',
  table: 'tenet',
  sets: [
    { name: 'sv_vip4', type: 'ipv4_addr', interval: false, elements: [] },
    { name: 'peers', type: 'ipv4_addr', interval: true, elements: [] },
  ],
  maps: [
    { name: 'sv_slot4', typeof: 'ipv4_addr . mark : ipv4_addr', declare: 'type', elements: {} },
    { name: 'dispatch', elements: {} },
  ],
  chains: [],
  interfaces: {},
};

function tx(ops: NftTransaction['ops']): NftTransaction {
  return { netns: 'tl-x-h1-t-a', full: false, program, ops, text: 'add element inet tenet sv_slot4 { … }\n' };
}

/** A runner whose first commit fails with ENOBUFS; `holds` says whether `get element` finds its key. */
function runner(holds: (text: string) => boolean) {
  const requests: string[] = [];
  let commits = 0;
  const run = async (request: NftRequest): Promise<string> => {
    requests.push(request.text);
    if (request.text.startsWith('get element')) {
      if (holds(request.text)) return '';
      throw new Error('Error: Could not process rule: No such file or directory');
    }
    if (commits++ === 0) throw new Error('netlink: Error: Could not process rule: No buffer space available');
    return '';
  };
  return { run, requests };
}

test('the probe is an element the transaction only adds, else one it only deletes; never an interval set or an interface-keyed map', () => {
  assert.deepEqual(
    enobufsProbe(
      tx([
        { op: 'deleteMapElements', map: 'sv_slot4', keys: ['10.96.0.1 . 1'] },
        { op: 'addMapElements', map: 'sv_slot4', elements: { '10.96.0.1 . 1': '10.0.0.2', '10.96.0.1 . 2': '10.0.0.3' } },
      ]),
    ),
    { name: 'sv_slot4', key: '10.96.0.1 . 2', present: true },
  );
  assert.deepEqual(enobufsProbe(tx([{ op: 'deleteElements', set: 'sv_vip4', elements: ['10.96.0.9'] }])), {
    name: 'sv_vip4',
    key: '10.96.0.9',
    present: false,
  });
  assert.equal(
    enobufsProbe(
      tx([
        { op: 'addElements', set: 'peers', elements: ['10.0.0.0/8'] },
        { op: 'addMapElements', map: 'dispatch', elements: { tv000000000001: 'c' } },
        { op: 'deleteMapElements', map: 'sv_slot4', keys: ['10.96.0.1 . 1'] },
        { op: 'addMapElements', map: 'sv_slot4', elements: { '10.96.0.1 . 1': '10.0.0.2' } },
      ]),
    ),
    undefined,
  );
});

test('ENOBUFS: a transaction that took effect is taken as done, one that did not is sent again, one nothing tells about fails', async () => {
  const change = tx([{ op: 'addMapElements', map: 'sv_slot4', elements: { '10.96.0.1 . 2': '10.0.0.3' } }]);
  for (const [holds, outcome, commits] of [
    [true, 'committed', 1],
    [false, 'retried', 2],
  ] as const) {
    const outcomes: EnobufsOutcome[] = [];
    const { run, requests } = runner(() => holds);
    await kernelNftDriver(run, { onEnobufs: (o) => outcomes.push(o) }).commit(change);
    assert.deepEqual(outcomes, [outcome]);
    assert.equal(requests.filter((r) => r === change.text).length, commits);
    assert.ok(requests.includes('get element inet tenet sv_slot4 { 10.96.0.1 . 2 }'), requests.join(' | '));
  }
  const outcomes: EnobufsOutcome[] = [];
  const { run } = runner(() => true);
  await assert.rejects(
    kernelNftDriver(run, { onEnobufs: (o) => outcomes.push(o) }).commit(tx([{ op: 'flushChain', name: 'c' }])),
    /No buffer space available/,
  );
  assert.deepEqual(outcomes, ['unknown']);
  // Any other error is the kernel's refusal, as before.
  const refused = async (request: NftRequest): Promise<string> => {
    throw new Error(`Error: Could not process rule: No such file or directory (${request.text.length})`);
  };
  await assert.rejects(kernelNftDriver(refused).commit(change), /No such file/);
});

test('ENOBUFS twice for a large transaction of elements only: it is sent in parts of at most 2,000 elements, in order', async () => {
  const elements = Object.fromEntries(Array.from({ length: 4500 }, (_, i) => [`10.96.${i >> 8}.${i & 255} . 1`, '10.0.0.2']));
  const big = tx([
    { op: 'deleteMapElements', map: 'sv_slot4', keys: ['10.95.0.1 . 1'] },
    { op: 'addMapElements', map: 'sv_slot4', elements },
    { op: 'addElements', set: 'sv_vip4', elements: ['10.96.0.1', '10.96.0.2'] },
  ]);
  const parts = enobufsParts(big.ops)!;
  assert.deepEqual(
    parts.map((p) =>
      p.reduce(
        (n, op) => n + ('keys' in op ? op.keys.length : Array.isArray(op.elements) ? op.elements.length : Object.keys(op.elements).length),
        0,
      ),
    ),
    [1, 2000, 2000, 502],
  );
  assert.equal(parts[0][0].op, 'deleteMapElements', 'the order is kept');
  assert.equal(enobufsParts([...big.ops, { op: 'flushChain', name: 'c' }]), undefined, 'anything but elements stays one transaction');
  const outcomes: EnobufsOutcome[] = [];
  const sent: string[] = [];
  const run = async (request: NftRequest): Promise<string> => {
    if (request.text.startsWith('get element')) throw new Error('Error: Could not process rule: No such file or directory');
    if (request.text === big.text) throw new Error('netlink: Error: Could not process rule: No buffer space available');
    sent.push(request.text);
    return '';
  };
  await kernelNftDriver(run, { onEnobufs: (o) => outcomes.push(o) }).commit(big);
  assert.deepEqual(outcomes, ['retried', 'split']);
  assert.equal(sent.length, 4);
  assert.match(sent[0], /^delete element inet tenet sv_slot4 \{ 10\.95\.0\.1 \. 1 \}/);
  assert.match(sent[3], /add element inet tenet sv_vip4 \{ 10\.96\.0\.1, 10\.96\.0\.2 \}/);
});
