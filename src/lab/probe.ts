/**
 * Real connectivity probes between lab containers. TCP and UDP listeners answer with their container's
 * name, so a reply from the wrong container (two tenants may use the very same address) never counts as
 * reaching the target; ICMP counts echo requests arriving in the target's namespace (/proc/net/snmp),
 * with all pings to one address run one after another so the count is unambiguous.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { run } from '../kernel/exec';
import type { LabContainer, LabState } from './state';
import { LabError } from './state';
import { killGroup } from './processes';
import { pool } from './pool';

export interface ProbeSpec {
  protocol: 'icmp' | 'tcp' | 'udp';
  port?: number;
}

/** One probe of one destination address: `-o json` prints an array of these (docs/lab.md, "Probes"). */
export interface ProbeResult {
  from: string;
  to: string;
  protocol: 'icmp' | 'tcp' | 'udp';
  port?: number;
  address: string;
  family: 4 | 6;
  /** The target itself answered. */
  allowed: boolean;
  /** Another container answered on that address (the prober's tenant twin, or itself): not allowed. */
  answeredBy?: string;
  /** The probe could not be run at all (a namespace, tool or listener missing): neither allowed nor blocked. */
  error?: string;
}

export function parseProbeSpecs(text: string): ProbeSpec[] {
  const specs: ProbeSpec[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (part === 'icmp') {
      specs.push({ protocol: 'icmp' });
      continue;
    }
    const match = /^(tcp|udp)\/([0-9]{1,5})$/.exec(part);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) throw new LabError(`--port: "${part}" must be icmp, tcp/PORT or udp/PORT`);
    specs.push({ protocol: match[1] as 'tcp' | 'udp', port });
  }
  if (specs.length === 0) throw new LabError('--port: nothing to probe');
  return specs;
}

const bracket = (address: string): string => (address.includes(':') ? `[${address}]` : address);

interface Listener {
  container: LabContainer;
  spec: ProbeSpec;
  child: ChildProcess;
  stderr: string;
}

const listenerKey = (container: string, spec: ProbeSpec): string => `${container}|${spec.protocol}/${spec.port ?? ''}`;

