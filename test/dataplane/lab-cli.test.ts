/** `tenet lab` through the real CLI: up, env, run, exec, probe -o json, rm, down (twice), nothing left. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { uniqueStem, deleteNetnsWithPrefix, netnsWithPrefix } from '../helpers/netns';
import { labDown } from '../../src/lab/lab';
import { labNetnsPrefix, loadLab } from '../../src/lab/state';
import { TenetClient } from '../../src/client/api-client';
import { API_VERSION } from '../../src/core/model/common';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'tenet');
const tenet = async (...args: string[]): Promise<{ stdout: string; code: number; stderr: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(BIN, args, { env: { ...process.env, TENET_LOG_LEVEL: 'warn' } });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
};

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

  const r1 = await tenet('lab', 'run', 'w1', '--name', name, '--host', 'h1', '--tenant', 'shop', '--network', 'web', '--labels', 'app=web,tier=front', '--ip', '10.50.0.10');
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
  const rows = JSON.parse(probe.stdout) as { from: string; to: string; protocol: string; port?: number; allowed: boolean }[];
  assert.deepEqual(
    rows.map((r) => `${r.from}>${r.to} ${r.protocol}${r.port ? `/${r.port}` : ''} ${r.allowed}`).sort(),
    ['w1>w2 icmp true', 'w1>w2 tcp/80 true', 'w2>w1 icmp true', 'w2>w1 tcp/80 true'],
  );
  const labels = (await client.list<{ metadata: { labels?: Record<string, string> } }>('Endpoint', { tenant: 'shop' })).items.map((e) => e.metadata.labels?.app);
  assert.ok(labels.includes('web'));

  const rm = await tenet('lab', 'rm', 'w2', '--name', name);
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(loadLab(name)!.containers.map((c) => c.name), ['w1']);

  const dir = loadLab(name)!.dir;
  assert.equal((await tenet('lab', 'down', '--name', name)).code, 0);
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(name)), []);
  assert.ok(!fs.existsSync(dir));
  const again = await tenet('lab', 'down', '--name', name);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to do/);
});
