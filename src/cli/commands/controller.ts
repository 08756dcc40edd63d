/**
 * `tenet controller`: the REST API and watch streams over the store. Prints one
 * `tenet controller listening on <url> (data: DIR)` line per listener once it is ready
 * (tests and the lab parse it), logs JSON with pino to stderr, stops cleanly on SIGTERM/SIGINT.
 */
import { assertClusterDomain, DEFAULT_CLUSTER_DOMAIN } from '../../core/dns/records';
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import pino from 'pino';
import { openStore } from '../../store/open-store';
import { buildControllerServer } from '../../controller/server';
import { CliError } from '../context';
import { etcdSecurityFrom, type EtcdFlags } from '../etcd-flags';
import type { EtcdSecurity } from '../../store/etcd-spec';
import { TokenStore } from '../../auth/token-store';
import { ensureAutoTls } from '../../auth/tls';
import { installAuth } from '../../controller/auth/install';
import { installLimits, type LimitOptions } from '../../controller/limits/install'; // [limits]
import { DEFAULT_RATE_LIMITS, DEFAULT_WATCH_LIMITS, RATE_WINDOW_MS, parsePerRole, type PerRole } from '../../core/limits/request-limits';
import { DEFAULT_QUOTA, QUOTA_FIELDS, QUOTA_KINDS, parseQuotaList } from '../../core/limits/quota';

interface LimitFlags {
  rateLimit?: string;
  maxWatches?: string;
  quotaDefault?: string;
}

const perRoleText = (values: PerRole) =>
  Object.entries(values)
    .map(([role, n]) => `${role}=${n}`)
    .join(',');
const quotaText = () => QUOTA_KINDS.map((k) => `${QUOTA_FIELDS[k]}=${DEFAULT_QUOTA[k]}`).join(',');

function limitsFrom(flags: LimitFlags): LimitOptions {
  const parse = <T>(flag: string, text: string | undefined, parser: (text: string) => T): T | undefined => {
    if (text === undefined) return undefined;
    try {
      return parser(text);
    } catch (error) {
      throw new CliError(`${flag} ${text}: ${(error as Error).message}`, 2);
    }
  };
  return {
    rateLimits: parse('--rate-limit', flags.rateLimit, (t) => parsePerRole(t, DEFAULT_RATE_LIMITS)),
    watchLimits: parse('--max-watches', flags.maxWatches, (t) => parsePerRole(t, DEFAULT_WATCH_LIMITS, 1_000_000)),
    quotaDefaults: parse('--quota-default', flags.quotaDefault, parseQuotaList),
  };
}

export interface Listener {
  kind: 'tcp' | 'unix';
  host: string;
  port: number;
  path: string;
}

export function parseListen(text: string): Listener {
  if (text.startsWith('unix:')) {
    const socketPath = text.slice('unix:'.length);
    if (!path.isAbsolute(socketPath)) throw new CliError(`--listen ${text}: a unix socket path must be absolute`, 2);
    return { kind: 'unix', host: '', port: 0, path: socketPath };
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535)
    throw new CliError(`--listen ${text}: expected HOST:PORT (e.g. 127.0.0.1:7400, [::1]:0) or unix:/abs/path.sock`, 2);
  return { kind: 'tcp', host: match[1].replace(/^\[|\]$/g, ''), port, path: '' };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('controller')
    .description('run the controller: REST API, watch streams, IPAM, history (store: SQLite in the data dir, or etcd)')
    .option('--data-dir <dir>', 'data directory (SQLite store)', './tenet-data')
    .option('--listen <addr>', 'HOST:PORT or unix:/abs/path.sock; may be repeated (default 127.0.0.1:7400)', collect, [] as string[])
    .option('--store <spec>', 'sqlite (default) or etcd://host:port[,host:port...]')
    .option('--etcd-ca <file>', "etcd store over TLS: PEM CA that signed the etcd members' certificates")
    .option('--etcd-cert <file>', 'etcd client certificate (PEM), for members started with --client-cert-auth ...')
    .option('--etcd-key <file>', '... and its private key')
    .option('--etcd-user <name>', 'etcd password auth: user name (password from --etcd-password-file or TENET_ETCD_PASSWORD)')
    .option('--etcd-password-file <file>', "file holding the etcd user's password (one line)")
    .option('--log-level <level>', 'pino log level', process.env.TENET_LOG_LEVEL ?? 'info')
    .option(
      '--cluster-domain <domain>',
      'DNS domain of service and endpoint names (env TENET_CLUSTER_DOMAIN; agents learn it from the controller)',
      process.env.TENET_CLUSTER_DOMAIN ?? DEFAULT_CLUSTER_DOMAIN,
    )
    .option('--tls <mode>', '"auto": serve HTTPS with a CA and certificate made in DATA_DIR/tls (clients pin DATA_DIR/tls/ca.crt)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain) ...')
    .option('--tls-key <file>', '... and this PEM private key')
    // [limits] noisy-neighbour limits (docs/controller.md, "Limits")
    .option(
      '--rate-limit <list>',
      `requests per token per ${RATE_WINDOW_MS / 1000} s by role, e.g. viewer=1000,tenant-admin=2000 (defaults: ${perRoleText(DEFAULT_RATE_LIMITS)})`,
    )
    .option('--max-watches <list>', `open watch streams per token by role (defaults: ${perRoleText(DEFAULT_WATCH_LIMITS)})`)
    .option(
      '--quota-default <list>',
      `objects per tenant by kind unless its spec.quota says otherwise, e.g. networks=100,endpoints=5000 (defaults: ${quotaText()})`,
    )
    .action(
      async (
        options: {
          dataDir: string;
          listen: string[];
          store?: string;
          logLevel: string;
          clusterDomain: string;
          tls?: string;
          tlsCert?: string;
          tlsKey?: string;
        } & LimitFlags &
          EtcdFlags,
      ) => {
        const limits = limitsFrom(options); // [limits]
        try {
          assertClusterDomain(options.clusterDomain);
        } catch (error) {
          throw new CliError(`--cluster-domain: ${(error as Error).message}`, 2);
        }
        const etcd = etcdSecurityFrom(options, options.store);
        const listeners = (options.listen.length > 0 ? options.listen : ['127.0.0.1:7400']).map(parseListen);
        if (options.tls !== undefined && options.tls !== 'auto')
          throw new CliError('--tls accepts only "auto" (or give --tls-cert and --tls-key)', 2);
        if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
          throw new CliError('--tls-cert and --tls-key go together', 2);
        if (options.tls && options.tlsCert) throw new CliError('use either --tls auto or --tls-cert/--tls-key', 2);
        const dataDir = path.resolve(options.dataDir);
        let tls: { cert: string; key: string } | undefined;
        if (options.tlsCert && options.tlsKey) {
          try {
            tls = { cert: fs.readFileSync(options.tlsCert, 'utf8'), key: fs.readFileSync(options.tlsKey, 'utf8') };
          } catch (error) {
            throw new CliError(`cannot read the TLS certificate or key: ${(error as Error).message}`, 2);
          }
        } else if (options.tls === 'auto') {
          fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
          const material = await ensureAutoTls(
            dataDir,
            listeners.filter((l) => l.kind === 'tcp').map((l) => l.host),
          );
          tls = { cert: material.cert, key: material.key };
          process.stderr.write(`tenet controller: TLS CA certificate for clients: ${material.caFile}\n`);
        }
        await runController({
          dataDir,
          listeners,
          store: options.store,
          etcd,
          logLevel: options.logLevel,
          tls,
          limits,
          clusterDomain: options.clusterDomain,
        });
      },
    );
}

