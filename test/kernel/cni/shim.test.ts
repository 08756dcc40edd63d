/**
 * The native shim and its Node twin against a real unix-socket HTTP server running the real
 * CNI endpoint (with the in-memory attach API): the wire format, local answers, exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { handleCniRequest } from '../../../src/cni/endpoint';
import { FakeAttach } from '../../cni/fake-attach';
import { nativeShim, NODE_SHIM, runPlugin } from '../../cni/shim-helpers';

async function withServer(fn: (socket: string, fake: FakeAttach, netns: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-shim-'));
  const socket = path.join(dir, 'agent.sock');
  const netns = path.join(dir, 'netns');
  fs.writeFileSync(netns, '');
  const fake = new FakeAttach();
  const server = http.createServer((req, res) => {
    if (!handleCniRequest({ attach: fake, netnsExists: (p) => fs.existsSync(p) }, req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  try {
    await fn(socket, fake, netns);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const shims = () => [nativeShim(), NODE_SHIM];

test('VERSION is answered without an agent', async () => {
  for (const shim of shims()) {
    const out = await runPlugin(shim, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal(out.exitCode, 0, shim);
    assert.deepEqual(out.json, { cniVersion: '0.4.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  }
});

test('without an agent: error 11, and 50 for STATUS', async () => {
  for (const shim of shims()) {
    const stdin = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'n',
      type: 'tenet',
      tenant: 'acme',
      network: 'web',
      agentSocket: '/nonexistent/agent.sock',
    });
    const add = await runPlugin(
      shim,
      { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0' },
      stdin,
    );
    assert.equal(add.exitCode, 1);
    assert.equal(add.json?.code, 11);
    assert.equal(add.json?.cniVersion, '1.0.0');
    assert.match(add.json?.details, /nonexistent/);
    const status = await runPlugin(shim, { CNI_COMMAND: 'STATUS' }, stdin.replace('1.0.0', '1.1.0'));
    assert.equal(status.json?.code, 50);
  }
});

test('malformed configuration: permanent error 6 (decode) or 7 (agentSocket), never 11, answered by the shim itself', async () => {
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0' };
  const undecodable = [
    '',
    '   ',
    '{"cniVersion": "1.0.0", "name": "n", ',
    '[{"cniVersion": "1.0.0"}]',
    'null',
    '"text"',
    '{"cniVersion": "1.0.0"} {"x": 1}',
    '{"cniVersion": "1.0.0", "name": tru}',
    '{"cniVersion": "1.0.0", "name": "a\u0001b"}',
    '{"cniVersion": "1.0.0", "name": "bad escape \\q"}',
    '{"cniVersion": "1.0.0", "mtu": 01}',
    '{"cniVersion": "1.0.0", "mtu": 1.}',
    '{"cniVersion": "1.0.0",}',
    '{"cniVersion" "1.0.0"}',
    `{"cniVersion": "1.0.0", "args": ${'['.repeat(100000)}}`,
  ];
  const badSocket = [
    '{"cniVersion": "1.0.0", "name": "n", "type": "tenet", "agentSocket": 42}',
    '{"cniVersion": "1.0.0", "name": "n", "type": "tenet", "agentSocket": "run/agent.sock"}',
    `{"cniVersion": "1.0.0", "name": "n", "type": "tenet", "agentSocket": "/${'a'.repeat(120)}"}`,
  ];
  const expectCodes = async (): Promise<void> => {
    for (const shim of shims()) {
      for (const stdin of undecodable) {
        const out = await runPlugin(shim, env, stdin);
        assert.deepEqual(
          [out.exitCode, out.json?.code, out.json?.msg],
          [1, 6, 'failed to decode network configuration'],
          `${shim} ${JSON.stringify(stdin.slice(0, 80))}: ${out.stdout}`,
        );
      }
      for (const stdin of badSocket) {
        const out = await runPlugin(shim, env, stdin);
        assert.deepEqual([out.exitCode, out.json?.code], [1, 7], `${shim} ${stdin.slice(0, 80)}: ${out.stdout}`);
        assert.equal(out.json?.cniVersion, '1.0.0');
      }
      // Well-formed JSON with nested and escaped content is not refused by the shim: it goes on to the agent.
      const fine = await runPlugin(
        shim,
        env,
        '{"cniVersion": "1.0.0", "name": "n\\u00e9\\"", "x": [1, -2.5e3, true, false, null, {"a": []}], "agentSocket": "/nonexistent/agent.sock"}',
      );
      assert.deepEqual([fine.exitCode, fine.json?.code], [1, 11], fine.stdout);
    }
  };
  // No agent at the default socket: the case that answered 11. (With an agent, see the `bad` case below.)
  await expectCodes();
});

test('ADD, CHECK, DEL and errors travel through the shims unchanged', async () => {
  await withServer(async (socket, fake, netns) => {
    for (const [i, shim] of shims().entries()) {
      const id = `wire${i}`;
      const stdin = JSON.stringify({
        cniVersion: '1.0.0',
        name: 'n',
        type: 'tenet',
        tenant: 'acme',
        network: 'web',
        agentSocket: socket,
        prevResult: undefined,
        args: { agentSocket: '/wrong' },
      });
      // Odd bytes in the environment must arrive intact (percent-encoding on the wire).
      const env = {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: id,
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'K8S_POD_NAME=a%b;IgnoreUnknown=1;X=é ü',
        CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
      };
      const add = await runPlugin(shim, env, stdin);
      assert.equal(add.exitCode, 0, add.stdout + add.stderr);
      assert.equal(add.json?.cniVersion, '1.0.0');
      assert.equal(add.json?.interfaces[1].sandbox, netns);
      const request = fake.requests.at(-1)!;
      assert.equal(request.containerId, id);
      assert.equal(request.labels?.['io.kubernetes.pod.name'], undefined, '"a%b" is not a valid label value and is dropped');
      const check = await runPlugin(shim, { ...env, CNI_COMMAND: 'CHECK' }, JSON.stringify({ ...JSON.parse(stdin), prevResult: add.json }));
      assert.deepEqual([check.exitCode, check.stdout], [0, '']);
      const twice = await runPlugin(shim, env, stdin);
      assert.deepEqual([twice.exitCode, twice.json?.code], [1, 101]);
      const bad = await runPlugin(shim, env, '{"cniVersion": "1.0.0", "agentSocket": "' + socket + '", ');
      // Truncated JSON is refused by the shim itself, agent or not.
      assert.deepEqual([bad.exitCode, bad.json?.code], [1, 6]);
      const del = await runPlugin(shim, { ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, stdin);
      assert.deepEqual([del.exitCode, del.stdout], [0, '']);
      assert.equal(fake.attached.size, 0);
    }
  });
});