function startListeners(containers: LabContainer[], specs: ProbeSpec[]): Listener[] {
  const listeners: Listener[] = [];
  for (const container of containers) {
    for (const spec of specs) {
      if (spec.protocol === 'icmp') continue;
      const listen =
        spec.protocol === 'tcp'
          ? `TCP6-LISTEN:${spec.port},ipv6only=0,fork,reuseaddr`
          : `UDP6-RECVFROM:${spec.port},ipv6only=0,fork,reuseaddr`;
      // A process group of its own: socat's `fork` children (and their `sh -c`) outlive a signal to
      // socat itself, and one stuck in `read line` would keep our stderr pipe open. The group is
      // killed whole when the probe ends.
      const child = spawn('ip', ['netns', 'exec', container.netns, 'socat', listen, `SYSTEM:read line; echo ${container.name}`], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      const listener: Listener = { container, spec, child, stderr: '' };
      child.stderr?.on('data', (chunk: Buffer) => (listener.stderr = (listener.stderr + chunk.toString()).slice(-500)));
      child.on('error', (error) => (listener.stderr += error.message));
      listeners.push(listener);
    }
  }
  return listeners;
}

/** Ports a container's namespace listens on, as `tcp/80`, `udp/53`. */
async function listeningPorts(container: LabContainer): Promise<Set<string>> {
  const { stdout } = await run('ip', ['netns', 'exec', container.netns, 'ss', '-Hlntu'], { allowFailure: true });
  const ports = new Set<string>();
  for (const line of stdout.split('\n')) {
    const [netid, , , , local] = line.trim().split(/\s+/);
    const port = /:(\d+)$/.exec(local ?? '')?.[1];
    if ((netid === 'tcp' || netid === 'udp') && port) ports.add(`${netid}/${port}`);
  }
  return ports;
}

/**
 * Waits until every listener is bound (instead of a fixed pause); returns why each one that is not could
 * not start, by listenerKey: probes to it could not be run, which is not the same as blocked.
 */
async function waitListeners(listeners: Listener[], timeoutMs = 5000): Promise<Map<string, string>> {
  const pending = new Set(listeners);
  const failed = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    for (const listener of [...pending]) {
      if (listener.child.exitCode !== null || listener.child.signalCode !== null) {
        failed.set(
          listenerKey(listener.container.name, listener.spec),
          `listener in ${listener.container.name} could not start: ${listener.stderr.trim() || `exit ${listener.child.exitCode}`}`,
        );
        pending.delete(listener);
      }
    }
    const byContainer = new Map<LabContainer, Listener[]>();
    for (const listener of pending) byContainer.set(listener.container, [...(byContainer.get(listener.container) ?? []), listener]);
    for (const [container, mine] of byContainer) {
      const ports = await listeningPorts(container);
      for (const listener of mine) if (ports.has(`${listener.spec.protocol}/${listener.spec.port}`)) pending.delete(listener);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      for (const listener of pending)
        failed.set(
          listenerKey(listener.container.name, listener.spec),
          `listener in ${listener.container.name} is not listening after ${timeoutMs} ms`,
        );
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return failed;
}

/**
 * `ip netns exec NS CMD` in a namespace; throws when the command could not be started at all (no such
 * namespace, no such tool), which a failing probe must not be mistaken for.
 */
async function runIn(
  netns: string,
  command: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string }> {
  const result = await run('ip', ['netns', 'exec', netns, ...command], { ...options, allowFailure: true });
  const notRun = /^(Cannot open network namespace .*|exec of ".*" failed: .*)$/m.exec(result.stderr);
  if (notRun) throw new Error(notRun[1]);
  return result;
}

async function echoCount(container: LabContainer, family: 4 | 6): Promise<number> {
  const file = family === 4 ? '/proc/net/snmp' : '/proc/net/snmp6';
  const { stdout } = await run('ip', ['netns', 'exec', container.netns, 'cat', file]);
  if (family === 6) {
    const match = /^Icmp6InEchos\s+(\d+)/m.exec(stdout);
    return match ? Number(match[1]) : 0;
  }
  const lines = stdout.split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('InEchos')] ?? 0);
}

async function probeOnce(
  from: LabContainer,
  to: LabContainer,
  spec: ProbeSpec,
  address: string,
): Promise<Pick<ProbeResult, 'allowed' | 'answeredBy'>> {
  const family = address.includes(':') ? 6 : 4;
  if (spec.protocol === 'icmp') {
    const before = await echoCount(to, family);
    const ping = await runIn(from.netns, ['ping', '-c1', '-W0.5', '-q', address], { timeoutMs: 5000 });
    const after = await echoCount(to, family);
    return { allowed: ping.code === 0 && after > before };
  }
  const target =
    spec.protocol === 'tcp' ? `TCP:${bracket(address)}:${spec.port},connect-timeout=1` : `UDP:${bracket(address)}:${spec.port}`;
  let answer = '';
  // UDP has no connection to report failure: a lost or late datagram gets one more try.
  for (let attempt = 0; attempt < (spec.protocol === 'udp' ? 2 : 1) && !answer; attempt++) {
    const result = await runIn(from.netns, ['socat', '-t1', '-T2', '-', target], { timeoutMs: 5000, input: 'probe\n' });
    answer = result.stdout.trim();
  }
  if (answer === to.name) return { allowed: true };
  if (answer) return { allowed: false, answeredBy: answer };
  return { allowed: false };
}

