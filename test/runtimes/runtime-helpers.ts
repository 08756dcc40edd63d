/**
 * Real container runtimes for tests, each confined to a temp dir (RECIPES.md): a busybox image built
 * from busybox-static, podman with the CNI backend and runc, containerd with its own root/state/socket,
 * dockerd with its own data-root/exec-root/socket. Every process is started and stopped by pid.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** The runtime cannot start on this machine (tests skip with this message). */
export class RuntimeUnavailable extends Error {}

export async function which(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const full = path.join(dir, command);
    if (fs.existsSync(full)) return full;
  }
  return undefined;
}

/** A root filesystem with busybox and one symlink per applet (RECIPES.md, podman). */
export function busyboxRootfs(dir: string): string {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  return rootfs;
}

export async function finishRootfs(rootfs: string): Promise<void> {
  const { stdout } = await run(path.join(rootfs, 'bin', 'busybox'), ['--list']);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    const link = path.join(rootfs, 'bin', applet);
    if (!fs.existsSync(link)) fs.symlinkSync('busybox', link);
  }
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
}

/** Writes a tar of the rootfs (for podman import / docker import). */
export async function rootfsTar(dir: string): Promise<string> {
  const rootfs = busyboxRootfs(dir);
  await finishRootfs(rootfs);
  const tar = path.join(dir, 'rootfs.tar');
  await run('tar', ['-C', rootfs, '-cf', tar, '.']);
  return tar;
}

export interface Podman {
  env: NodeJS.ProcessEnv;
  dir: string;
  run(args: string[], timeoutMs?: number): Promise<string>;
}

/** podman with everything under dir: containers.conf + storage.conf, CNI backend, runc. */
export async function setupPodman(dir: string, pluginDirs: string[], confDir: string): Promise<Podman> {
  fs.mkdirSync(confDir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const containersConf = path.join(dir, 'containers.conf');
  const storageConf = path.join(dir, 'storage.conf');
  fs.writeFileSync(
    containersConf,
    [
      '[containers]',
      'netns = "bridge"',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      `tmp_dir = "${path.join(dir, 'tmp')}"`,
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = [${pluginDirs.map((d) => JSON.stringify(d)).join(', ')}]`,
      `network_config_dir = "${confDir}"`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    storageConf,
    ['[storage]', 'driver = "overlay"', `graphroot = "${path.join(dir, 'storage')}"`, `runroot = "${path.join(dir, 'runroot')}"`, ''].join(
      '\n',
    ),
  );
  const env = { ...process.env, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
  const podman: Podman = {
    env,
    dir,
    run: async (args, timeoutMs = 60_000) => (await run('podman', args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 })).stdout,
  };
  // A runtime that cannot start on this machine is a reason to skip, not a failure: probe it first.
  try {
    await podman.run(['info'], 60_000);
  } catch (error) {
    throw new RuntimeUnavailable(`podman cannot start: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
  }
  const tar = await rootfsTar(dir);
  await run('podman', ['import', '--change', 'CMD ["/bin/sh"]', tar, 'localhost/bb'], { env, timeout: 120_000 });
  return podman;
}

/** Removes everything podman made under its dir (containers first, so netns and CNI DEL run). */
export async function teardownPodman(podman: Podman): Promise<void> {
  await run('podman', ['rm', '-af', '-t', '0'], { env: podman.env, timeout: 60_000 }).catch(() => undefined);
  await run('podman', ['system', 'reset', '-f'], { env: podman.env, timeout: 60_000 }).catch(() => undefined);
}

export interface Daemon {
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a daemon (optionally inside a network namespace via nsenter --net) and waits for a socket. */
export async function startDaemon(
  command: string,
  args: string[],
  logFile: string,
  readySocket: string,
  netnsPath?: string,
  timeoutMs = 30_000,
): Promise<Daemon> {
  const out = fs.openSync(logFile, 'a');
  const argv = netnsPath ? ['--net=' + netnsPath, command, ...args] : args;
  const child = spawn(netnsPath ? 'nsenter' : command, argv, { stdio: ['ignore', out, out], detached: false });
  fs.closeSync(out);
  const started = Date.now();
  while (!fs.existsSync(readySocket)) {
    if (child.exitCode !== null)
      throw new Error(`${command} exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${command} did not create ${readySocket}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    pid,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** containerd with root, state, sockets and the opt plugin path under dir. */
export async function startContainerd(
  dir: string,
): Promise<{ daemon: Daemon; address: string; ctr(args: string[], timeoutMs?: number): Promise<string> }> {
  fs.mkdirSync(dir, { recursive: true });
  const address = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(
    config,
    [
      'version = 2',
      `root = "${path.join(dir, 'root')}"`,
      `state = "${path.join(dir, 'state')}"`,
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${path.join(dir, 'containerd-ttrpc.sock')}"`,
      '[debug]',
      `  address = "${path.join(dir, 'debug.sock')}"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${path.join(dir, 'opt')}"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  disable_cgroup = true',
      '',
    ].join('\n'),
  );
  let daemon: Daemon;
  try {
    daemon = await startDaemon('containerd', ['--config', config], path.join(dir, 'containerd.log'), address);
  } catch (error) {
    throw new RuntimeUnavailable(`containerd cannot start: ${(error as Error).message.slice(0, 300)}`);
  }
  return {
    daemon,
    address,
    ctr: async (args, timeoutMs = 60_000) =>
      (await run('ctr', ['--address', address, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 })).stdout,
  };
}

/**
 * Runtimes keep caches outside their configurable roots (podman: /var/lib/containers/cache, libcni:
 * /var/lib/cni/results). Returns a cleanup that removes those that did not exist before the test.
 */
export function removeIfCreatedLater(paths: string[] = ['/var/lib/containers', '/var/lib/cni']): () => void {
  const absent = paths.filter((p) => !fs.existsSync(p));
  return () => {
    for (const p of absent) fs.rmSync(p, { recursive: true, force: true });
  };
}
