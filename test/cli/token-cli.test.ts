/**
 * The real `tenet` CLI (bin/tenet) against a real controller: `token create|list|revoke`, where the
 * CLI finds its token (--token, TENET_TOKEN, the default config file under HOME or
 * XDG_CONFIG_HOME, a token-file relative to the config file), and the bootstrap admin token file.
 * Every run gets a HOME of its own so no config file of the machine's user is read.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startController, type RunningController } from '../helpers/controller';
import { send } from '../helpers/http';
import { runCli } from './run-cli';

let controller: RunningController;
let home: string;
/** No server, token, CA or config from the environment; a HOME with nothing in it unless a test puts it there. */
let clean: Record<string, string>;

before(async () => {
  controller = await startController();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-cli-home-'));
  clean = { HOME: home, XDG_CONFIG_HOME: '', TENET_CONFIG: '', TENET_CONTEXT: '', TENET_CA: '', TENET_TOKEN: '' };
});

after(async () => {
  await controller?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

interface TokenJson {
  token?: string;
  id: string;
  role: string;
  tenant?: string;
  createdAt: string;
  expiresAt?: string;
}

const asAdmin = () => ({ ...clean, TENET_TOKEN: controller.adminToken });

async function whoami(token: string): Promise<{ status: number; json: unknown }> {
  const answer = await send(controller.url, 'GET', '/api/v1/whoami', { token });
  return { status: answer.status, json: answer.json };
}

test('tenet token create --role tenant-admin --tenant T --ttl 1h, token list, token revoke ID', async () => {
  const created = await runCli(controller.url, ['token', 'create', '--role', 'tenant-admin', '--tenant', 'shop', '--ttl', '1h'], {
    env: asAdmin(),
  });
  assert.equal(created.code, 0, created.stderr);
  const match = /^(tnt_([a-z0-9]{12})_\S+)\n$/.exec(created.stdout);
  assert.ok(match, `stdout is the token alone: ${JSON.stringify(created.stdout)}`);
  const [, token, id] = match;
  assert.match(created.stderr, new RegExp(`token ${id} \\(tenant-admin of tenant shop\\), expires \\S+: store it now`));
  assert.deepEqual((await whoami(token)).json, { tokenId: id, role: 'tenant-admin', tenant: 'shop' });
  // A tenant-admin token works in the CLI too, and is narrowed: it may read its audit trail, not tokens.
  const audit = await runCli(controller.url, ['audit', '-o', 'json'], { env: { ...clean, TENET_TOKEN: token } });
  assert.equal(audit.code, 0, audit.stderr);
  const forbidden = await runCli(controller.url, ['token', 'list'], { env: { ...clean, TENET_TOKEN: token } });
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /403|[Ff]orbidden|only admins/);

  const json = await runCli(controller.url, ['token', 'create', '--role', 'viewer', '--tenant', 'shop', '--ttl', '1h', '-o', 'json'], {
    env: asAdmin(),
  });
  assert.equal(json.code, 0, json.stderr);
  const viewer = JSON.parse(json.stdout) as TokenJson;
  assert.equal(viewer.role, 'viewer');
  assert.equal(Date.parse(viewer.expiresAt!) - Date.parse(viewer.createdAt), 3_600_000, '--ttl 1h');

  const table = await runCli(controller.url, ['token', 'list'], { env: asAdmin() });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ID\s+ROLE\s+SCOPE\s+CREATED\s+EXPIRES\s+DESCRIPTION/);
  assert.match(table.stdout, new RegExp(`^${id}\\s+tenant-admin\\s+shop\\s+\\S+\\s+\\d{4}-\\S+`, 'm'));
  assert.match(table.stdout, new RegExp(`^${viewer.id}\\s+viewer\\s+shop\\s`, 'm'));
  const listed = await runCli(controller.url, ['token', 'list', '-o', 'json'], { env: asAdmin() });
  assert.equal(listed.code, 0, listed.stderr);
  const items = (JSON.parse(listed.stdout) as { items: Record<string, unknown>[] }).items;
  assert.ok(items.some((t) => t.id === id));
  assert.ok(
    items.every((t) => !('token' in t) && !('secretHash' in t)),
    'no secrets or hashes',
  );
  for (const full of [token, viewer.token!]) {
    // The secret is everything after `tnt_<id>_`: it is base64url, so it may hold '_' itself (splitting on
    // '_' once took a fragment of it, sometimes empty, which every output "includes").
    const secret = full.slice(full.indexOf('_', 'tnt_'.length) + 1);
    assert.ok(secret.length >= 32, `a whole secret: ${JSON.stringify(secret)}`);
    assert.ok(!listed.stdout.includes(secret) && !table.stdout.includes(secret));
  }

  const revoked = await runCli(controller.url, ['token', 'revoke', id], { env: asAdmin() });
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, `token ${id} revoked\n`);
  assert.equal((await whoami(token)).status, 401, 'the revoked token is refused');
  const after = await runCli(controller.url, ['token', 'list', '-o', 'json'], { env: asAdmin() });
  assert.ok(!(JSON.parse(after.stdout) as { items: { id: string }[] }).items.some((t) => t.id === id), 'gone from the list');
  const again = await runCli(controller.url, ['token', 'revoke', id], { env: asAdmin() });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not found/);

  const badTtl = await runCli(controller.url, ['token', 'create', '--role', 'viewer', '--tenant', 'shop', '--ttl', 'forever'], {
    env: asAdmin(),
  });
  assert.equal(badTtl.code, 2);
  const badRole = await runCli(controller.url, ['token', 'create', '--role', 'root'], { env: asAdmin() });
  assert.notEqual(badRole.code, 0);
});

