/** `tenet lab`: a multi-host lab of network namespaces on this machine (see src/lab/ and docs/lab.md). */
import type { Command } from 'commander';
import { labDown, execTarget, labExec, labRm, labRun, labUp, parseLabels, parsePorts, restartAgent, withLabLock } from '../../lab/lab';
import { runDemo } from '../../lab/demo';
import { formatProbeTable, parseProbeSpecs, runProbe } from '../../lab/probe';
import { LabError, listLabs, resolveLab, saveLab } from '../../lab/state';
import { labCniConf } from '../../lab/cni-conf';
import { CliError } from '../context';

const out = (line: string): void => void process.stdout.write(`${line}\n`);

function wrap<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof LabError) throw new CliError(error.message);
      throw error;
    }
  };
}

export function register(program: Command): void {
  const lab = program
    .command('lab')
    .description('a real multi-host lab on this machine: hosts and containers are network namespaces (root)');
  registerCniConf(lab);

  lab
    .command('up')
    .description('create the fabric, N host namespaces, a controller (unless --server) and one agent per host')
    .requiredOption('--name <lab>', 'lab name (letters and digits, at most 10)')
    .option('--hosts <n>', 'number of hosts', '2')
    .option('--server <url>', 'use this controller instead of starting one (unix:/abs/path.sock; admin token from --token or TENET_TOKEN)')
    .action(
      wrap(async (options: { name: string; hosts: string; server?: string }, command: Command) => {
        const token = command.optsWithGlobals<{ token?: string }>().token;
        const state = await labUp({ name: options.name, hosts: Number(options.hosts), server: options.server, token, log: out });
        out(`state: ${state.dir}/lab.json`);
        out(`next: eval "$(tenet lab env --name ${state.name})"; tenet apply -f ...; tenet lab run C --host h1 --tenant T --network N`);
      }),
    );

  lab
    .command('down')
    .description('stop every process of the lab and delete every namespace, link and file it created (harmless to repeat)')
    .option('--name <lab>', 'lab name (default: the only lab)')
    .action(
      wrap(async (options: { name?: string }) => {
        const name = options.name ?? (listLabs().length === 1 ? listLabs()[0] : undefined);
        if (!name)
          throw new LabError(
            listLabs().length ? `several labs exist (${listLabs().join(', ')}); choose one with --name` : 'no lab exists; nothing to do',
          );
        await labDown(name, out);
      }),
    );

  lab
    .command('run <container>')
    .description('create a container namespace and attach it through the host agent')
    .option('--name <lab>', 'lab name (default: the only lab)')
    .requiredOption('--host <host>', 'lab host, e.g. h1')
    .requiredOption('--tenant <tenant>', 'tenant')
    .requiredOption('--network <network>', 'network of the tenant')
    .option('--labels <k=v,...>', 'endpoint labels')
    .option('--ip <addresses>', 'requested address(es), comma-separated (one per family)')
    .option('--scope <scope>', 'label scope of the endpoint (as a Kubernetes namespace: policies may select by it)')
    .option(
      '--ports <ports>',
      'container ports, [NAME=]PORT[/tcp|udp|sctp] comma-separated, e.g. http=80,dns=53/udp (policies may name them)',
    )
    .action(
      wrap(
        async (
          container: string,
          options: {
            name?: string;
            host: string;
            tenant: string;
            network: string;
            labels?: string;
            ip?: string;
            scope?: string;
            ports?: string;
          },
        ) => {
          const state = resolveLab(options.name);
          const ips = options.ip
            ? options.ip
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : undefined;
          const labels = parseLabels(options.labels);
          const ports = parsePorts(options.ports);
          await withLabLock(state.name, async (current) => {
            const made = await labRun(current, container, {
              host: options.host,
              tenant: options.tenant,
              network: options.network,
              labels,
              ips,
              scope: options.scope,
              ports,
            });
            current.containers.push(made);
            saveLab(current);
            out(`${made.name} on ${made.host}: ${made.tenant}/${made.network} ${made.addresses.join(' ')} (endpoint ${made.endpoint})`);
          });
        },
      ),
    );

  lab
    .command('restart-agent <host>')
    .description(
      "stop one host's agent (every agent on its socket, also one started by hand) and start it again; waits for its first full pass",
    )
    .option('--name <lab>', 'lab name (default: the only lab)')
    .option('--kill', 'stop it with SIGKILL (as a crash) instead of SIGTERM')
    .action(
      wrap(async (host: string, options: { name?: string; kill?: boolean }) => {
        const state = resolveLab(options.name);
        await withLabLock(state.name, async (current) => {
          const restarted = await restartAgent(current, host, options.kill ? 'SIGKILL' : 'SIGTERM');
          saveLab(current);
          out(`agent ${restarted.name} restarted: pid ${restarted.agentPid}, socket ${restarted.socket}`);
        });
      }),
    );

  lab
    .command('rm <container>')
    .description('detach a container and delete its namespace')
    .option('--name <lab>', 'lab name (default: the only lab)')
    .action(
      wrap(async (container: string, options: { name?: string }) => {
        const state = resolveLab(options.name);
        await withLabLock(state.name, async (current) => {
          await labRm(current, container);
          current.containers = current.containers.filter((c) => c.name !== container);
          saveLab(current);
          out(`${container} removed`);
        });
      }),
    );

  lab
    .command('exec <container> [command...]')
    .description('run a command inside a container, or in the outside namespace (`outside`): tenet lab exec C -- ping -c1 10.0.0.2')
    .option('--name <lab>', 'lab name (default: the only lab)')
    .allowUnknownOption()
    .action(
      wrap(async (container: string, command: string[], options: { name?: string }) => {
        const state = resolveLab(options.name);
        const code = await labExec(execTarget(state, container), command);
        if (code !== 0) throw new CliError(`command exited with code ${code}`, code);
      }),
    );

  lab
    .command('probe')
    .description('try every ordered pair of lab containers for real and print the connectivity matrix')
    .option('--name <lab>', 'lab name (default: the only lab)')
    .option('--tenant <tenant>', 'only containers of this tenant')
    .option('--port <specs>', 'what to try: icmp, tcp/PORT, udp/PORT (comma-separated)', 'icmp,tcp/80,udp/53')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(
      wrap(async (options: { name?: string; tenant?: string; port: string; output: string }) => {
        if (options.output !== 'table' && options.output !== 'json') throw new CliError('-o must be table or json', 2);
        const state = resolveLab(options.name);
        const specs = parseProbeSpecs(options.port);
        const results = await runProbe(state, { tenant: options.tenant, specs });
        out(options.output === 'json' ? JSON.stringify(results, null, 2) : formatProbeTable(state, results, options.tenant, specs));
      }),
    );

  lab
    .command('env')
    .description('print shell export lines to use the lab controller with the tenet CLI')
    .option('--name <lab>', 'lab name (default: the only lab)')
    .action(
      wrap(async (options: { name?: string }) => {
        const state = resolveLab(options.name);
        const server = state.controller.url ?? state.controller.servers[0];
        out(`export TENET_SERVER=${server}`);
        if (state.controller.token) out(`export TENET_TOKEN=${state.controller.token}`);
        out(
          `# lab ${state.name}: hosts ${state.hosts.map((h) => h.name).join(' ')}; containers ${state.containers.map((c) => c.name).join(' ') || '-'}`,
        );
      }),
    );

  lab
    .command('demo')
    .description(
      '3 hosts, two tenants on identical subnets, containers everywhere, the probe matrix, then a policy (recreated if it exists)',
    )
    .option('--name <lab>', 'name of the demo lab', 'demo')
    .action(
      wrap(async (options: { name: string }) => {
        await runDemo(out, options.name);
      }),
    );
}

/** `tenet lab cni-conf` (the conflist itself: src/lab/cni-conf.ts). */
function registerCniConf(lab: Command): void {
  lab
    .command('cni-conf')
    .description("print a CNI conflist pointing tenet-cni at a lab host's agent socket")
    .option('--name <lab>', 'lab name (default: the only lab)')
    .requiredOption('--host <host>', 'lab host, e.g. h1')
    .requiredOption('--tenant <tenant>', 'tenant')
    .requiredOption('--network <network>', 'network of the tenant')
    .option('--name-as <net>', 'CNI network name (default: <lab>-<host>-<tenant>-<network>)')
    .action(
      wrap(async (options: { name?: string; host: string; tenant: string; network: string; nameAs?: string }) => {
        process.stdout.write(`${JSON.stringify(labCniConf(resolveLab(options.name), options), null, 2)}\n`);
      }),
    );
}
