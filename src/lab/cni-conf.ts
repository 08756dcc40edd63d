/**
 * `tenet lab cni-conf`: a ready CNI conflist that points tenet-cni at one lab host's agent socket, so
 * podman, containerd or cnitool on this machine can put containers on that host's Tenet networks.
 */
import { NAME_REGEX } from '../core/model/names';
import { LabError, type LabState } from './state';

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
    plugins: [
      { type: 'tenet', tenant: options.tenant, network: options.network, agentSocket: host.socket, capabilities: { ips: true, mac: true } },
    ],
  };
}
