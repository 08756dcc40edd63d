/**
 * Route advertisement (docs/external.md): the agent configures a real BGP daemon, BIRD 2, in its own
 * namespace, with one eBGP session to the upstream router and a static route per floating IP bound on
 * this host; a change rewrites the configuration and `birdc configure` makes BIRD announce or withdraw
 * at once. BIRD outlives the agent (an agent killed with -9 leaves the announcements standing while
 * the data plane keeps forwarding); a restarted agent finds it by its pid file and configures it again.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../kernel/exec';
import { canonicalIp, parseIp } from '../core/net/ip';
import type { Log } from '../core/log';

export interface BgpOptions {
  /** Directory of BIRD's config, control socket, pid file and log (one per agent). */
  dir: string;
  /** This host's address: BIRD's router id and the session's local address. */
  routerId: string;
  asn: number;
  peer: string;
  peerAsn: number;
  log: Log;
}

/**
 * BIRD's configuration for `addresses` (canonical IPv4 and IPv6 texts, validated). Pure. IPv6 floating
 * IPs go over the same (IPv4) session as MP-BGP IPv6 unicast, with this host's IPv6 underlay address
 * as their next hop (`nextHop6`; without one they are not announced: nothing could route them here).
 */
export function birdAgentConfig(
  options: Pick<BgpOptions, 'routerId' | 'asn' | 'peer' | 'peerAsn'>,
  addresses: readonly string[],
  nextHop6?: string,
): string {
  for (const a of [options.routerId, options.peer])
    if (parseIp(a)?.family !== 4 || canonicalIp(a) !== a) throw new Error(`refusing address "${a}" in the BGP configuration`);
  for (const a of [...addresses, ...(nextHop6 !== undefined ? [nextHop6] : [])])
    if (parseIp(a) === undefined || canonicalIp(a) !== a) throw new Error(`refusing address "${a}" in the BGP configuration`);
  if (nextHop6 !== undefined && parseIp(nextHop6)?.family !== 6) throw new Error(`refusing IPv6 next hop "${nextHop6}"`);
  const v4 = addresses.filter((a) => parseIp(a)?.family === 4);
  const v6 = nextHop6 !== undefined ? addresses.filter((a) => parseIp(a)?.family === 6) : [];
  for (const n of [options.asn, options.peerAsn])
    if (!Number.isInteger(n) || n < 1 || n > 4294967295) throw new Error(`refusing AS number ${n}`);
  return [
    `router id ${options.routerId};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    // Routes that exist only to be announced: the data plane is the agent's (routes to the transit links).
    'protocol static floating {',
    '  ipv4;',
    ...v4.map((a) => `  route ${a}/32 blackhole;`),
    '}',
    ...(nextHop6 !== undefined ? ['protocol static floating6 {', '  ipv6;', ...v6.map((a) => `  route ${a}/128 blackhole;`), '}'] : []),
    'protocol bgp upstream {',
    `  local ${options.routerId} as ${options.asn};`,
    `  neighbor ${options.peer} as ${options.peerAsn};`,
    '  hold time 3; keepalive time 1; connect retry time 1;',
    '  ipv4 { import none; export where proto = "floating"; };',
    ...(nextHop6 !== undefined ? [`  ipv6 { import none; export where proto = "floating6"; next hop address ${nextHop6}; };`] : []),
    '}',
    '',
  ].join('\n');
}

/** Whether `birdc show protocols upstream` says the session is up and Established. Pure. */
export function birdSessionEstablished(text: string): boolean {
  return text.split('\n').some((line) => /^upstream\s+BGP\s+\S+\s+up\s+.*Established/.test(line.trim()));
}

/** The host routes (IPv4 /32, IPv6 /128) in `birdc show route export …` output, as canonical addresses. Pure. */
export function birdExportedAddresses(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-fA-F:.]+)\/(32|128)\s/.exec(line);
    const address = match ? canonicalIp(match[1]) : undefined;
    if (address !== undefined && (parseIp(address)?.family === 4 ? match![2] === '32' : match![2] === '128')) out.add(address);
  }
  return out;
}

export class BgpSpeaker {
  private readonly config: string;
  private readonly socket: string;
  private readonly pidFile: string;
  private readonly logFile: string;
  private applied?: string;

  constructor(private readonly options: BgpOptions) {
    this.config = path.join(options.dir, 'bird.conf');
    this.socket = path.join(options.dir, 'bird.ctl');
    this.pidFile = path.join(options.dir, 'bird.pid');
    this.logFile = path.join(options.dir, 'bird.log');
  }

  /** Announces exactly `addresses`; a no-op when they did not change (and BIRD runs). */
  async sync(addresses: readonly string[], nextHop6?: string): Promise<void> {
    const text = birdAgentConfig(this.options, [...new Set(addresses)].sort(), nextHop6);
    const running = this.pid() !== undefined;
    if (text === this.applied && running) return;
    fs.mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(`${this.config}.tmp`, text, { mode: 0o600 });
    fs.renameSync(`${this.config}.tmp`, this.config);
    if (!running) await this.start();
    else {
      const answer = await run('birdc', ['-s', this.socket, 'configure'], { allowFailure: true });
      if (answer.code !== 0 || /error/i.test(answer.stdout))
        throw new Error(`birdc configure: ${answer.stdout.trim()} ${answer.stderr.trim()}`);
    }
    this.applied = text;
    this.options.log('info', 'BGP announcements', { addresses: [...addresses] });
  }

  /**
   * The addresses BIRD really announces to the upstream router, read from BIRD itself: none while the
   * session is not Established; else the routes it exports on it (`show route export upstream`).
   */
  async advertised(): Promise<Set<string>> {
    if (this.pid() === undefined) return new Set();
    const protocol = await run('birdc', ['-s', this.socket, 'show', 'protocols', 'upstream'], { allowFailure: true });
    if (protocol.code !== 0 || !birdSessionEstablished(protocol.stdout)) return new Set();
    const out = new Set<string>();
    // One channel at a time: BIRD asks which when a protocol has several.
    for (const channel of ['upstream.ipv4', 'upstream.ipv6']) {
      const routes = await run('birdc', ['-s', this.socket, 'show', 'route', 'export', channel], { allowFailure: true });
      if (routes.code === 0) for (const a of birdExportedAddresses(routes.stdout)) out.add(a);
    }
    return out;
  }

  /** BIRD's pid when it runs with this speaker's config (checked by its command line). */
  private pid(): number | undefined {
    try {
      const pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes(this.config) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async start(): Promise<void> {
    fs.rmSync(this.socket, { force: true });
    const out = fs.openSync(this.logFile, 'a');
    // Detached: BIRD is not the agent's to take down with it (see the file's comment).
    const child = spawn('bird', ['-f', '-c', this.config, '-s', this.socket, '-P', this.pidFile], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    child.unref();
    const deadline = Date.now() + 10000;
    for (;;) {
      const status = await run('birdc', ['-s', this.socket, 'show', 'status'], { allowFailure: true });
      if (status.stdout.includes('Daemon is up')) return;
      if (Date.now() > deadline) throw new Error(`bird did not start: ${fs.readFileSync(this.logFile, 'utf8').slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops BIRD (the agent's --bgp was dropped, or a test ends): its routes are withdrawn. */
  stop(): void {
    const pid = this.pid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
  }
}
