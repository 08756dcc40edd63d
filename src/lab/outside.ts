/**
 * The lab's outside world: one namespace on the fabric that plays the upstream router (a real BIRD 2
 * from Debian, BGP peer of every host) and the servers of "the internet" and of "a corporate network"
 * (addresses on its loopback). It has no link to the machine's own namespace, so nothing sent to it
 * ever leaves the machine; the hosts route everything that is not on the underlay through it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { addNetns, ipBatch, netnsExists, netnsSysctl } from '../kernel/ip';
import { run } from '../kernel/exec';
import { UNDERLAY6_PREFIX, UNDERLAY_PREFIX } from './fabric';
import { isAlive, startDetached, stopPid, tail, waitFor } from './processes';
import { LabError, type LabState } from './state';

/** The upstream router's address on the underlay (hosts are .11 and up). */
export const OUTSIDE_UNDERLAY_IP = `${UNDERLAY_PREFIX}1`;
/** Stand-ins for a server on the internet and one on a corporate network: documentation prefixes, on the outside's lo. */
export const OUTSIDE_INTERNET_IP = '203.0.113.10';
export const OUTSIDE_CORPORATE_IP = '198.51.100.10';
/** The same over IPv6: the router on the underlay's /64, the servers in the documentation prefix 2001:db8::/32. */
export const OUTSIDE_UNDERLAY_IPV6 = `${UNDERLAY6_PREFIX}1`;
export const OUTSIDE_INTERNET_IPV6 = '2001:db8:113::10';
export const OUTSIDE_CORPORATE_IPV6 = '2001:db8:51::10';
/** The upstream router's AS and the one every lab host speaks from (eBGP). */
export const OUTSIDE_ASN = 64512;
export const HOST_ASN = 64513;

export interface LabOutside {
  netns: string;
  underlayIP: string;
  internetIP: string;
  corporateIP: string;
  /** IPv6 twins (absent in a lab made before IPv6 was added). */
  underlayIPv6?: string;
  internetIPv6?: string;
  corporateIPv6?: string;
  fabricPort: string;
  asn: number;
  hostAsn: number;
  /** BIRD's config, control socket and log (in the lab's directory). */
  birdConfig: string;
  birdSocket: string;
  birdLog: string;
  birdPid?: number;
}

/** The name `lab exec` and `lab run` reserve for it. */
export const OUTSIDE_NAME = 'outside';

export const outsideNetns = (state: Pick<LabState, 'name'>): string => `tl-${state.name}-out`;

