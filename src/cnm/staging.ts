/**
 * Docker 20.10 calls Join before the container's namespace exists and then moves an interface
 * *from its own namespace* into it, configuring address and gateway itself. The attach API, however,
 * plumbs a container interface inside a given namespace. So the driver attaches into a private
 * staging namespace and moves the finished interface into the daemon's namespace (the agent's own);
 * the move drops the staging addresses and routes, which Docker then sets from our answers.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { IFNAME_REGEX } from '../core/model/names';

const run = promisify(execFile);
/** `<netns prefix>dkr-<10 hex>`: the prefix is NETNS_PREFIX_REGEX (up to 24 characters, may hold '_'). */
const NETNS_NAME = /^[a-z][a-z0-9_-]{0,23}dkr-[0-9a-f]{10}$/;

export class StagingNamespace {
  constructor(readonly name: string) {
    if (!NETNS_NAME.test(name)) throw new Error(`invalid staging namespace name ${name}`);
  }

  get path(): string {
    return `/run/netns/${this.name}`;
  }

  async ensure(): Promise<void> {
    if (fs.existsSync(this.path)) return;
    try {
      await run('ip', ['netns', 'add', this.name]);
    } catch (error) {
      if (!fs.existsSync(this.path)) throw error;
    }
  }

  /** Moves an interface out of the staging namespace into the namespace of process `pid`. */
  async moveOut(ifName: string, pid: number): Promise<void> {
    if (!IFNAME_REGEX.test(ifName) || !Number.isInteger(pid)) throw new Error(`invalid interface ${ifName} or pid ${pid}`);
    await run('ip', ['-n', this.name, 'link', 'set', 'dev', ifName, 'netns', String(pid)]);
  }

  async remove(): Promise<void> {
    if (!fs.existsSync(this.path)) return;
    await run('ip', ['netns', 'delete', this.name]).catch(() => undefined);
  }
}

/**
 * Whether an interface exists in this process's network namespace. Asked over netlink (`ip`), not
 * /sys/class/net: an agent started with `nsenter --net` still sees the root namespace's sysfs.
 */
export async function linkExists(ifName: string): Promise<boolean> {
  if (!IFNAME_REGEX.test(ifName)) return false;
  try {
    await run('ip', ['link', 'show', 'dev', ifName]);
    return true;
  } catch {
    return false;
  }
}
