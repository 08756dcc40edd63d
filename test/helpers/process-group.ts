/**
 * Child processes that die whole: spawned as the leader of a process group of their own, killed by
 * group. A `socat ...,fork` listener's forked children (one per connection or datagram) stay in the
 * group, so killing the group kills them too — killing socat alone leaves them running, holding
 * sockets, pipes and the namespace.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export function spawnGroup(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(command, args, { ...options, detached: true });
}

/** SIGKILL to the whole group of each child started by spawnGroup (also of one that already exited). */
export function killGroups(children: ChildProcess[]): void {
  for (const child of children) {
    if (!child.pid) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
}
