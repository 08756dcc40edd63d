/**
 * Operator tools of issue 15, end to end through the real `bin/tenet` against a real controller:
 * computed columns, apply --prune and diff of live-only objects, output formats, completion,
 * config commands, dry runs, k8s import from stdin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startController, type RunningController } from '../helpers/controller';
import { runCli, type CliResult } from './run-cli';
import { endpointObj, networkObj, tenantObj, V } from '../api/api-helpers';

let controller: RunningController;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tenet-ops-cli-${process.pid}-`));
before(async () => {
  controller = await startController();
});
after(async () => {
  await controller?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli(controller.url, args, options);
}

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

function write(name: string, text: string): string {
  const file = path.join(workDir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

test('get networks -o wide shows ALLOCATED and get groups shows MEMBERS, as describe does', async () => {
  const c = controller.client;
  await c.create(tenantObj('cols'));
  await c.create(networkObj('cols', 'web', ['10.30.0.0/24']));
  await c.create(networkObj('cols', 'other', ['10.31.0.0/24']));
  await c.create({ apiVersion: V, kind: 'Group', metadata: { name: 'web', tenant: 'cols' }, spec: { selector: { matchLabels: { app: 'web' } } } });
  await c.create(endpointObj('cols', 'web', 'w1', {}, { app: 'web' }));
  await c.create(endpointObj('cols', 'web', 'w2', {}, { app: 'web' }));
  await c.create(endpointObj('cols', 'web', 'd1', {}, { app: 'db' }));
  const nets = ok(await cli(['get', 'networks', '--tenant', 'cols', '-o', 'wide']), 'get networks -o wide').split('\n');
  const header = nets[0].split(/\s{2,}/);
  const allocated = header.indexOf('ALLOCATED');
  assert.ok(allocated > 0, nets[0]);
  const row = (name: string) => nets.find((l) => l.startsWith(`${name} `))!.split(/\s{2,}/);
  assert.equal(row('web')[allocated], '3');
  assert.equal(row('other')[allocated], '0');
  const groups = ok(await cli(['get', 'groups', '--tenant', 'cols']), 'get groups').split('\n');
  const members = groups[0].split(/\s{2,}/).indexOf('MEMBERS');
  assert.equal(groups.find((l) => l.startsWith('web '))!.split(/\s{2,}/)[members], '2');
  const described = ok(await cli(['describe', 'network', 'cols/web']), 'describe');
  assert.match(described, /IPv4 used: +3 of/);
});
