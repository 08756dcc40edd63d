/**
 * The first step of every attach, before anything touches a namespace: pin the target namespace (open its
 * file) and refuse it when it is the agent's own, PID 1's (the host's) or one of the agent's tenant router
 * namespaces — an attach there would put a tenant's default route on the host or bridge two tenants.
 * Namespaces are compared by device and inode (validate-attach.ts), so aliases (/proc/PID/ns/net of any
 * process inside, bind mounts) do not get around it, and every later step reaches the namespace through
 * /proc/<agent pid>/fd/<fd>: what is plumbed is exactly what was checked, even if the path is remounted or
 * the PID reused meanwhile.
 */
import fs from 'node:fs';
import { AttachApiError } from '../attach/api';
import { tenantOfNamespace } from '../core/dataplane/names';
import { listNetns } from '../kernel/ip';
import { namespaceRefusal, type ForbiddenNamespace, type NamespaceId } from './validate-attach';

export interface PinnedNamespace {
  /** A path to the pinned namespace file, for tenet-ipd and nsenter (both run as children of the agent, as root). */
  path: string;
  close(): void;
}

const idOf = (stat: fs.Stats): NamespaceId => ({ dev: stat.dev, ino: stat.ino });

/** include/linux/proc_ns.h: PROC_NET_INIT_INO, the inode of init_net's namespace file since Linux 3.8. */
export const INIT_NET_INODE = 0xeffffff9;

/** The namespaces no container may join, as they are now (router namespaces come and go). */
export function forbiddenNamespaces(netnsPrefix: string): ForbiddenNamespace[] {
  // The agent's own must be known, or nothing is attached (fail closed).
  const own = idOf(fs.statSync('/proc/self/ns/net'));
  const forbidden: ForbiddenNamespace[] = [
    { id: own, what: "the agent's own network namespace" },
    // The machine's first namespace has a fixed inode (PROC_NET_INIT_INO), so it is known even where PID 1's
    // namespace file may not be read (a process without all of PID 1's capabilities gets EACCES).
    { id: { dev: own.dev, ino: INIT_NET_INODE }, what: "the host's initial network namespace" },
  ];
  try {
    forbidden.push({ id: idOf(fs.statSync('/proc/1/ns/net')), what: "PID 1's network namespace (the host's)" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Unreadable for the agent is unreadable for the plumbing too (tenet-ipd and nsenter run as the agent).
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
  }
  for (const name of listNetns()) {
    const tenant = tenantOfNamespace(netnsPrefix, name);
    if (tenant === undefined) continue;
    try {
      forbidden.push({ id: idOf(fs.statSync(`/run/netns/${name}`)), what: `the router namespace of tenant ${tenant} (${name})` });
    } catch {
      // deleted while listed: nothing to protect
    }
  }
  return forbidden;
}

function refuse(path: string, id: NamespaceId, netnsPrefix: string): void {
  let refusal: ReturnType<typeof namespaceRefusal>;
  try {
    refusal = namespaceRefusal(id, fs.statSync('/proc/self/ns/net').dev, forbiddenNamespaces(netnsPrefix));
  } catch (error) {
    throw new AttachApiError(500, 'Internal', `cannot tell whether netns ${path} may be used: ${(error as Error).message}`);
  }
  if (refusal)
    throw new AttachApiError(refusal.status, refusal.status === 403 ? 'Forbidden' : 'InvalidRequest', `netns ${path} ${refusal.message}`);
}

/** Pins and checks the namespace at `path`; throws AttachApiError (404, 400, 403) when it may not be used. */
export function pinTargetNamespace(path: string, netnsPrefix: string): PinnedNamespace {
  let before: fs.Stats;
  try {
    before = fs.statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AttachApiError(404, 'NotFound', `netns ${path} does not exist`);
    throw new AttachApiError(400, 'InvalidRequest', `netns ${path}: ${(error as Error).message}`);
  }
  // Checked before opening too: opening a device node or a FIFO can have effects of its own.
  refuse(path, idOf(before), netnsPrefix);
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    throw new AttachApiError(404, 'NotFound', `netns ${path} cannot be opened: ${(error as Error).message}`);
  }
  const pinned = fs.fstatSync(fd);
  if (pinned.dev !== before.dev || pinned.ino !== before.ino) {
    fs.closeSync(fd);
    throw new AttachApiError(409, 'Conflict', `netns ${path} changed while it was checked; try again`);
  }
  let open = true;
  return {
    path: `/proc/${process.pid}/fd/${fd}`,
    close: () => {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}
