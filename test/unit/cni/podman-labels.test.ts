/**
 * Where tenet-cni finds a podman container's labels (podman passes none to CNI): the database path
 * from podman's configuration files, and a bbolt reader that refuses what it cannot trust.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoltFormatError, BoltReader } from '../../../src/cni/boltdb';
import { podmanDatabase, podmanLabels, tomlString } from '../../../src/cni/podman';

test('the database path follows CONTAINERS_STORAGE_CONF (graphroot) and CONTAINERS_CONF (static_dir)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-podman-conf-'));
  try {
    const storage = path.join(dir, 'storage.conf');
    const containers = path.join(dir, 'containers.conf');
    fs.writeFileSync(
      storage,
      '[storage]\ndriver = "overlay"\ngraphroot = "/srv/podman/storage" # comment\nrunroot = "/run/x"\n[storage.options]\ngraphroot = "/not/this"\n',
    );
    assert.equal(podmanDatabase({ CONTAINERS_STORAGE_CONF: storage }), '/srv/podman/storage/libpod/bolt_state.db');
    fs.writeFileSync(containers, '[containers]\nstatic_dir = "/not/this/either"\n[engine]\nstatic_dir = "/srv/podman/static"\n');
    assert.equal(podmanDatabase({ CONTAINERS_STORAGE_CONF: storage, CONTAINERS_CONF: containers }), '/srv/podman/static/bolt_state.db');
    // Relative or odd paths are not followed.
    fs.writeFileSync(storage, '[storage]\ngraphroot = "relative/dir"\n');
    assert.equal(
      podmanDatabase({ CONTAINERS_STORAGE_CONF: storage, CONTAINERS_CONF: 'relative.conf' }),
      '/var/lib/containers/storage/libpod/bolt_state.db',
    );
    assert.equal(tomlString('[engine]\nstatic_dir = "a\\"b"\n', 'engine', 'static_dir'), undefined, 'escapes are not guessed at');
    // The paths come from the caller's environment: a device or a FIFO is not read (it would never end).
    assert.equal(
      podmanDatabase({ CONTAINERS_STORAGE_CONF: '/dev/zero', CONTAINERS_CONF: '/dev/urandom' }),
      '/var/lib/containers/storage/libpod/bolt_state.db',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a database that is not a consistent bbolt file gives no labels and no crash', async () => {
  assert.throws(() => new BoltReader(Buffer.alloc(10)), BoltFormatError);
  assert.throws(() => new BoltReader(crypto.randomBytes(64 * 1024)), BoltFormatError);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-podman-db-'));
  try {
    fs.mkdirSync(path.join(dir, 'libpod'));
    const storage = path.join(dir, 'storage.conf');
    fs.writeFileSync(storage, `[storage]\ngraphroot = "${dir}"\n`);
    const id = 'a'.repeat(64);
    assert.equal(await podmanLabels(id, { CONTAINERS_STORAGE_CONF: storage }), undefined, 'no database');
    fs.writeFileSync(path.join(dir, 'libpod', 'bolt_state.db'), crypto.randomBytes(16 * 4096));
    assert.equal(await podmanLabels(id, { CONTAINERS_STORAGE_CONF: storage }), undefined, 'garbage');
    assert.equal(await podmanLabels('../../etc/passwd', { CONTAINERS_STORAGE_CONF: storage }), undefined, 'not a container id');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
