/**
 * A real controller with --tls auto, and one with --tls-cert/--tls-key made by openssl, and the real
 * CLI: the right CA (flag, env or config file context) works; another CA or none is refused with a
 * clear error and a non-zero exit; the right CA without any token reaches the controller (401).
 */
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startController } from '../helpers/controller';
import { runCli } from '../cli/run-cli';
import { ensureAutoTls } from '../../src/auth/tls';

test('tenet verifies the controller against its CA: right CA works, another CA fails clearly', async (t) => {
  const controller = await startController({ extraArgs: ['--tls', 'auto'] });
  t.after(() => controller.stop());
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-other-ca-'));
  t.after(() => fs.rmSync(otherDir, { recursive: true, force: true }));
  assert.match(controller.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(controller.caFile, 'the controller wrote its CA');
  const other = await ensureAutoTls(otherDir, []);

  const good = await runCli(controller.url, ['--ca-file', controller.caFile!, 'get', 'tenants', '-o', 'json']);
  assert.equal(good.code, 0, good.stderr);
  assert.deepEqual(JSON.parse(good.stdout).items, []);
  const viaEnv = await runCli(controller.url, ['get', 'tenants'], { env: { TENET_CA: controller.caFile! } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);

  const wrong = await runCli(controller.url, ['--ca-file', other.caFile, 'get', 'tenants']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /TLS certificate is not trusted/);
  assert.match(wrong.stderr, /--ca-file/);
  const none = await runCli(controller.url, ['get', 'tenants']);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /not trusted/);

  // A config file context carries server, token and CA; --context picks it, TENET_CONFIG points at the file.
  const config = path.join(otherDir, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      'current-context: broken',
      'contexts:',
      `  - name: broken`,
      `    server: ${controller.url}`,
      `    token: ${controller.adminToken}`,
      `    ca-file: ${other.caFile}`,
      `  - name: lab`,
      `    server: ${controller.url}`,
      `    token: ${controller.adminToken}`,
      `    ca-file: ${controller.caFile}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const env = { TENET_CONFIG: config, TENET_SERVER: '', TENET_TOKEN: '', TENET_CA: '' };
  const byContext = await runCli('', ['--context', 'lab', 'get', 'tenants', '-o', 'json'], { env });
  assert.equal(byContext.code, 0, byContext.stderr);
  const current = await runCli('', ['get', 'tenants'], { env });
  assert.notEqual(current.code, 0, 'the current context has the wrong CA');
  assert.match(current.stderr, /not trusted/);
  const missing = await runCli('', ['--context', 'nope', 'get', 'tenants'], { env });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no context named "nope"/);
  const absentConfig = await runCli(controller.url, ['--ca-file', controller.caFile!, 'get', 'tenants'], {
    env: { TENET_TOKEN: '', TENET_CONFIG: path.join(otherDir, 'absent.yaml') },
  });
  assert.equal(absentConfig.code, 2, 'TENET_CONFIG naming a missing file is a usage error');
  assert.match(absentConfig.stderr, /absent\.yaml does not exist/);

  // The right CA and no token anywhere (no flag, env or config file): TLS is fine, the controller says 401.
  const emptyHome = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-empty-home-'));
  t.after(() => fs.rmSync(emptyHome, { recursive: true, force: true }));
  const noToken = await runCli(controller.url, ['--ca-file', controller.caFile!, 'get', 'tenants'], {
    env: { TENET_TOKEN: '', TENET_CONFIG: '', TENET_CONTEXT: '', XDG_CONFIG_HOME: '', HOME: emptyHome },
  });
  assert.equal(noToken.code, 1, noToken.stderr);
  assert.doesNotMatch(noToken.stderr, /not trusted|does not exist/);
  assert.match(noToken.stderr, /bearer token is required/);
});

/** Runs openssl with an argument vector (never a shell string). */
function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made by openssl in `dir`. */
function makeCertificates(dir: string, name: string): { ca: string; cert: string; key: string } {
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', `/CN=${name} test CA`]);
  openssl(['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '2',
    '-extfile',
    file('ext.cnf'),
  ]);
  return { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

test('tenet controller --tls-cert/--tls-key serves a certificate made elsewhere; the CLI verifies it against its CA', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-own-certs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mine = makeCertificates(dir, 'mine');
  const other = makeCertificates(dir, 'other');
  const controller = await startController({ extraArgs: ['--tls-cert', mine.cert, '--tls-key', mine.key] });
  t.after(() => controller.stop());
  assert.match(controller.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(fs.existsSync(path.join(controller.dataDir, 'tls')), false, 'no certificates of its own were made');

  const good = await runCli(controller.url, ['--ca-file', mine.ca, 'get', 'tenants', '-o', 'json']);
  assert.equal(good.code, 0, good.stderr);
  assert.deepEqual(JSON.parse(good.stdout).items, []);
  const wrong = await runCli(controller.url, ['--ca-file', other.ca, 'get', 'tenants']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /TLS certificate is not trusted/);
  const none = await runCli(controller.url, ['get', 'tenants']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /not trusted/);

  const half = await runCli('', ['controller', '--data-dir', path.join(dir, 'data'), '--listen', '127.0.0.1:0', '--tls-cert', mine.cert]);
  assert.equal(half.code, 2, 'a certificate without its key is a usage error');
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  const unreadable = await runCli('', [
    'controller',
    '--data-dir',
    path.join(dir, 'data'),
    '--listen',
    '127.0.0.1:0',
    '--tls-cert',
    mine.cert,
    '--tls-key',
    path.join(dir, 'absent.key'),
  ]);
  assert.equal(unreadable.code, 2);
  assert.match(unreadable.stderr, /cannot read the TLS certificate or key/);
});
