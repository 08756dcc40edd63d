/**
 * Real etcd for tests: a single node or a 3-member cluster on 127.0.0.1 with random free ports
 * and throw-away data directories. Members can be killed and restarted by pid; everything is
 * removed on stop(), and on process exit as a last resort.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { EtcdCerts } from './etcd-certs';

export const ETCD_BIN = '/usr/bin/etcd';

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  metricsPort: number;
  dataDir: string;
  process?: ChildProcess;
  /** Last lines of the member's output, for failure messages. */
  log: string[];
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** `host:port` of every member's client URL. */
  hosts: string[];
  /** `etcd://h:p,h:p` for `--store`. */
  spec: string;
  /** SIGKILL one member and wait for it to exit. */
  kill(index: number): Promise<void>;
  /** Start a killed member again on its data directory and wait until it is healthy. */
  restart(index: number): Promise<void>;
  /** Kill every member and remove every data directory. */
  stop(): Promise<void>;
  /** Index of the member that is the raft leader now (asked through etcd's JSON gateway). */
  leaderIndex(): Promise<number>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) if (child.pid !== undefined) killQuietly(child.pid);
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function memberArgs(
  member: EtcdMember,
  cluster: EtcdMember[],
  token: string,
  state: 'new' | 'existing',
  extra: string[],
  tls?: EtcdCerts,
): string[] {
  const peer = (m: EtcdMember) => `http://127.0.0.1:${m.peerPort}`;
  const client = `${tls ? 'https' : 'http'}://127.0.0.1:${member.clientPort}`;
  // Client TLS as docs/ha.md asks for it: clients must present a certificate signed by the CA.
  const tlsArgs = tls
    ? ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth']
    : [];
  return [
    '--name',
    member.name,
    '--data-dir',
    member.dataDir,
    '--listen-client-urls',
    client,
    '--advertise-client-urls',
    client,
    '--listen-peer-urls',
    peer(member),
    '--initial-advertise-peer-urls',
    peer(member),
    '--listen-metrics-urls',
    `http://127.0.0.1:${member.metricsPort}`,
    '--initial-cluster',
    cluster.map((m) => `${m.name}=${peer(m)}`).join(','),
    '--initial-cluster-token',
    token,
    '--initial-cluster-state',
    state,
    '--log-level',
    'warn',
    // What docs/ha.md asks operators for: a cascading delete or a large apply is one txn, as on SQLite.
    '--max-txn-ops',
    '100000',
    '--max-request-bytes',
    String(32 * 1024 * 1024),
    ...tlsArgs,
    ...extra,
  ];
}

function health(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function memberStatus(port: number): Promise<{ self: string; leader: string } | undefined> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v3/maintenance/status', method: 'POST', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        try {
          const parsed = JSON.parse(body) as { header?: { member_id?: string }; leader?: string };
          resolve(parsed.header?.member_id && parsed.leader ? { self: parsed.header.member_id, leader: parsed.leader } : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end('{}');
  });
}

async function waitHealthy(member: EtcdMember, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (member.process && member.process.exitCode !== null) {
      throw new Error(`etcd member ${member.name} exited with ${member.process.exitCode}:\n${member.log.join('\n')}`);
    }
    if (await health(member.metricsPort)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`etcd member ${member.name} not healthy after ${timeoutMs} ms:\n${member.log.join('\n')}`);
}

function launch(member: EtcdMember, args: string[]): void {
  const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  member.process = child;
  live.add(child);
  const keep = (chunk: Buffer) => {
    member.log.push(...chunk.toString().split('\n').filter(Boolean));
    if (member.log.length > 40) member.log.splice(0, member.log.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', () => live.delete(child));
}

async function killMember(member: EtcdMember): Promise<void> {
  const child = member.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) killQuietly(child.pid);
  await exited;
}

/**
 * Starts `size` members (1 or 3) and waits until all are healthy.
 * `extraArgs` go to every member (e.g. auto-compaction settings). With `tls`, clients reach the
 * members over https only and must present a certificate signed by `tls.ca` (peers stay on http:
 * they are all on loopback here). `leaderIndex` asks over plain http and is for non-TLS clusters.
 */
export async function startEtcd(options: { size?: number; extraArgs?: string[]; tls?: EtcdCerts } = {}): Promise<EtcdCluster> {
  installExitHook();
  const size = options.size ?? 1;
  const extra = options.extraArgs ?? [];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-etcd-'));
  dirs.add(root);
  const ports = await distinctPorts(size * 3);
  const members: EtcdMember[] = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientPort: ports[i * 3],
    peerPort: ports[i * 3 + 1],
    metricsPort: ports[i * 3 + 2],
    dataDir: path.join(root, `m${i}`),
    log: [],
  }));
  const token = `tenet-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

  const stop = async () => {
    await Promise.all(members.map(killMember));
    fs.rmSync(root, { recursive: true, force: true });
    dirs.delete(root);
  };

  try {
    for (const m of members) launch(m, memberArgs(m, members, token, 'new', extra, options.tls));
    await Promise.all(members.map((m) => waitHealthy(m)));
  } catch (error) {
    await stop();
    throw error;
  }
  const hosts = members.map((m) => `127.0.0.1:${m.clientPort}`);
  return {
    members,
    hosts,
    spec: `etcd://${hosts.join(',')}`,
    kill: (index) => killMember(members[index]),
    restart: async (index) => {
      const m = members[index];
      await killMember(m);
      launch(m, memberArgs(m, members, token, 'existing', extra, options.tls));
      await waitHealthy(m);
    },
    stop,
    leaderIndex: async () => {
      const statuses = await Promise.all(members.map((m) => memberStatus(m.clientPort)));
      const leader = statuses.find((st) => st !== undefined)?.leader;
      const index = statuses.findIndex((st) => st !== undefined && st.self === leader);
      if (index < 0) throw new Error('no etcd member reports itself as leader');
      return index;
    },
  };
}