export async function runProbe(
  state: LabState,
  options: { tenant?: string; specs: ProbeSpec[]; concurrency?: number },
): Promise<ProbeResult[]> {
  const containers = state.containers.filter((c) => !options.tenant || c.tenant === options.tenant);
  if (containers.length < 2) throw new LabError(`need at least two containers to probe (have ${containers.length})`);
  const listeners = startListeners(containers, options.specs);
  const results: ProbeResult[] = [];
  try {
    const deadListeners = await waitListeners(listeners);
    // ICMP probes of one destination address run one after another, wherever they come from: two
    // tenants may use the same address, and a ping to it must be the only one that can move the
    // echo counter of the namespace it lands in. Everything else runs in parallel.
    type Job = () => Promise<void>;
    const icmpByAddress = new Map<string, Job[]>();
    const singles: Job[] = [];
    for (const to of containers) {
      for (const from of containers) {
        if (from === to) continue;
        for (const spec of options.specs) {
          for (const address of to.addresses) {
            // Only families the source has an address of (an IPv4-only container cannot try IPv6).
            if (!from.addresses.some((a) => a.includes(':') === address.includes(':'))) continue;
            const family: 4 | 6 = address.includes(':') ? 6 : 4;
            const job = async (): Promise<void> => {
              let outcome: { allowed: boolean; answeredBy?: string; error?: string };
              const noListener = deadListeners.get(listenerKey(to.name, spec));
              try {
                outcome = noListener ? { allowed: false, error: noListener } : await probeOnce(from, to, spec, address);
              } catch (error) {
                outcome = { allowed: false, error: (error as Error).message };
              }
              results.push({
                from: from.name,
                to: to.name,
                protocol: spec.protocol,
                ...(spec.port ? { port: spec.port } : {}),
                address,
                family,
                ...outcome,
              });
            };
            if (spec.protocol === 'icmp') icmpByAddress.set(address, [...(icmpByAddress.get(address) ?? []), job]);
            else singles.push(job);
          }
        }
      }
    }
    const icmpChains: Job[] = [...icmpByAddress.values()].map((chain) => async () => {
      for (const job of chain) await job();
    });
    await pool([...icmpChains, ...singles], options.concurrency ?? 24, (job) => job());
  } finally {
    // Even a listener that exited may have left forked children in its group.
    await Promise.all(listeners.map(({ child }) => killGroup(child.pid)));
    for (const { child } of listeners) child.stderr?.destroy();
  }
  const order = new Map(containers.map((c, i) => [c.name, i]));
  const specOrder = (r: ProbeResult) => options.specs.findIndex((spec) => spec.protocol === r.protocol && spec.port === r.port);
  return results.sort(
    (a, b) =>
      order.get(a.from)! - order.get(b.from)! || order.get(a.to)! - order.get(b.to)! || specOrder(a) - specOrder(b) || a.family - b.family,
  );
}

const kindOf = (spec: { protocol: string; port?: number }): string => `${spec.protocol}${spec.port ? `/${spec.port}` : ''}`;

/**
 * Rows: from; columns: to; one character per probe kind, in `--port` order (`specs`): + allowed,
 * - blocked, ~ mixed (e.g. v4 only), ! error.
 */
export function formatProbeTable(state: LabState, results: ProbeResult[], tenant?: string, specs?: ProbeSpec[]): string {
  const containers = state.containers.filter((c) => !tenant || c.tenant === tenant);
  const kinds = [...new Set([...(specs ?? []).map(kindOf), ...results.map(kindOf)])];
  const cell = (from: string, to: string): string => {
    if (from === to) return '·'.repeat(kinds.length);
    return kinds
      .map((kind) => {
        const rows = results.filter((r) => r.from === from && r.to === to && kindOf(r) === kind);
        if (rows.some((r) => r.error)) return '!';
        const allowed = rows.filter((r) => r.allowed).length;
        return allowed === rows.length && rows.length > 0 ? '+' : allowed === 0 ? '-' : '~';
      })
      .join('');
  };
  const label = (c: LabContainer): string => `${c.name} (${c.tenant}@${c.host})`;
  const width = Math.max(...containers.map((c) => label(c).length));
  const colWidth = Math.max(kinds.length, ...containers.map((c) => c.name.length)) + 1;
  const lines = [`${''.padEnd(width)} ${containers.map((c) => c.name.padEnd(colWidth)).join('')}`];
  for (const from of containers)
    lines.push(`${label(from).padEnd(width)} ${containers.map((to) => cell(from.name, to.name).padEnd(colWidth)).join('')}`);
  lines.push('', `cells: ${kinds.join(', ')} — + allowed (IPv4 and IPv6), - blocked, ~ only some addresses, ! error`);
  return lines.join('\n');
}
