/**
 * Parses the `--store etcd://host:port,host:port[/prefix]` spec. Kept apart from the store so
 * the CLI can reject a bad spec before any connection is attempted.
 */

export interface EtcdSpec {
  /** `host:port` of every member the client may talk to. */
  hosts: string[];
  /** Every Tenet key lives under this prefix, so several installations can share one etcd. */
  prefix: string;
}

/**
 * How the controller proves itself to etcd and checks etcd's certificate. Plain data (file contents,
 * not paths), so the CLI reads the files and reports a missing one before any connection.
 */
export interface EtcdSecurity {
  /** Client TLS: `ca` verifies the members' certificates (the system roots when absent); `cert`+`key` is our client certificate. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd password auth: exchanged for a token by the client, renewed when it expires. */
  auth?: { username: string; password: string };
}

/** etcd's user names are free text; ours reach gRPC metadata only, but keep them printable and short. */
export const ETCD_USER = /^[A-Za-z0-9._@-]{1,128}$/;

export const DEFAULT_ETCD_PREFIX = '/tenet';

const HOST_PORT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$/;
const PREFIX = /^(?:\/[A-Za-z0-9._-]+)+$/;

export function isEtcdSpec(spec: string): boolean {
  return spec.startsWith('etcd://');
}

export function parseEtcdSpec(spec: string): EtcdSpec {
  if (!isEtcdSpec(spec)) throw new Error(`etcd store spec must start with etcd:// (got ${JSON.stringify(spec)})`);
  const rest = spec.slice('etcd://'.length);
  const slash = rest.indexOf('/');
  const hostList = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? DEFAULT_ETCD_PREFIX : rest.slice(slash).replace(/\/+$/, '');
  const hosts = hostList.split(',').filter((h) => h !== '');
  if (hosts.length === 0)
    throw new Error(`etcd store spec ${JSON.stringify(spec)} names no host; use etcd://host:port[,host:port...][/prefix]`);
  for (const host of hosts) {
    const match = HOST_PORT.exec(host);
    const port = match ? Number(match[1]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw new Error(`etcd store spec: ${JSON.stringify(host)} is not host:port; use etcd://host:port[,host:port...][/prefix]`);
    }
  }
  if (!PREFIX.test(prefix)) {
    throw new Error(
      `etcd store spec: key prefix ${JSON.stringify(prefix)} must be /segment[/segment...] of letters, digits, '.', '_' or '-'`,
    );
  }
  return { hosts, prefix };
}
