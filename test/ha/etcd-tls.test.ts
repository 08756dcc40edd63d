/**
 * The controller on an etcd that asks for what production etcd asks for: client certificates
 * (--client-cert-auth) and password auth with a role limited to Tenet's key prefix. The controller
 * works with the right certificate and password, and is refused - exits non-zero with a clear
 * error, serving nothing - without a client certificate, with a certificate from another CA, over
 * plain http, or with a wrong password.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { TenetClient } from '../../src/client/api-client';
import { API_VERSION } from '../../src/core/model/common';
import { EtcdStore } from '../../src/store/etcd-store';
import { makeEtcdCerts, type EtcdCerts } from '../helpers/etcd-certs';
import { startEtcd, type EtcdCluster } from '../helpers/etcd';
import { startControllerProcess, type ControllerProcess } from './controller-process';

const TENET = path.join(__dirname, '..', '..', '..', 'bin', 'tenet');
const PASSWORD = 'correct horse battery staple';

describe('controller on etcd with client TLS and password auth', () => {
  let dir: string;
  let certs: EtcdCerts;
  let etcd: EtcdCluster;
  let passwordFile: string;
  let wrongPasswordFile: string;
  const controllers: ControllerProcess[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-etcd-tls-'));
    certs = makeEtcdCerts(path.join(dir, 'pki'));
    etcd = await startEtcd({ size: 1, tls: certs });
    passwordFile = path.join(dir, 'etcd-password');
    fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    wrongPasswordFile = path.join(dir, 'wrong-password');
    fs.writeFileSync(wrongPasswordFile, 'not the password\n', { mode: 0o600 });
    // The set-up docs/ha.md describes: a root user (etcd requires one to enable auth) and a
    // `tenet` user whose role may read and write only under /tenet/.
    const admin = new Etcd3({
      hosts: etcd.hosts.map((h) => `https://${h}`),
      credentials: {
        rootCertificate: fs.readFileSync(certs.ca),
        certChain: fs.readFileSync(certs.clientCert),
        privateKey: fs.readFileSync(certs.clientKey),
      },
    });
    try {
      await admin.role('root').create();
      await admin.user('root').create('root-password');
      await admin.user('root').addRole('root');
      await admin.role('tenet').create();
      await admin.role('tenet').grant({ permission: 'Readwrite', range: admin.range({ prefix: '/tenet/' }) });
      await admin.user('tenet').create(PASSWORD);
      await admin.user('tenet').addRole('tenet');
      await admin.auth.authEnable();
      await admin
        .put('/elsewhere/secret')
        .value('not for tenet')
        .catch(() => undefined);
    } finally {
      admin.close();
    }
  });

  after(async () => {
    await Promise.all(controllers.map((c) => c.kill()));
    await etcd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const tlsFlags = (cert = certs.clientCert, key = certs.clientKey) => ['--etcd-ca', certs.ca, '--etcd-cert', cert, '--etcd-key', key];
  const authFlags = (file = passwordFile) => ['--etcd-user', 'tenet', '--etcd-password-file', file];

  it('serves with the client certificate and password; what it writes is in etcd under /tenet', async () => {
    const controller = await startControllerProcess(etcd.spec, [...tlsFlags(), ...authFlags()]);
    controllers.push(controller);
    const client = new TenetClient({ servers: [controller.url], token: controller.token });
    await client.create({ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: 'tls' }, spec: {} });
    const got = await client.get('Tenant', 'tls');
    assert.equal(got.metadata.name, 'tls');

    const store = await EtcdStore.open(etcd.spec, {
      tls: { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) },
      auth: { username: 'tenet', password: PASSWORD },
    });
    try {
      const keys = (await store.range('')).items.map((kv) => kv.key);
      assert.ok(
        keys.some((k) => k.includes('tls')),
        `the tenant is stored in etcd (keys: ${keys.join(', ')})`,
      );
    } finally {
      await store.close();
    }
  });

  /** Starts a controller that must not come up; returns its error (which names the cause). */
  const refused = async (args: string[]): Promise<string> => {
    const error = await startControllerProcess(etcd.spec, args).then(
      (c) => {
        controllers.push(c);
        return undefined;
      },
      (e: Error) => e,
    );
    assert.ok(error, `the controller started with ${args.join(' ')}`);
    assert.match(error.message, /exited with [1-9]/);
    return error.message;
  };

  it('is refused without a client certificate', async () => {
    const message = await refused(['--etcd-ca', certs.ca, ...authFlags()]);
    assert.match(message, /cannot reach etcd/);
  });

  it('is refused with a client certificate from another CA', async () => {
    const message = await refused([...tlsFlags(certs.rogueCert, certs.rogueKey), ...authFlags()]);
    assert.match(message, /cannot reach etcd/);
  });

  it('is refused over plain http', async () => {
    const message = await refused(authFlags());
    assert.match(message, /cannot reach etcd/);
  });

  it('is refused with a wrong password, and the error says authentication failed', async () => {
    const message = await refused([...tlsFlags(), ...authFlags(wrongPasswordFile)]);
    assert.match(message, /cannot reach etcd.*authentication failed/i);
  });

  it('rejects incomplete or misplaced etcd flags as usage errors (exit 2) before connecting', () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, [TENET, 'controller', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'unused'), ...args], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, TENET_ETCD_PASSWORD: '', ...env },
      });
    const cases: [string[], RegExp][] = [
      [['--store', etcd.spec, '--etcd-ca', certs.ca, '--etcd-cert', certs.clientCert], /--etcd-cert and --etcd-key go together/],
      [['--etcd-ca', certs.ca], /need --store etcd:\/\//],
      [['--store', etcd.spec, '--etcd-user', 'tenet'], /needs a password/],
      [['--store', etcd.spec, '--etcd-user', 'te net', '--etcd-password-file', passwordFile], /--etcd-user/],
      [['--store', etcd.spec, '--etcd-ca', path.join(dir, 'missing.crt')], /--etcd-ca .*ENOENT/],
      [['--store', etcd.spec, '--etcd-password-file', passwordFile], /--etcd-password-file needs --etcd-user/],
    ];
    for (const [args, message] of cases) {
      const result = run(args);
      assert.equal(result.status, 2, `${args.join(' ')} exits 2 (got ${result.status}: ${result.stderr})`);
      assert.match(result.stderr, message);
    }
    assert.equal(fs.existsSync(path.join(dir, 'unused', 'admin.token')), false, 'nothing was created');
  });
});
