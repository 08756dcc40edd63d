/**
 * `tenet lab cni-conf`: a ready CNI conflist that points tenet-cni at one lab host's agent socket, so
 * podman, containerd or cnitool on this machine can put containers on that host's Tenet networks.
 */
import type { Command } from 'commander';
import { NAME_REGEX } from '../core/model/names';
import { CliError } from '../cli/context';
import { LabError, resolveLab, type LabState } from './state';

/** CNI network names (SPEC.md): alphanumeric first, then alphanumerics, "_", "." or "-". */
const CNI_NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface CniConfOptions {
  host: string;
  tenant: string;
  network: string;
  nameAs?: string;
}

export function labCniConf(state: LabState, options: CniConfOptions): Record<string, unknown> {
  const host = state.hosts.find((h) => h.name === options.host);
  if (!host) throw new LabError(`lab ${state.name} has no host "${options.host}" (hosts: ${state.hosts.map((h) => h.name).join(', ')})`);
  if (!NAME_REGEX.test(options.tenant)) throw new LabError(`--tenant "${options.tenant}" is not a valid Tenet name`);
  if (!NAME_REGEX.test(options.network)) throw new LabError(`--network "${options.network}" is not a valid Tenet name`);
  const name = options.nameAs ?? `${state.name}-${host.name}-${options.tenant}-${options.network}`;
  if (!CNI_NETWORK_NAME.test(name)) throw new LabError(`--name-as "${name}" is not a valid CNI network name`);
  return {
    // 1.0.0, not 1.1.0: podman 4.3 rejects 1.1.0 results (RECIPES.md).
    cniVersion: '1.0.0',
    name,
    plugins: [{ type: 'tenet', tenant: options.tenant, network: options.network, agentSocket: host.socket, capabilities: { ips: true, mac: true } }],
  };
}

export function registerCniConf(lab: Command): void {
  lab
    .command('cni-conf')
    .description("print a CNI conflist pointing tenet-cni at a lab host's agent socket")
    .option('--name <lab>', 'lab name (default: the only lab)')
    .requiredOption('--host <host>', 'lab host, e.g. h1')
    .requiredOption('--tenant <tenant>', 'tenant')
    .requiredOption('--network <network>', 'network of the tenant')
    .option('--name-as <net>', 'CNI network name (default: <lab>-<host>-<tenant>-<network>)')
    .action((options: { name?: string; host: string; tenant: string; network: string; nameAs?: string }) => {
      try {
        process.stdout.write(`${JSON.stringify(labCniConf(resolveLab(options.name), options), null, 2)}\n`);
      } catch (error) {
        if (error instanceof LabError) throw new CliError(error.message);
        throw error;
      }
    });
}
