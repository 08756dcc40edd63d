/**
 * The README's main job, `tenet lab demo`, run for real under a unique lab name: two tenants on
 * identical subnets talk inside and never across, then a policy narrows one tenant exactly as explain says.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { uniqueStem, deleteNetnsWithPrefix, netnsWithPrefix } from '../../helpers/netns';
import { labDown } from '../../../src/lab/lab';
import { labNetnsPrefix, loadLab } from '../../../src/lab/state';

const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'tenet');

test('tenet lab demo: isolation matrix, then a policy shown by real probes and explain; down leaves nothing', async (t) => {
  const name = uniqueStem('d');
  t.after(async () => {
    await labDown(name).catch(() => undefined);
    await deleteNetnsWithPrefix(labNetnsPrefix(name));
  });
  const { stdout } = await promisify(execFile)(BIN, ['lab', 'demo', '--name', name], {
    env: { ...process.env, TENET_LOG_LEVEL: 'warn' },
    maxBuffer: 1 << 22,
  });

  assert.match(stdout, /inside each tenant: 144\/144 probes succeeded; between tenants: 0\/192 succeeded/);
  // Identical addresses in both tenants.
  assert.match(stdout, /blue-db1 +h3 +blue\/back +10\.10\.2\.21/);
  assert.match(stdout, /green-db1 +h3 +green\/back +10\.10\.2\.21/);

  // After the policy: blue-db1 accepts only tcp/80 from blue-api1 (cells are icmp, tcp/80, udp/53).
  const policyTable = stdout.slice(stdout.indexOf('policy: in tenant blue'));
  const header = policyTable.split('\n')[1].trim().split(/\s+/);
  const dbColumn = header.indexOf('blue-db1');
  assert.ok(dbColumn >= 0, policyTable);
  const cell = (row: string) =>
    policyTable
      .split('\n')
      .find((line) => line.startsWith(`${row} `))!
      .trim()
      .split(/\s+/)[dbColumn + 2]; // name, (tenant@host), then one cell per column
  assert.equal(cell('blue-web1'), '---');
  assert.equal(cell('blue-web2'), '---');
  assert.equal(cell('blue-api1'), '-+-');
  assert.match(
    stdout,
    /\(10\.10\.2\.22\) -> .*\(10\.10\.2\.21\) tcp\/80: ALLOWED\n.*\n {2}ingress: allow by tenant tier, Policy blue\/db-only-from-api/,
  );
  assert.match(stdout, /\(10\.10\.1\.11\) -> .*\(10\.10\.2\.21\) tcp\/80: DENIED/);

  assert.ok(loadLab(name));
  await promisify(execFile)(BIN, ['lab', 'down', '--name', name]);
  assert.deepEqual(netnsWithPrefix(labNetnsPrefix(name)), []);
  assert.equal(loadLab(name), undefined);
});
