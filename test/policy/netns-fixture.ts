/**
 * A tiny routed tenant for kernel tests of policy enforcement: one tenant router namespace and
 * container namespaces joined by veths (host end named as the agent names it), with socat
 * listeners and probes. Every name carries a random prefix; cleanup removes all of it.
 */
import type { ChildProcess } from 'node:child_process';
import { killGroups, spawnGroup } from '../helpers/process-group';
import * as crypto from 'node:crypto';
import { run } from '../../src/kernel/exec';
import { hostVethName, tenantNamespaceName } from '../../src/core/dataplane/names';
import { registerTestStem } from '../helpers/netns';

export interface FixtureEndpoint {
  name: string;
  ip: string;
  netns: string;
  veth: string;
}

export class PolicyFixture {
  readonly prefix = registerTestStem(`tp${crypto.randomBytes(3).toString('hex')}-`);
  readonly router: string;
  readonly endpoints = new Map<string, FixtureEndpoint>();
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor(readonly tenant: string) {
    this.router = tenantNamespaceName(this.prefix, tenant);
  }

  private async ns(name: string): Promise<void> {
    await run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  async start(gateway: string): Promise<void> {
    await this.ns(this.router);
    await run('ip', ['-n', this.router, 'addr', 'add', `${gateway}/32`, 'dev', 'lo']);
    await run('ip', ['netns', 'exec', this.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }

  async addEndpoint(name: string, ip: string, gateway: string): Promise<FixtureEndpoint> {
    const netns = `${this.prefix}c-${name}`;
    await this.ns(netns);
    const veth = hostVethName(this.tenant, name);
    await run('ip', ['-n', this.router, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await run('ip', ['-n', this.router, 'link', 'set', veth, 'up']);
    await run('ip', ['netns', 'exec', this.router, 'sysctl', '-qw', `net.ipv4.conf.${veth}.proxy_arp=1`]);
    await run('ip', ['-n', this.router, 'route', 'add', `${ip}/32`, 'dev', veth]);
    await run('ip', ['-n', netns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', netns, 'route', 'add', `${gateway}/32`, 'dev', 'eth0']);
    await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', gateway]);
    const endpoint = { name, ip, netns, veth };
    this.endpoints.set(name, endpoint);
    return endpoint;
  }

  /** An echo server (TCP or UDP) in the endpoint's namespace. */
  async listen(name: string, protocol: 'tcp' | 'udp', port: number): Promise<void> {
    const endpoint = this.endpoints.get(name)!;
    const address = protocol === 'tcp' ? `TCP-LISTEN:${port},fork,reuseaddr` : `UDP-RECVFROM:${port},fork,reuseaddr`;
    const child = spawnGroup('ip', ['netns', 'exec', endpoint.netns, 'socat', address, 'PIPE'], { stdio: 'ignore' });
    this.children.push(child);
    // Wait until the socket is bound.
    for (let i = 0; i < 50; i++) {
      const { stdout } = await run('ip', ['netns', 'exec', endpoint.netns, 'ss', '-lntu']);
      if (stdout.includes(`:${port} `)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`listener ${name} ${protocol}/${port} did not come up`);
  }

  /** A new connection/datagram from `from` to `to`; true when the echo comes back. */
  async probe(from: string, to: string, protocol: 'tcp' | 'udp', port: number): Promise<boolean> {
    const source = this.endpoints.get(from)!;
    const target = this.endpoints.get(to)!;
    const address = protocol === 'tcp' ? `TCP:${target.ip}:${port},connect-timeout=1` : `UDP:${target.ip}:${port}`;
    const result = await run('ip', ['netns', 'exec', source.netns, 'socat', '-T', '1', '-', address], {
      input: 'ping\n',
      allowFailure: true,
      timeoutMs: 5000,
    });
    return result.stdout.includes('ping');
  }

  /** A long-lived TCP connection; send() round-trips a line over it. */
  connect(from: string, to: string, port: number): { send(line: string): Promise<boolean>; close(): void } {
    const source = this.endpoints.get(from)!;
    const target = this.endpoints.get(to)!;
    const child = spawnGroup('ip', ['netns', 'exec', source.netns, 'socat', '-', `TCP:${target.ip}:${port}`], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    this.children.push(child);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => (buffer += chunk.toString()));
    return {
      send: async (line: string) => {
        child.stdin!.write(`${line}\n`);
        for (let i = 0; i < 100; i++) {
          if (buffer.includes(line)) return true;
          await new Promise((r) => setTimeout(r, 20));
        }
        return false;
      },
      close: () => child.kill('SIGTERM'),
    };
  }

  async cleanup(): Promise<void> {
    killGroups(this.children);
    for (const name of this.namespaces.reverse()) await run('ip', ['netns', 'del', name], { allowFailure: true });
  }
}
