/** The Store conformance suite on the embedded SQLite store, each test on its own database file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../../src/store/sqlite-store';
import { storeConformance } from '../../store/store-conformance';

const dirs: string[] = [];

storeConformance({
  name: 'sqlite',
  teardown: async () => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  },
  open: async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-store-'));
    dirs.push(dir);
    // A short history so the compaction case needs only a few writes.
    return SqliteStore.open(dir, { retainRevisions: 10 });
  },
  // One process is the only writer of a SQLite file: concurrent clients share the store.
  client: async (store) => store,
  // Compaction follows retainRevisions on its own.
  compact: async () => undefined,
});
