/**
 * `tenet agent`: the host agent (root). Logs JSON lines with pino to stderr; prints one
 * `tenet agent ready on <socket>` line on stdout once the attach socket listens (the lab waits for it);
 * SIGTERM/SIGINT stop it without touching kernel state, so traffic keeps flowing across restarts.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import pino from 'pino';
import { Agent } from '../../agent/agent';
import { DEFAULT_RING } from '../../agent/flows/recorder';
import { DEFAULT_AGENT_SOCKET } from '../../attach/protocol';
import { DEFAULT_NETNS_PREFIX } from '../../core/dataplane/names';
import { CliError } from '../context';
import { DEFAULT_PLUGIN_SOCKET, startDockerPlugin, type DockerPlugin } from '../../cnm/server';

export function register(program: Command): void {
  program
    .command('agent')
    .description('run the host agent: follow the controller, program the kernel, serve the attach socket')
    .option(
      '--controller <urls>',
      'controller URL(s), comma-separated: http(s)://host:port or unix:/abs/path.sock (else --server or TENET_SERVER, as for every command)',
    )
    .requiredOption('--host <name>', 'name of this host')
    .requiredOption('--underlay-ip <ip>', "this host's underlay address (VXLAN source)")
    .option(
      '--underlay-ipv6 <ip>',
      "this host's IPv6 underlay address (IPv6 egress and floating IPs); default: the first global IPv6 address of the device holding --underlay-ip",
    )
    .option('--socket <path>', 'attach socket', DEFAULT_AGENT_SOCKET)
    .option('--netns-prefix <prefix>', 'prefix of the network namespaces the agent creates', DEFAULT_NETNS_PREFIX)
    .option('--token-file <path>', 'file holding the bearer token (an agent-role token for this host); else --token or TENET_TOKEN')
    .option('--resync <seconds>', 'kernel read-back (full pass) period', '30')
    .option('--relist <seconds>', "period of a fresh list of the controller's objects besides the watch", '600')
    .option(
      '--heartbeat <seconds>',
      'Host status heartbeat (with the rule hit counters) period (env TENET_HEARTBEAT)',
      process.env.TENET_HEARTBEAT ?? '10',
    )
    .option('--log-level <level>', 'pino log level', process.env.TENET_LOG_LEVEL ?? 'info')
    .option(
      '--underlay-mtu <bytes>',
      'MTU of the underlay; default: read from the device holding --underlay-ip (the overlay is 50 bytes less on IPv4, 70 on IPv6)',
    )
    .option(
      '--cluster-domain <domain>',
      "DNS domain of the tenant resolvers (env TENET_CLUSTER_DOMAIN; default: the controller's, which it must equal)",
      process.env.TENET_CLUSTER_DOMAIN,
    )
    .option(
      '--metrics-address <host:port>',
      'also serve /metrics and /healthz on this local TCP address (they are always on the attach socket) (env TENET_AGENT_METRICS)',
      process.env.TENET_AGENT_METRICS,
    )
    .option(
      '--flow-records <n>',
      'flow and deny records kept in memory (a ring; 0: record nothing) (env TENET_FLOW_RECORDS)',
      process.env.TENET_FLOW_RECORDS ?? String(DEFAULT_RING),
    )
    .option(
      '--flow-export <path>',
      'also write every flow and deny record as a JSON line to this file (0600) or unix:PATH, a collector socket (env TENET_FLOW_EXPORT)',
      process.env.TENET_FLOW_EXPORT,
    )
    .option('--bgp-peer <ip>', 'announce the floating IPs bound on this host over BGP to this upstream router (BIRD; docs/external.md)')
    .option('--bgp-asn <n>', "this host's AS number", '64513')
    .option('--bgp-peer-asn <n>', "the upstream router's AS number", '64512')
    .option('--bgp-dir <dir>', "BIRD's config, socket and log (default: /run/tenet/bgp-HOST)")
    .option('--docker-plugin [socket]', `also serve Docker's network and IPAM driver "tenet" (default socket ${DEFAULT_PLUGIN_SOCKET})`)
    .action(
      async (
        options: {
          controller?: string;
          tokenFile?: string;
          host: string;
          underlayIp: string;
          underlayIpv6?: string;
          underlayMtu?: string;
          socket: string;
          netnsPrefix: string;
          resync: string;
          relist: string;
          heartbeat: string;
          logLevel: string;
          clusterDomain?: string;
          dockerPlugin?: string | boolean;
          metricsAddress?: string;
          flowRecords: string;
          flowExport?: string;
          bgpPeer?: string;
          bgpAsn: string;
          bgpPeerAsn: string;
          bgpDir?: string;
        },
        command: Command,
      ) => {
        const logger = pino(
          { level: options.logLevel, base: { component: 'agent', host: options.host } },
          pino.destination({ fd: 2, sync: false }),
        );
        const resync = Number(options.resync);
        if (!Number.isFinite(resync) || resync < 1) throw new CliError('--resync must be a number of seconds >= 1', 2);
        const relist = Number(options.relist);
        if (!Number.isFinite(relist) || relist < 1) throw new CliError('--relist must be a number of seconds >= 1', 2);
        const heartbeat = Number(options.heartbeat);
        if (!Number.isFinite(heartbeat) || heartbeat < 0.2 || heartbeat > 3600)
          throw new CliError('--heartbeat must be a number of seconds from 0.2 to 3600', 2);
        const underlayMtu = options.underlayMtu === undefined ? undefined : Number(options.underlayMtu);
        if (underlayMtu !== undefined && !(Number.isInteger(underlayMtu) && underlayMtu >= 1330 && underlayMtu <= 65535)) {
          throw new CliError(
            '--underlay-mtu must be a whole number of bytes from 1330 to 65535 (containers need at least 1280 after the VXLAN overhead)',
            2,
          );
        }
        const flowRing = Number(options.flowRecords);
        if (!Number.isInteger(flowRing) || flowRing < 0 || flowRing > 1_000_000)
          throw new CliError('--flow-records must be a whole number from 0 to 1000000', 2);
        const controllers = (
          options.controller ??
          command.optsWithGlobals<{ server?: string }>().server ??
          process.env.TENET_SERVER ??
          'http://127.0.0.1:7400'
        )
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (controllers.length === 0) throw new CliError('--controller: no controller URL given', 2);
        let token = command.optsWithGlobals<{ token?: string }>().token ?? process.env.TENET_TOKEN;
        if (options.tokenFile) {
          try {
            token = fs.readFileSync(options.tokenFile, 'utf8').trim();
          } catch (error) {
            throw new CliError(`--token-file ${options.tokenFile}: ${(error as Error).message}`, 2);
          }
        }
        const caFile = command.optsWithGlobals<{ caFile?: string }>().caFile || process.env.TENET_CA || undefined;
        let ca: Buffer | undefined;
        if (caFile) {
          try {
            ca = fs.readFileSync(caFile);
          } catch (error) {
            throw new CliError(`--ca-file ${caFile}: ${(error as Error).message}`, 2);
          }
        }
        let agent: Agent;
        try {
          agent = new Agent({
            controller: controllers,
            underlayMtu,
            token,
            ca,
            hostName: options.host,
            underlayIP: options.underlayIp,
            ...(options.underlayIpv6 !== undefined ? { underlayIPv6: options.underlayIpv6 } : {}),
            socketPath: options.socket,
            netnsPrefix: options.netnsPrefix,
            resyncMs: resync * 1000,
            relistMs: relist * 1000,
            heartbeatMs: Math.round(heartbeat * 1000),
            clusterDomain: options.clusterDomain,
            flowRing,
            flowExport: options.flowExport || undefined,
            metricsAddress: options.metricsAddress,
            ...(options.bgpPeer
              ? {
                  bgp: {
                    peer: options.bgpPeer,
                    asn: Number(options.bgpAsn),
                    peerAsn: Number(options.bgpPeerAsn),
                    dir: options.bgpDir ?? `/run/tenet/bgp-${options.host}`,
                  },
                }
              : {}),
            log: (level, message, fields) => logger[level](fields ?? {}, message),
          });
        } catch (error) {
          throw new CliError((error as Error).message, 2);
        }
        await agent.start();
        let dockerPlugin: DockerPlugin | undefined;
        if (options.dockerPlugin) {
          const socketPath = typeof options.dockerPlugin === 'string' ? options.dockerPlugin : DEFAULT_PLUGIN_SOCKET;
          dockerPlugin = await startDockerPlugin({
            attach: agent.service,
            client: agent.client,
            hostName: options.host,
            socketPath,
            netnsPrefix: options.netnsPrefix,
            log: (message, fields) => logger.info(fields ?? {}, message),
          });
        }
        process.stdout.write(`tenet agent ready on ${options.socket}\n`);
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            logger.info({ signal }, 'stopping');
            void (dockerPlugin?.close() ?? Promise.resolve())
              .then(() => agent.stop())
              .then(() => {
                logger.flush();
                resolve();
              });
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        });
      },
    );
}