test('--token is used, and wins over TENET_TOKEN; without any token the controller answers 401', async () => {
  const flag = await runCli(controller.url, ['--token', controller.adminToken, 'token', 'list', '-o', 'json'], { env: clean });
  assert.equal(flag.code, 0, flag.stderr);
  const afterCommand = await runCli(controller.url, ['token', 'list', '--token', controller.adminToken, '-o', 'json'], { env: clean });
  assert.equal(afterCommand.code, 0, `--token after the command name: ${afterCommand.stderr}`);
  const wins = await runCli(controller.url, ['--token', 'tnt_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'token', 'list'], {
    env: asAdmin(),
  });
  assert.equal(wins.code, 1, 'the flag, not the valid TENET_TOKEN, was sent');
  assert.match(wins.stderr, /401|[Uu]nauthorized|bearer token/);
  const none = await runCli(controller.url, ['token', 'list'], { env: clean });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /401|[Uu]nauthorized|bearer token/);
});

function writeConfig(dir: string, lines: string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, [...lines, ''].join('\n'), { mode: 0o600 });
  return file;
}

test('the default config file ~/.config/tenet/config.yaml, $XDG_CONFIG_HOME instead, and a token-file relative to it', async (t) => {
  const homeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-cli-home-'));
  t.after(() => fs.rmSync(homeDir, { recursive: true, force: true }));
  const viewer = (
    await send(controller.url, 'POST', '/api/v1/tokens', { token: controller.adminToken, body: { role: 'viewer', tenant: 'shop' } })
  ).json as { token: string };
  const env = { ...clean, HOME: homeDir, TENET_SERVER: '' };

  // ~/.config/tenet/config.yaml with a token-file next to it, named relatively.
  const configDir = path.join(homeDir, '.config', 'tenet');
  writeConfig(configDir, [
    'current-context: main',
    'contexts:',
    '  - name: main',
    `    server: ${controller.url}`,
    '    token-file: admin.token',
  ]);
  fs.writeFileSync(path.join(configDir, 'admin.token'), `${controller.adminToken}\n`, { mode: 0o600 });
  const fromHome = await runCli('', ['token', 'list', '-o', 'json'], { env });
  assert.equal(fromHome.code, 0, `server and token from ~/.config/tenet/config.yaml: ${fromHome.stderr}`);

  // A token-file in a subdirectory, relative to the config file, from a config named by TENET_CONFIG.
  const named = writeConfig(path.join(homeDir, 'named'), [
    'current-context: c',
    'contexts:',
    '  - name: c',
    `    server: ${controller.url}`,
    '    token-file: secrets/admin.token',
  ]);
  fs.mkdirSync(path.join(homeDir, 'named', 'secrets'));
  fs.writeFileSync(path.join(homeDir, 'named', 'secrets', 'admin.token'), controller.adminToken, { mode: 0o600 });
  const relative = await runCli('', ['token', 'list', '-o', 'json'], { env: { ...env, TENET_CONFIG: named } });
  assert.equal(relative.code, 0, `token-file relative to the config file: ${relative.stderr}`);
  const missing = writeConfig(path.join(homeDir, 'missing'), [
    'current-context: c',
    'contexts:',
    '  - name: c',
    `    server: ${controller.url}`,
    '    token-file: admin.token',
  ]);
  const notInCwd = await runCli('', ['token', 'list'], { env: { ...env, TENET_CONFIG: missing } });
  assert.equal(notInCwd.code, 2, 'a missing token-file is a usage error naming the path it tried');
  assert.match(
    notInCwd.stderr,
    new RegExp(`cannot read ${path.join(homeDir, 'missing', 'admin.token').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
  );

  // $XDG_CONFIG_HOME/tenet/config.yaml replaces ~/.config: its viewer token may not list tokens.
  const xdg = path.join(homeDir, 'xdg');
  writeConfig(path.join(xdg, 'tenet'), [
    'current-context: v',
    'contexts:',
    '  - name: v',
    `    server: ${controller.url}`,
    `    token: ${viewer.token}`,
  ]);
  const fromXdg = await runCli('', ['token', 'list'], { env: { ...env, XDG_CONFIG_HOME: xdg } });
  assert.equal(fromXdg.code, 1, 'the XDG config (a viewer) was used, not ~/.config (an admin)');
  assert.match(fromXdg.stderr, /403|[Ff]orbidden|only admins/);
  const xdgAudit = await runCli('', ['get', 'tenants', '-o', 'json'], { env: { ...env, XDG_CONFIG_HOME: xdg } });
  assert.equal(xdgAudit.code, 0, xdgAudit.stderr);

  // Flags and environment still win over the file.
  const override = await runCli('', ['--token', viewer.token, 'token', 'list'], { env });
  assert.equal(override.code, 1, '--token wins over the config file');
});

test('the bootstrap admin token: DATA/admin.token with mode 0600, announced once on stderr', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-cli-data-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  fs.rmSync(dataDir, { recursive: true });
  const first = await startController({ dataDir });
  const file = path.join(dataDir, 'admin.token');
  try {
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'admin.token is 0600');
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700, 'the data dir is 0700');
    assert.match(fs.readFileSync(file, 'utf8'), /^tnt_[a-z0-9]{12}_\S+\n?$/);
    assert.ok(first.logs().includes(`tenet controller: created an admin token in ${file} (mode 0600)`), first.logs());
    const works = await runCli(first.url, ['token', 'list', '-o', 'json'], {
      env: { ...clean, TENET_TOKEN: fs.readFileSync(file, 'utf8').trim() },
    });
    assert.equal(works.code, 0, works.stderr);
  } finally {
    await first.stop();
  }
  const before = fs.readFileSync(file, 'utf8');
  const second = await startController({ dataDir });
  try {
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'written once');
    assert.ok(!second.logs().includes('created an admin token'), 'nothing new to announce');
  } finally {
    await second.stop();
  }
});
