/**
 * The flow export (src/agent/flows/export.ts, docs/observability.md "Export"): JSON lines to a file
 * made 0600 or to a collector's unix socket; bounded and counted when the writer cannot keep up; and
 * the attacker's side: a symlink, another user's file, a hard link, a path that is not absolute, or a
 * socket another user planted in a directory anyone may write to are refused.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { checkExportSocket, FlowExport, openExportFile, parseExportTarget } from '../../../src/agent/flows/export';
import type { FlowRecord } from '../../../src/core/flows/record-types';

const record = (seq: number, label = 'x'): FlowRecord => ({
  seq,
  time: new Date(0).toISOString(),
  host: 'h1',
  tenant: 't',
  type: 'deny',
  verdict: 'denied',
  protocol: 'udp',
  from: { address: '10.0.0.2', endpoint: 'a', labels: { note: label } },
  to: { address: '10.0.0.3', port: 53 },
});

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-export-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const quiet = () => undefined;

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('targets: a file or unix:PATH, absolute and normalized; anything else is refused with the reason', () => {
  assert.deepEqual(parseExportTarget('/var/log/tenet/flows.jsonl'), { kind: 'file', path: '/var/log/tenet/flows.jsonl' });
  assert.deepEqual(parseExportTarget('unix:/run/vector/tenet.sock'), { kind: 'unix', path: '/run/vector/tenet.sock' });
  for (const bad of [
    'flows.jsonl',
    'unix:relative.sock',
    '/var/log/../../etc/shadow',
    '/var/log/',
    '/tmp/a\nb',
    `unix:/${'x'.repeat(120)}`,
    '',
  ])
    assert.throws(() => parseExportTarget(bad), /--flow-export/, JSON.stringify(bad));
});

test('a file: one JSON object per line, 0600 even when it existed wider, newlines in values stay inside their line', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'flows.jsonl');
  fs.writeFileSync(file, '', { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  const exporter = new FlowExport({ kind: 'file', path: file }, quiet);
  t.after(() => exporter.close());
  for (let i = 1; i <= 100; i++) exporter.write(record(i, i === 7 ? 'two\nlines' : 'x'));
  await until(() => exporter.exported === 100);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 100);
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as FlowRecord).seq),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  assert.equal((JSON.parse(lines[6]) as FlowRecord).from.labels?.note, 'two\nlines');
  assert.equal(exporter.dropped, 0);
});

test('a file is rotated once at its size bound (PATH.1), and the new file is made with the same checks', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'flows.jsonl');
  const exporter = new FlowExport({ kind: 'file', path: file }, quiet, { maxBytes: 2000 });
  t.after(() => exporter.close());
  for (let i = 1; i <= 30; i++) {
    exporter.write(record(i));
    await until(() => exporter.exported === i);
  }
  const rotated = fs.readFileSync(`${file}.1`, 'utf8').trimEnd().split('\n');
  const current = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.ok(fs.statSync(`${file}.1`).size >= 2000 && fs.statSync(file).size < 2000 + 300);
  const seqs = [...rotated, ...current].map((l) => (JSON.parse(l) as FlowRecord).seq);
  assert.deepEqual(
    seqs.slice(-current.length),
    current.map((l) => (JSON.parse(l) as FlowRecord).seq),
  );
  assert.equal(seqs[seqs.length - 1], 30);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('the queue is bounded: what a slow writer cannot take is dropped and counted exactly, never buffered without end', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'flows.jsonl');
  const exporter = new FlowExport({ kind: 'file', path: file }, quiet, { maxQueue: 100 });
  t.after(() => exporter.close());
  // One synchronous burst: the first write is in flight, 100 wait, the rest do not fit.
  for (let i = 1; i <= 5000; i++) exporter.write(record(i));
  await until(() => exporter.queued === 0 && exporter.exported + exporter.dropped === 5000);
  assert.ok(exporter.dropped >= 4800, `${exporter.dropped} dropped`);
  assert.equal(fs.readFileSync(file, 'utf8').trimEnd().split('\n').length, exporter.exported);
});

test('the attacker: a symlink, another user`s file, a hard link are refused; nothing is written through them', (t) => {
  const dir = tempDir(t);
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'precious\n', { mode: 0o600 });
  const link = path.join(dir, 'link.jsonl');
  fs.symlinkSync(target, link);
  assert.throws(() => openExportFile(link), /symbolic link/);
  const hard = path.join(dir, 'hard.jsonl');
  fs.linkSync(target, hard);
  assert.throws(() => openExportFile(hard), /hard link/);
  assert.equal(fs.readFileSync(target, 'utf8'), 'precious\n');
  if (process.getuid?.() === 0) {
    const foreign = path.join(dir, 'foreign.jsonl');
    fs.writeFileSync(foreign, '');
    fs.chownSync(foreign, 65534, 65534);
    assert.throws(() => openExportFile(foreign), /owned by uid 65534/);
  }
  assert.throws(() => openExportFile(dir), /not a regular file|EISDIR/);
});

test('a collector socket: lines arrive, the export reconnects after the collector restarts, a planted socket is refused', async (t) => {
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o700);
  const socketPath = path.join(dir, 'collector.sock');
  const lines: string[] = [];
  const connections = new Set<net.Socket>();
  const listen = async () => {
    const server = net.createServer((c) => {
      connections.add(c);
      c.on('close', () => connections.delete(c));
      let pending = '';
      c.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        lines.push(...parts);
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return server;
  };
  const stop = (server: net.Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const c of connections) c.destroy();
    });
  let server = await listen();
  const exporter = new FlowExport({ kind: 'unix', path: socketPath }, quiet);
  t.after(() => exporter.close());
  await until(() => {
    exporter.write(record(lines.length + 1));
    return lines.length > 0;
  });
  const first = lines.length;
  // The collector restarts: the export connects again, what came meanwhile is queued (bounded) and sent.
  await stop(server);
  await new Promise((resolve) => setTimeout(resolve, 100));
  server = await listen();
  t.after(() => stop(server));
  for (let i = 0; i < 10; i++) exporter.write(record(1000 + i));
  await until(() => lines.some((l) => (JSON.parse(l) as FlowRecord).seq === 1009), 8000);
  assert.ok(lines.length > first);

  // A socket another user made in a directory anyone may write to: it could be anyone's, and it would read every tenant's records.
  if (process.getuid?.() === 0) {
    const open = tempDir(t);
    fs.chmodSync(open, 0o1777);
    const planted = path.join(open, 'planted.sock');
    const plantedServer = net.createServer();
    await new Promise<void>((resolve) => plantedServer.listen(planted, resolve));
    t.after(() => plantedServer.close());
    fs.chownSync(planted, 65534, 65534);
    assert.throws(() => checkExportSocket(planted), /another user's, in a directory others may write to/);
    // The same socket in a directory only its owner may write to is the operator's choice.
    fs.chmodSync(open, 0o755);
    fs.chownSync(open, 65534, 65534);
    assert.doesNotThrow(() => checkExportSocket(planted));
  }
  const notSocket = path.join(dir, 'file');
  fs.writeFileSync(notSocket, '');
  assert.throws(() => checkExportSocket(notSocket), /not a socket/);
  const symlink = path.join(dir, 'link.sock');
  fs.symlinkSync(socketPath, symlink);
  assert.throws(() => checkExportSocket(symlink), /symbolic link/);
});
