/**
 * Ending the resolvers a killed agent left (src/agent/dns/resolver.ts): only pids from the namespace's
 * pid file whose command line is dnsmasq with that namespace's directory are signalled. A pid file that
 * names anything else (another process, a reused pid, garbage) ends nothing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftover, TenantResolvers } from '../../src/agent/dns/resolver';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/ Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('only the namespace’s own dnsmasq pids are ended; a pid file naming other processes ends nothing', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-dns-'));
  const dir = path.join(base, 'tl-x-h1-t-acme');
  const otherDir = path.join(base, 'tl-x-h1-t-other');
  fs.mkdirSync(dir);
  fs.mkdirSync(otherDir);
  // Stand-ins: their command lines hold the marker and a directory as the resolver's do.
  const mine = spawn('sh', ['-c', 'sleep 30', 'dnsmasq', `--pid-file=${dir}/front.pid`]);
  const foreign = spawn('sh', ['-c', 'sleep 30', 'dnsmasq', `--pid-file=${otherDir}/front.pid`]);
  const unrelated = spawn('sleep', ['30']);
  t.after(() => {
    for (const child of [mine, foreign, unrelated]) child.kill('SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  });
  fs.writeFileSync(path.join(dir, 'pid'), `${foreign.pid}\n${unrelated.pid}\n1\n${process.pid}\nnot-a-pid\n`);
  assert.equal(await stopLeftover(dir), false);
  for (const child of [foreign, unrelated]) assert.ok(alive(child.pid!), 'a process that is not this namespace’s resolver is left alone');
  assert.ok(alive(process.pid));

  fs.writeFileSync(path.join(dir, 'pid'), `${mine.pid}\n${unrelated.pid}\n`);
  const resolvers = new TenantResolvers({ domain: 'cluster.local', dir: base, log: () => undefined });
  assert.equal(await resolvers.endLeftovers('tl-x-h1-'), 1);
  assert.ok(!alive(mine.pid!), 'the namespace’s resolver is ended');
  assert.ok(alive(unrelated.pid!) && alive(foreign.pid!));
  assert.ok(!fs.existsSync(dir) && !fs.existsSync(otherDir), 'the directories of the prefix are removed');
  assert.equal(await stopLeftover(path.join(base, 'missing')), false);
});
