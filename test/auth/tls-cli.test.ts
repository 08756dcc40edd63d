/**
 * A real controller with --tls auto and the real CLI: the right CA (flag, env or config file
 * context) works; another CA or none is refused with a clear error and a non-zero exit.
 */
import { test } from 'node:test';
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
  const noToken = await runCli(controller.url, ['--ca-file', controller.caFile!, 'get', 'tenants'], { env: { TENET_TOKEN: '', TENET_CONFIG: path.join(otherDir, 'absent.yaml') } });
  assert.equal(noToken.code, 2, 'TENET_CONFIG naming a missing file is a usage error');
});
