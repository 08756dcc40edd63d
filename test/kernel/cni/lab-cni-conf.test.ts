import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labCniConf } from '../../../src/lab/cni-conf';
import { LabError, type LabState } from '../../../src/lab/state';
import { parseNetConf } from '../../../src/cni/config';

const state: LabState = {
  name: 'demo',
  dir: '/run/tenet/labs/demo',
  fabricNetns: 'tl-demo-fab',
  underlayCidr: '192.168.250.0/24',
  controller: { external: false, servers: ['unix:/run/tenet/labs/demo/controller.sock'] },
  hosts: [
    {
      name: 'h1',
      netns: 'tl-demo-h1',
      underlayIP: '192.168.250.11',
      fabricPort: 'tlp1',
      socket: '/run/tenet/labs/demo/h1/agent.sock',
      netnsPrefix: 'tl-demo-h1-',
      log: '/x',
    },
  ],
  containers: [],
  createdAt: '2026-01-01T00:00:00Z',
};

test('lab cni-conf points tenet at the host agent socket and is a valid tenet configuration', () => {
  const conf = labCniConf(state, { host: 'h1', tenant: 'acme', network: 'web' }) as {
    cniVersion: string;
    name: string;
    plugins: Record<string, unknown>[];
  };
  assert.equal(conf.cniVersion, '1.0.0');
  assert.equal(conf.name, 'demo-h1-acme-web');
  assert.equal(conf.plugins[0].agentSocket, '/run/tenet/labs/demo/h1/agent.sock');
  const parsed = parseNetConf({ ...conf.plugins[0], cniVersion: conf.cniVersion, name: conf.name }, true);
  assert.deepEqual([parsed.tenant, parsed.network, parsed.agentSocket], ['acme', 'web', '/run/tenet/labs/demo/h1/agent.sock']);
  assert.equal((labCniConf(state, { host: 'h1', tenant: 'acme', network: 'web', nameAs: 'web' }) as { name: string }).name, 'web');
});

test('lab cni-conf refuses unknown hosts and bad names', () => {
  assert.throws(
    () => labCniConf(state, { host: 'h9', tenant: 'acme', network: 'web' }),
    (e: Error) => e instanceof LabError && /h9/.test(e.message) && /h1/.test(e.message),
  );
  assert.throws(() => labCniConf(state, { host: 'h1', tenant: 'Acme', network: 'web' }), /--tenant/);
  assert.throws(() => labCniConf(state, { host: 'h1', tenant: 'acme', network: 'web!' }), /--network/);
  assert.throws(() => labCniConf(state, { host: 'h1', tenant: 'acme', network: 'web', nameAs: 'bad/name' }), /--name-as/);
});