export async function runController(options: {
  dataDir: string;
  listeners: Listener[];
  store?: string;
  etcd?: EtcdSecurity;
  logLevel: string;
  tls?: { cert: string; key: string };
  limits?: LimitOptions;
  clusterDomain?: string;
}): Promise<void> {
  const logger = pino({ level: options.logLevel, base: { component: 'controller' } }, pino.destination({ fd: 2, sync: false }));
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(options.store, options.dataDir, options.etcd);
  const bookmarkMs = process.env.TENET_WATCH_BOOKMARK_MS ? Number(process.env.TENET_WATCH_BOOKMARK_MS) : undefined;
  const tokens = new TokenStore(store);
  const adminTokenFile = await tokens.ensureBootstrapAdmin(options.dataDir);
  if (adminTokenFile) {
    process.stderr.write(
      `tenet controller: created an admin token in ${adminTokenFile} (mode 0600); use it with TENET_TOKEN or tenet --token\n`,
    );
    logger.warn({ file: adminTokenFile }, 'created the bootstrap admin token');
  }
  const controller = await buildControllerServer({
    store,
    logger,
    bookmarkMs,
    clusterDomain: options.clusterDomain,
    beforeRoutes: async (app, service) => {
      await installAuth(app, service, { tokens });
      await installLimits(app, service, options.limits ?? {}); // [limits] after auth: keyed on the principal
    },
  });
  const servers: (http.Server | https.Server)[] = [];
  const socketFiles: string[] = [];
  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  const stop = (signal: string): Promise<void> => {
    if (stopping) return stopping;
    logger.info({ signal }, 'shutting down');
    stopping = (async () => {
      const closing = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      await controller.close();
      for (const server of servers) server.closeIdleConnections();
      const force = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), 2000);
      await Promise.all(closing);
      clearTimeout(force);
      await store.close();
      for (const file of socketFiles) fs.rmSync(file, { force: true });
      logger.info('stopped');
      logger.flush();
      resolveStopped();
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  const lines: string[] = [];
  try {
    for (const listener of options.listeners) {
      // Unix sockets are guarded by file permissions (0600) and stay plain HTTP.
      const server = controller.createServer(listener.kind === 'tcp' ? options.tls : undefined);
      server.keepAliveTimeout = 65_000;
      servers.push(server);
      if (listener.kind === 'unix') {
        // A socket file left by a controller that was killed would make listen fail with EADDRINUSE.
        if (fs.existsSync(listener.path) && fs.statSync(listener.path).isSocket()) fs.rmSync(listener.path);
        fs.mkdirSync(path.dirname(listener.path), { recursive: true });
        await listen(server, { path: listener.path });
        fs.chmodSync(listener.path, 0o600);
        socketFiles.push(listener.path);
        lines.push(`unix:${listener.path}`);
      } else {
        await listen(server, { host: listener.host, port: listener.port });
        const address = server.address() as AddressInfo;
        const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
        lines.push(`${options.tls ? 'https' : 'http'}://${host}:${address.port}`);
      }
    }
  } catch (error) {
    await stop('startup failure');
    throw new CliError(`cannot listen: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const url of lines) process.stdout.write(`tenet controller listening on ${url} (data: ${options.dataDir})\n`);
  logger.info({ listeners: lines, dataDir: options.dataDir }, 'controller ready');
  await stopped;
}

function listen(server: http.Server | https.Server, options: { host?: string; port?: number; path?: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
