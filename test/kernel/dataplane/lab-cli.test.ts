/** `tenet lab` through the real CLI: up, env, run, exec, probe -o json, rm, down (twice), nothing left. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import os from 'node:os';
import { uniqueStem, deleteNetnsWithPrefix, netnsWithPrefix } from '../../helpers/netns';
import { startTestLab, waitUntil } from '../../helpers/lab';
import { labDown } from '../../../src/lab/lab';
import { findProcesses, isAlive, netnsInode, stopPid, unixGet } from '../../../src/lab/processes';
import { labNetnsPrefix, loadLab, type LabState } from '../../../src/lab/state';
import { run } from '../../../src/kernel/exec';
import { TenetClient } from '../../../src/client/api-client';
import { API_VERSION } from '../../../src/core/model/common';

const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'tenet');
const tenetWith =
  (extraEnv: Record<string, string>) =>
  async (...args: string[]): Promise<{ stdout: string; code: number; stderr: string }> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(BIN, args, { env: { ...process.env, TENET_LOG_LEVEL: 'warn', ...extraEnv } });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };
const tenet = tenetWith({});

interface ProbeRow {
  from: string;
  to: string;
  protocol: string;
  port?: number;
  address: string;
  family: number;
  allowed: boolean;
  answeredBy?: string;
  error?: string;
}

test('tenet lab CLI: up, env, run, exec, probe -o json, rm, down twice', async (t) => {
  const name = uniqueStem('c');
  t.after(async () => {
    await labDown(name).catch(() => undefined);
    await deleteNetnsWithPrefix(labNetnsPrefix(name));
  });
  const up = await tenet('lab', 'up', '--name', name, '--hosts', '2');
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /host h1: netns tl-\w+-h1, underlay 192\.168\.250\.11/);
  assert.match(up.stdout, /host h2: netns tl-\w+-h2, underlay 192\.168\.250\.12/);

  const env = await tenet('lab', 'env', '--name', name);
  const server = /export TENET_SERVER=(\S+)/.exec(env.stdout)?.[1];
  const token = /export TENET_TOKEN=(\S+)/.exec(env.stdout)?.[1];
  assert.ok(server?.startsWith('http://127.0.0.1:') && token, env.stdout);
  const client = new TenetClient({ servers: [server!], token });
  await client.apply([
    { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'shop' }, spec: {} },
    { apiVersion: API_VERSION, kind: 'Network', metadata: { name: 'web', tenant: 'shop' }, spec: { subnets: [{ cidr: '10.50.0.0/24' }] } },
  ]);

  const r1 = await tenet(
    'lab',
    'run',
    'w1',
    '--name',
    name,
    '--host',
    'h1',
    '--tenant',
    'shop',
    '--network',
    'web',
    '--labels',
    'app=web,tier=front',
    '--ip',
    '10.50.0.10',
  );
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stdout, /w1 on h1: shop\/web 10\.50\.0\.10/);
  const r2 = await tenet('lab', 'run', 'w2', '--name', name, '--host', 'h2', '--tenant', 'shop', '--network', 'web');
  assert.equal(r2.code, 0, r2.stderr);
  const bad = await tenet('lab', 'run', 'w3', '--name', name, '--host', 'h9', '--tenant', 'shop', '--network', 'web');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /no host "h9"/);

  const exec = await tenet('lab', 'exec', 'w2', '--name', name, '--', 'ping', '-c1', '-W1', '10.50.0.10');
  assert.equal(exec.code, 0, exec.stdout + exec.stderr);

  const probe = await tenet('lab', 'probe', '--name', name, '--port', 'tcp/80,icmp', '-o', 'json');
  assert.equal(probe.code, 0, probe.stderr);
  const rows = JSON.parse(probe.stdout) as ProbeRow[];
  for (const row of rows) {
    assert.equal(row.address, row.to === 'w1' ? '10.50.0.10' : loadLab(name)!.containers.find((c) => c.name === 'w2')!.addresses[0]);
    assert.equal(row.family, 4);
    assert.ok(!('error' in row) && !('answeredBy' in row), JSON.stringify(row));
  }
  assert.deepEqual(rows.map((r) => `${r.from}>${r.to} ${r.protocol}${r.port ? `/${r.port}` : ''} ${r.allowed}`).sort(), [
    'w1>w2 icmp true',
    'w1>w2 tcp/80 true',
    'w2>w1 icmp true',
    'w2>w1 tcp/80 true',
  ]);
  const labels = (await client.list<{ metadata: { labels?: Record<string, string> } }>('Endpoint', { tenant: 'shop' })).items.map(
    (e) => e.metadata.labels?.app,
  );
  assert.ok(labels.includes('web'));

  const rm = await tenet('lab', 'rm', 'w2', '--name', name);
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(
    loadLab(name)!.containers.map((c) => c.name),
    ['w1'],
  );

  const dir = loadLab(name)!.dir;
  assert.equal((await tenet('lab', 'down', '--name', name)).code, 0);
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(name)), []);
  assert.ok(!fs.existsSync(dir));
  const again = await tenet('lab', 'down', '--name', name);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to do/);
});

test('two labs at once: separate, both probe, down of one leaves the other; --name may be left out only when one lab exists', async (t) => {
  // A labs directory of this test's own: other labs on the machine must not make "exactly one" false.
  const labsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-labs-'));
  const cli = tenetWith({ TENET_LABS_DIR: labsDir });
  const [a, b] = [uniqueStem('a'), uniqueStem('b')];
  t.after(async () => {
    for (const name of [a, b]) {
      await cli('lab', 'down', '--name', name);
      const file = path.join(labsDir, name, 'lab.json');
      if (fs.existsSync(file)) {
        const state = JSON.parse(fs.readFileSync(file, 'utf8')) as LabState;
        for (const host of state.hosts) await stopPid(host.agentPid, host.socket);
        await stopPid(state.controller.pid, state.controller.socket ?? 'controller');
      }
      await deleteNetnsWithPrefix(labNetnsPrefix(name));
    }
    fs.rmSync(labsDir, { recursive: true, force: true });
  });
  const stateOf = (name: string): LabState => JSON.parse(fs.readFileSync(path.join(labsDir, name, 'lab.json'), 'utf8')) as LabState;

  assert.match((await cli('lab', 'env')).stderr, /no lab is running/);
  const upA = await cli('lab', 'up', '--name', a, '--hosts', '2');
  assert.equal(upA.code, 0, upA.stderr);
  const envOnly = await cli('lab', 'env');
  assert.equal(envOnly.code, 0, envOnly.stderr);
  assert.match(envOnly.stdout, new RegExp(`# lab ${a}:`), 'the only lab is taken without --name');
  const upB = await cli('lab', 'up', '--name', b, '--hosts', '2');
  assert.equal(upB.code, 0, upB.stderr);
  for (const args of [
    ['lab', 'env'],
    ['lab', 'probe'],
    ['lab', 'down'],
  ]) {
    const refused = await cli(...args);
    assert.notEqual(refused.code, 0, `${args.join(' ')} without --name must be refused with two labs`);
    assert.match(
      refused.stderr,
      new RegExp(`(several labs (are running|exist)) \\((${a}, ${b})\\); choose one with --name`),
      args.join(' '),
    );
  }
  // fabric, two hosts and the outside namespace
  assert.equal(netnsWithPrefix(labNetnsPrefix(a)).length, 4, 'refused commands changed nothing');
  assert.equal(netnsWithPrefix(labNetnsPrefix(b)).length, 4);

  // The same tenant, network and addresses in both labs: each lab has its own controller and fabric.
  for (const name of [a, b]) {
    const env = await cli('lab', 'env', '--name', name);
    const server = /export TENET_SERVER=(\S+)/.exec(env.stdout)?.[1];
    const token = /export TENET_TOKEN=(\S+)/.exec(env.stdout)?.[1];
    await new TenetClient({ servers: [server!], token }).apply([
      { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'shop' }, spec: {} },
      {
        apiVersion: API_VERSION,
        kind: 'Network',
        metadata: { name: 'web', tenant: 'shop' },
        spec: { subnets: [{ cidr: '10.51.0.0/24', gateway: '10.51.0.1' }] },
      },
    ]);
    for (const [container, host, ip] of [
      ['x1', 'h1', '10.51.0.10'],
      ['x2', 'h2', '10.51.0.11'],
    ]) {
      const made = await cli('lab', 'run', container, '--name', name, '--host', host, '--tenant', 'shop', '--network', 'web', '--ip', ip);
      assert.equal(made.code, 0, made.stderr);
    }
  }
  const probeOk = async (name: string | undefined): Promise<void> => {
    const probe = await cli('lab', 'probe', ...(name ? ['--name', name] : []), '--port', 'tcp/80,icmp', '-o', 'json');
    assert.equal(probe.code, 0, probe.stderr);
    const rows = JSON.parse(probe.stdout) as ProbeRow[];
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows.filter((r) => !r.allowed || r.error),
      [],
      `lab ${name ?? '(only)'}`,
    );
  };
  await Promise.all([probeOk(a), probeOk(b)]);

  const bNamespaces = netnsWithPrefix(labNetnsPrefix(b)).sort();
  const bPids = stateOf(b).hosts.map((h) => h.agentPid!);
  const aDir = stateOf(a).dir;
  const down = await cli('lab', 'down', '--name', a);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(a)), []);
  assert.ok(!fs.existsSync(aDir));
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(b)).sort(), bNamespaces, "lab b's namespaces are all there");
  for (const pid of bPids) assert.ok(isAlive(pid), "lab b's agents run");
  await probeOk(undefined);

  // A probe that cannot be run is an error, not "blocked": x2's namespace removed behind the lab's back.
  await run('ip', ['netns', 'del', stateOf(b).containers.find((c) => c.name === 'x2')!.netns]);
  const broken = await cli('lab', 'probe', '--port', 'tcp/80,icmp', '-o', 'json');
  assert.equal(broken.code, 0, broken.stderr);
  const rows = JSON.parse(broken.stdout) as ProbeRow[];
  assert.equal(rows.length, 4);
  for (const row of rows) {
    assert.equal(row.allowed, false);
    assert.ok(row.error, `no error on ${JSON.stringify(row)}`);
  }
  assert.ok(
    rows.some((r) => r.from === 'x2' && /Cannot open network namespace/.test(r.error!)),
    JSON.stringify(rows),
  );
  assert.ok(
    rows.some((r) => r.to === 'x2' && r.protocol === 'tcp' && /listener in x2/.test(r.error!)),
    JSON.stringify(rows),
  );
  const table = await cli('lab', 'probe', '--port', 'icmp');
  assert.match(table.stdout, /x1 \(shop@h1\)\s+·\s+!/);

  const downB = await cli('lab', 'down');
  assert.equal(downB.code, 0, downB.stderr);
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(b)), []);
  assert.match((await cli('lab', 'down')).stdout + (await cli('lab', 'down')).stderr, /no lab exists; nothing to do/);
});

test('with an external --server, lab down removes the Host objects and agent tokens it made there', async (t) => {
  const lab = await startTestLab(t, 1);
  const client = lab.controller.client;
  const [host] = lab.state.hosts;
  assert.ok(host.tokenId && host.hostPreexisted === false);
  const tokens = async (): Promise<string[]> =>
    ((await client.request('GET', '/api/v1/tokens')) as { items: { id: string }[] }).items.map((i) => i.id);
  assert.ok((await tokens()).includes(host.tokenId));
  // The agent answers healthz before its Host registration lands (seen on a loaded machine): wait for it.
  await waitUntil('the agent registered its Host', async () => (await client.find('Host', host.name)) !== undefined, 20_000);
  await labDown(lab.state.name);
  assert.equal(await client.find('Host', host.name), undefined);
  assert.ok(!(await tokens()).includes(host.tokenId));
});

test('lab run --scope/--ports; probe columns follow --port and leave no process; restart-agent; down stops an agent restarted by hand', async (t) => {
  const name = uniqueStem('r');
  const handStarted: number[] = [];
  t.after(async () => {
    await labDown(name).catch(() => undefined);
    await deleteNetnsWithPrefix(labNetnsPrefix(name));
    for (const pid of handStarted) await stopPid(pid, 'agent', 1000, 'SIGKILL');
  });
  const up = await tenet('lab', 'up', '--name', name, '--hosts', '2');
  assert.equal(up.code, 0, up.stderr);
  const env = await tenet('lab', 'env', '--name', name);
  const client = new TenetClient({
    servers: [/export TENET_SERVER=(\S+)/.exec(env.stdout)![1]],
    token: /export TENET_TOKEN=(\S+)/.exec(env.stdout)![1],
  });
  await client.apply([
    { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'shop' }, spec: {} },
    { apiVersion: API_VERSION, kind: 'Network', metadata: { name: 'web', tenant: 'shop' }, spec: { subnets: [{ cidr: '10.52.0.0/24' }] } },
  ]);

  // --scope and --ports reach the Endpoint; bad --ports is refused before anything is made.
  const bad = await tenet('lab', 'run', 'p0', '--name', name, '--host', 'h1', '--tenant', 'shop', '--network', 'web', '--ports', 'http=0');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--ports: "http=0" must be \[NAME=\]PORT/);
  assert.deepEqual(netnsWithPrefix(`${labNetnsPrefix(name)}c-`), []);
  const r1 = await tenet(
    'lab',
    'run',
    'p1',
    '--name',
    name,
    '--host',
    'h1',
    '--tenant',
    'shop',
    '--network',
    'web',
    '--scope',
    'team-a',
    '--ports',
    'http=80,dns=53/udp,9000',
  );
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal((await tenet('lab', 'run', 'p2', '--name', name, '--host', 'h2', '--tenant', 'shop', '--network', 'web')).code, 0);
  const endpoints = (
    await client.list<{ spec: { scope?: string; ports?: unknown[] }; metadata: { labels?: Record<string, string> } }>('Endpoint', {
      tenant: 'shop',
    })
  ).items;
  const p1 = endpoints.find((e) => e.metadata.labels?.['lab.tenet.dev/container'] === 'p1')!;
  assert.equal(p1.spec.scope, 'team-a');
  assert.deepEqual(p1.spec.ports, [
    { name: 'http', port: 80, protocol: 'TCP' },
    { name: 'dns', port: 53, protocol: 'UDP' },
    { port: 9000, protocol: 'TCP' },
  ]);

  // Columns in --port order (not alphabetical), and no listener (nor a forked child) outlives the probe.
  const probe = await tenet('lab', 'probe', '--name', name, '--port', 'udp/53,icmp,tcp/80');
  assert.equal(probe.code, 0, probe.stderr);
  assert.match(probe.stdout, /cells: udp\/53, icmp, tcp\/80 /);
  assert.match(probe.stdout, /p1 \(shop@h1\)\s+·+\s+\+\+\+/);
  const containerInodes = new Set(
    loadLab(name)!
      .containers.map((c) => netnsInode(c.netns))
      .filter((i): i is number => i !== undefined),
  );
  assert.equal(containerInodes.size, 2);
  const inContainers = () =>
    findProcesses((p) => {
      const ns = p.netns();
      return ns !== undefined && containerInodes.has(ns);
    });
  assert.deepEqual(inContainers(), [], 'no process left in a container namespace');

  // restart-agent: a new agent (new pid), the old one gone, the host still serves attachments.
  const before = loadLab(name)!.hosts.find((h) => h.name === 'h2')!.agentPid!;
  const restarted = await tenet('lab', 'restart-agent', 'h2', '--name', name);
  assert.equal(restarted.code, 0, restarted.stderr);
  const after = loadLab(name)!.hosts.find((h) => h.name === 'h2')!.agentPid!;
  assert.match(restarted.stdout, new RegExp(`agent h2 restarted: pid ${after}`));
  assert.notEqual(after, before);
  assert.ok(!isAlive(before) && isAlive(after));
  assert.match((await tenet('lab', 'restart-agent', 'h9', '--name', name)).stderr, /no host "h9"/);

  // An agent restarted by hand (not through the lab, so lab.json has a dead pid): down still stops it.
  const h1 = loadLab(name)!.hosts.find((h) => h.name === 'h1')!;
  const argv = fs.readFileSync(`/proc/${h1.agentPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  await stopPid(h1.agentPid, h1.socket);
  const env2 = { ...process.env };
  delete env2.TENET_LAB_DIR;
  const hand = spawn('nsenter', [`--net=/run/netns/${h1.netns}`, ...argv], { detached: true, stdio: 'ignore', env: env2 });
  hand.unref();
  handStarted.push(hand.pid!);
  await waitUntil('the hand-started agent', () => unixGet(h1.socket, '/v1/healthz'), 20_000);
  assert.ok(isAlive(hand.pid));
  const down = await tenet('lab', 'down', '--name', name);
  assert.equal(down.code, 0, down.stderr);
  assert.ok(
    !isAlive(hand.pid) || /\bZ\b/.test(fs.readFileSync(`/proc/${hand.pid}/stat`, 'utf8').split(' ')[2]),
    'down stopped the agent started by hand',
  );
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(name)), []);
});
