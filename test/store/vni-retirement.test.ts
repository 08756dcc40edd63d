/** The VNI retirement sequence on SQLite (two services on one file) and on etcd (two clients of one cluster). */
import { after, before, describe, it } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SqliteStore } from '../../src/store/sqlite-store';
import { EtcdStore } from '../../src/store/etcd-store';
import { startEtcd, type EtcdCluster } from '../helpers/etcd';
import { vniRetirementScenario } from './vni-retirement-scenario';

describe('VNI retirement', () => {
  it('sqlite: several controllers and restarts keep a retired VNI until every host confirms', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-vni-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    // SQLite is one file owned by one process: the "controllers" share one store object, each with its own service.
    const shared = await SqliteStore.open(dir);
    const stops: (() => Promise<void> | void)[] = [];
    try {
      await vniRetirementScenario(
        async () => shared,
        async () => undefined,
        (fn) => stops.push(fn),
      );
    } finally {
      for (const stop of stops) await stop();
      await shared.close();
    }
  });

  describe('etcd', () => {
    let etcd: EtcdCluster | undefined;
    before(async () => {
      etcd = await startEtcd({ size: 1 });
    });
    after(async () => {
      await etcd?.stop();
    });
    it('several controllers (one etcd client each) and restarts keep a retired VNI until every host confirms', async (t) => {
      const prefix = `/t${randomBytes(4).toString('hex')}`;
      await vniRetirementScenario(
        () => EtcdStore.open({ hosts: etcd!.hosts, prefix }),
        (store) => store.close(),
        (fn) => t.after(fn),
      );
    });
  });
});