/** BIRD's configuration: a passive eBGP session per host, whatever they announce installed in the outside's kernel table. */
export function birdConfig(
  outside: Pick<LabOutside, 'underlayIP' | 'asn' | 'hostAsn'>,
  hosts: readonly { name: string; underlayIP: string }[],
): string {
  const lines = [
    `router id ${outside.underlayIP};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    // Routes learned from the hosts go into this namespace's routing table: packets follow them.
    'protocol kernel { ipv4 { import none; export all; }; }',
    'protocol kernel kernel6 { ipv6 { import none; export all; }; }',
  ];
  for (const host of hosts) {
    lines.push(
      `protocol bgp ${host.name} {`,
      `  local ${outside.underlayIP} as ${outside.asn};`,
      `  neighbor ${host.underlayIP} as ${outside.hostAsn};`,
      '  passive;',
      // Short timers: a host that goes away is noticed in seconds; withdrawals are sent at once anyway.
      '  hold time 3; keepalive time 1; connect retry time 1;',
      '  ipv4 { import all; export none; };',
      // MP-BGP: the hosts' IPv6 floating IPs over the same session, next hop their IPv6 underlay address.
      '  ipv6 { import all; export none; };',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Makes the outside namespace on the fabric, its addresses, the hosts' default route through it, and starts BIRD. */
export async function createOutside(state: LabState, markerEnv: Record<string, string>): Promise<LabOutside> {
  const dir = path.join(state.dir, OUTSIDE_NAME);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const outside: LabOutside = {
    netns: outsideNetns(state),
    underlayIP: OUTSIDE_UNDERLAY_IP,
    internetIP: OUTSIDE_INTERNET_IP,
    corporateIP: OUTSIDE_CORPORATE_IP,
    underlayIPv6: OUTSIDE_UNDERLAY_IPV6,
    internetIPv6: OUTSIDE_INTERNET_IPV6,
    corporateIPv6: OUTSIDE_CORPORATE_IPV6,
    fabricPort: 'po',
    asn: OUTSIDE_ASN,
    hostAsn: HOST_ASN,
    birdConfig: path.join(dir, 'bird.conf'),
    birdSocket: path.join(dir, 'bird.ctl'),
    birdLog: path.join(dir, 'bird.log'),
  };
  if (!netnsExists(outside.netns)) await addNetns(outside.netns);
  await ipBatch(
    [`link add ${outside.fabricPort} type veth peer name eth0 netns ${outside.netns}`, `link set ${outside.fabricPort} master br0 up`],
    {
      netns: state.fabricNetns,
    },
  );
  await ipBatch(
    [
      'link set lo up',
      `addr add ${outside.underlayIP}/24 dev eth0`,
      'link set eth0 up',
      `addr add ${outside.internetIP}/32 dev lo`,
      `addr add ${outside.corporateIP}/32 dev lo`,
      `addr add ${OUTSIDE_UNDERLAY_IPV6}/64 dev eth0 nodad`,
      `addr add ${OUTSIDE_INTERNET_IPV6}/128 dev lo`,
      `addr add ${OUTSIDE_CORPORATE_IPV6}/128 dev lo`,
    ],
    { netns: outside.netns },
  );
  await netnsSysctl(outside.netns, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  for (const host of state.hosts)
    await ipBatch(
      [`route replace default via ${outside.underlayIP} dev eth0`, `route replace ::/0 via ${OUTSIDE_UNDERLAY_IPV6} dev eth0`],
      {
        netns: host.netns,
      },
    );
  fs.writeFileSync(outside.birdConfig, birdConfig(outside, state.hosts), { mode: 0o600 });
  await startBird(outside, markerEnv);
  return outside;
}

async function startBird(outside: LabOutside, markerEnv: Record<string, string>): Promise<void> {
  const bird = findBinary('bird');
  if (!bird) throw new LabError('bird (Debian package bird2) is not installed: run `bash scripts/setup.sh`');
  fs.rmSync(outside.birdSocket, { force: true });
  // -f: stays in the foreground, so the pid is BIRD's own and `down` stops exactly it.
  outside.birdPid = startDetached(
    'nsenter',
    [`--net=/run/netns/${outside.netns}`, bird, '-f', '-c', outside.birdConfig, '-s', outside.birdSocket],
    outside.birdLog,
    markerEnv,
  );
  await waitFor(
    'the outside router (bird) to answer on its control socket',
    async () => {
      if (!isAlive(outside.birdPid)) throw new LabError(`bird exited:\n${tail(outside.birdLog)}`);
      return (await birdc(outside, ['show', 'status']).catch(() => '')).includes('Daemon is up');
    },
    15000,
    () => tail(outside.birdLog),
  );
}

export async function stopOutside(outside: LabOutside | undefined): Promise<void> {
  if (outside?.birdPid) await stopPid(outside.birdPid, outside.birdSocket, 3000);
}

/** One birdc command on the outside router's control socket (argument vector, no shell). */
export async function birdc(outside: Pick<LabOutside, 'birdSocket'>, args: readonly string[], allowFailure = false): Promise<string> {
  const birdcPath = findBinary('birdc');
  if (!birdcPath) throw new LabError('birdc (Debian package bird2) is not installed');
  return (await run(birdcPath, ['-s', outside.birdSocket, ...args], { allowFailure })).stdout;
}

/** The routes BIRD holds for `prefix` (e.g. 203.0.113.7/32), as `birdc show route` prints them ("Network not found" when none: birdc then exits 1). */
export async function outsideRoutes(outside: Pick<LabOutside, 'birdSocket'>, prefix?: string): Promise<string> {
  return birdc(outside, ['show', 'route', ...(prefix ? ['for', prefix] : []), 'all'], true);
}

/** BGP session state per host, from `birdc show protocols` (e.g. { h1: 'Established' }). */
export async function bgpSessions(outside: Pick<LabOutside, 'birdSocket'>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await birdc(outside, ['show', 'protocols'])).split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === 'BGP') out[fields[0]] = fields.slice(5).join(' ') || fields[3];
  }
  return out;
}

function findBinary(name: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}
