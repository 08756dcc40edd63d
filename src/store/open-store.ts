/**
 * Opens the store named on the command line. `sqlite` (or nothing) is the embedded store in the
 * data directory; `sqlite:/abs/dir` puts it elsewhere. The etcd store plugs in here as `etcd://host:port,...`.
 */
import { isEtcdSpec, type EtcdSecurity } from './etcd-spec';
import { SqliteStore } from './sqlite-store';
import type { Store } from './store';

/** `etcd` (TLS, auth) applies to an etcd store only; asking for it with SQLite is an error, not a silent no-op. */
export async function openStore(spec: string | undefined, dataDir: string, etcd?: EtcdSecurity): Promise<Store> {
  const text = (spec ?? 'sqlite').trim();
  if (etcd && (etcd.tls || etcd.auth) && !isEtcdSpec(text))
    throw new Error('etcd TLS/auth options need an etcd store (--store etcd://...)');
  if (text === 'sqlite' || text === '') return SqliteStore.open(dataDir, { retainRevisions: retainFromEnv() });
  if (isEtcdSpec(text)) {
    // Loaded only when asked for: the etcd client (gRPC, protobuf) costs a quarter second of start-up.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { EtcdStore } = require('./etcd-store') as typeof import('./etcd-store');
    return EtcdStore.open(text, etcd);
  }
  if (text.startsWith('sqlite:')) return SqliteStore.open(text.slice('sqlite:'.length), { retainRevisions: retainFromEnv() });
  throw new Error(`unknown store "${text}": use sqlite, sqlite:/path/to/dir or etcd://host:port[,host:port...]`);
}

/** Tests shrink the watch history to provoke 410 Gone without writing 100,000 revisions. */
function retainFromEnv(): number | undefined {
  const text = process.env.TENET_RETAIN_REVISIONS;
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`TENET_RETAIN_REVISIONS must be a positive integer (got "${text}")`);
  return value;
}
