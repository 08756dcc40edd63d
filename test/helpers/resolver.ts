/** The tenant resolver's processes as a test sees them: from the agent's pid file, and whether each runs. */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_DNS_DIR } from '../../src/agent/dns/resolver';

/** The resolver's processes (front and two back ends) of a router namespace; none when there is no pid file. */
export function resolverPids(routerNs: string): number[] {
  try {
    return fs
      .readFileSync(path.join(DEFAULT_DNS_DIR, routerNs, 'pid'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** A process that exists and is not a zombie. */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return !/ Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
