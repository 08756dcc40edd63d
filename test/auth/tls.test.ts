import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ensureAutoTls } from '../../src/auth/tls';

function get(port: number, ca: string | undefined, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port, path: '/', ca, servername }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.statusCode)));
    });
    request.on('error', reject);
  });
}

test('auto TLS: a real HTTPS server verifies against the generated CA, and not against another CA', async (t) => {
  const dirA = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-tls-a-'));
  const dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-tls-b-'));
  t.after(() => {
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  });
  const material = await ensureAutoTls(dirA, []);
  const other = await ensureAutoTls(dirB, []);
  assert.equal(fs.statSync(path.join(dirA, 'tls', 'server.key')).mode & 0o777, 0o600);
  const again = await ensureAutoTls(dirA, []);
  assert.equal(again.cert, material.cert, 'second start reuses the same certificate');

  const server = https.createServer({ cert: material.cert, key: material.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  assert.equal(await get(port, fs.readFileSync(material.caFile, 'utf8')), '200');
  await assert.rejects(get(port, fs.readFileSync(other.caFile, 'utf8')), /self[- ]signed|unable to verify|certificate/i);
  await assert.rejects(get(port, undefined), /self[- ]signed|unable to verify|certificate/i);
});
