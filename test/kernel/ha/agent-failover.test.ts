/**
 * An agent given two controllers keeps working when the one it follows dies: attach still goes through
 * (requests fail over), and changes made through the survivor reach its kernel (the watch moves over).
 * Real etcd (3 members), two real controllers, a real agent in its own host namespace.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd';
import { startControllerProcess, type ControllerProcess } from '../../ha/controller-process';
import { deleteNetnsWithPrefix, uniqueStem } from '../../helpers/netns';
import { TenetClient } from '../../../src/client/api-client';
import { AttachClient } from '../../../src/attach/client';
import { API_VERSION } from '../../../src/core/model/common';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';

const exec = promisify(execFile);
const MAIN = path.join(__dirname, '..', '..', '..', 'src', 'cli', 'main.js');
const TENANT = 'fo';

let etcd: EtcdCluster | undefined;
const controllers: ControllerProcess[] = [];
let agent: ChildProcess | undefined;
const stem = uniqueStem('f');
const prefix = `${stem}-`;
const hostNs = `${stem}-h1`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-failover-'));

before(async () => {
  etcd = await startEtcd({ size: 3 });
  for (const name of ['c1', 'c2'])
    controllers.push(await startControllerProcess(etcd.spec, ['--listen', `unix:${path.join(dir, `${name}.sock`)}`]));
});

after(async () => {
  if (agent?.pid !== undefined && agent.exitCode === null) {
    // SIGTERM: the agent ends what it started (its tenant resolvers, its table watchers); SIGKILL only if it hangs.
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    process.kill(agent.pid, 'SIGTERM');
    const timer = setTimeout(() => agent?.pid !== undefined && agent.exitCode === null && process.kill(agent.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  for (const controller of controllers) await controller.kill();
  await etcd?.stop();
  await deleteNetnsWithPrefix(prefix);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startAgent(tokenFile: string): Promise<ChildProcess> {
  const servers = ['c1', 'c2'].map((name) => `unix:${path.join(dir, `${name}.sock`)}`).join(',');
  const child = spawn(
    'nsenter',
    [
      `--net=/run/netns/${hostNs}`,
      process.execPath,
      MAIN,
      'agent',
      '--controller',
      servers,
      '--host',
      'h1',
      '--underlay-ip',
      '10.254.0.1',
      '--socket',
      path.join(dir, 'agent.sock'),
      '--netns-prefix',
      prefix,
      '--token-file',
      tokenFile,
      '--heartbeat',
      '1',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start: ${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`agent exited (${code}): ${output}`)));
  });
  return child;
}

async function routesIn(netns: string): Promise<string> {
  return (await exec('ip', ['-n', netns, 'route', 'show'])).stdout;
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('an agent following one controller moves to the other when it dies', async () => {
  const admin = new TenetClient({ servers: controllers.map((c) => c.url), token: controllers[0].token });
  await admin.create({ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: TENANT }, spec: {} });
  await admin.create({
    apiVersion: API_VERSION,
    kind: 'Network',
    metadata: { name: 'n', tenant: TENANT },
    spec: { subnets: [{ cidr: '10.77.0.0/24' }] },
  });
  await admin.create({ apiVersion: API_VERSION, kind: 'Host', metadata: { name: 'h2' }, spec: { underlayIP: '10.254.0.2' } });
  const { token } = (await admin.request('POST', '/api/v1/tokens', { role: 'agent', host: 'h1' })) as { token: string };
  const tokenFile = path.join(dir, 'agent.token');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

  await exec('ip', ['netns', 'add', hostNs]);
  await exec('ip', ['-n', hostNs, 'link', 'set', 'lo', 'up']);
  await exec('ip', ['-n', hostNs, 'addr', 'add', '10.254.0.1/32', 'dev', 'lo']);
  agent = await startAgent(tokenFile);
  const attach = new AttachClient(path.join(dir, 'agent.sock'));

  const containerNs = async (name: string) => {
    await exec('ip', ['netns', 'add', `${stem}-${name}`]);
    return `/run/netns/${stem}-${name}`;
  };
  const first = await attach.attach({
    containerId: 'ctr-one',
    netns: await containerNs('one'),
    ifName: 'eth0',
    tenant: TENANT,
    network: 'n',
  });
  assert.match(first.addresses[0].address, /^10\.77\.0\.\d+\/24$/);

  // A remote endpoint (on host h2) appears in this host's tenant namespace through the watch.
  const tenantNs = tenantNamespaceName(prefix, TENANT);
  const remote = async (name: string) =>
    (await admin.create({
      apiVersion: API_VERSION,
      kind: 'Endpoint',
      metadata: { name, tenant: TENANT },
      spec: { network: 'n', host: 'h2' },
    })) as { status?: { ipv4?: string } };
  const remoteBefore = (await remote('remote-before')).status!.ipv4!;
  await eventually('the first remote endpoint route', async () => (await routesIn(tenantNs)).includes(remoteBefore));

  // The first controller dies; everything the agent needs now comes from the second.
  await controllers[0].kill();

  const second = await attach.attach({
    containerId: 'ctr-two',
    netns: await containerNs('two'),
    ifName: 'eth0',
    tenant: TENANT,
    network: 'n',
  });
  assert.match(second.addresses[0].address, /^10\.77\.0\.\d+\/24$/);
  assert.notEqual(second.addresses[0].address, first.addresses[0].address);

  const survivor = new TenetClient({ servers: [controllers[1].url], token: controllers[0].token });
  const remoteAfter = (
    (await survivor.create({
      apiVersion: API_VERSION,
      kind: 'Endpoint',
      metadata: { name: 'remote-after', tenant: TENANT },
      spec: { network: 'n', host: 'h2' },
    })) as {
      status?: { ipv4?: string };
    }
  ).status!.ipv4!;
  await eventually('the route of an endpoint created after the failover', async () => (await routesIn(tenantNs)).includes(remoteAfter));

  // The agent's heartbeats land on the survivor too.
  const beat = async () => ((await survivor.get('Host', 'h1')) as { status?: { heartbeatAt?: string } }).status?.heartbeatAt ?? '';
  const seen = await beat();
  await eventually('a heartbeat after the failover', async () => (await beat()) > seen);
});
