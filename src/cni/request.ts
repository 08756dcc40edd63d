/**
 * Turns one CNI invocation into the agent's AttachRequest: labels from the configuration and
 * from what runtimes pass (CNI_ARGS K8S_POD_*, args, runtimeConfig), requested addresses from the
 * `ips` capability, `args.cni.ips` or CNI_ARGS IP= (podman), and a MAC from the `mac`
 * capability or CNI_ARGS MAC= (podman). Where the conventions name both args and CNI_ARGS,
 * args wins (CONVENTIONS.md, "CNI_ARGS").
 */
import type { AttachRequest } from '../attach/protocol';
import { canonicalIp, parseIp } from '../core/net/ip';
import { effectiveBandwidth } from '../core/dataplane/bandwidth';
import { LABEL_KEY_REGEX, LABEL_VALUE_REGEX, MAC_REGEX, NAME_REGEX } from '../core/model/names';
import type { AttachmentParams } from './env';
import { isObject, type TenetNetConf } from './config';
import { CniCode, CniError } from './errors';

/** Labels set from CNI_ARGS by Kubernetes-style runtimes (podman sends them too). */
export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';

/** How a CNI network configuration's endpoints are marked: its GC collects these and nothing else. */
export function cniAttacher(conf: TenetNetConf): string {
  return `cni/${conf.name}`;
}

/** `containerLabels`: what the runtime keeps for the container itself (podman's --label); every other runtime-supplied source wins over it. */
export function attachRequest(conf: TenetNetConf, params: AttachmentParams, containerLabels: Record<string, string> = {}): AttachRequest {
  const request: AttachRequest = {
    containerId: params.containerId,
    netns: params.netns,
    ifName: params.ifName,
    tenant: conf.tenant,
    network: conf.network,
    attachedBy: cniAttacher(conf),
  };
  const labels = runtimeLabels(conf, params, containerLabels);
  // The operator's labels in the configuration win over anything a runtime passes per container:
  // policy is written against them, so a container must not be able to relabel itself.
  Object.assign(labels, conf.labels);
  if (Object.keys(labels).length > 0) request.labels = labels;
  const namespace = params.args.get('K8S_POD_NAMESPACE');
  if (namespace && NAME_REGEX.test(namespace)) request.scope = namespace;
  const ips = requestedIps(conf, params);
  if (ips.length > 0) request.ips = ips;
  const mac = requestedMac(conf, params);
  if (mac) request.mac = mac;
  const bandwidth = effectiveBandwidth(conf.bandwidth);
  if (bandwidth) request.bandwidth = bandwidth;
  return request;
}

/**
 * Runtime-provided labels are optional metadata (CONVENTIONS.md, "args"): a label that does not
 * fit Tenet's label rules is dropped rather than failing the container.
 */
function runtimeLabels(conf: TenetNetConf, params: AttachmentParams, containerLabels: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {};
  const put = (key: unknown, value: unknown) => {
    if (typeof key === 'string' && typeof value === 'string' && LABEL_KEY_REGEX.test(key) && LABEL_VALUE_REGEX.test(value))
      labels[key] = value;
  };
  for (const [key, value] of Object.entries(containerLabels)) put(key, value);
  const podNamespace = params.args.get('K8S_POD_NAMESPACE');
  const podName = params.args.get('K8S_POD_NAME');
  if (podNamespace) put(POD_NAMESPACE_LABEL, podNamespace);
  if (podName) put(POD_NAME_LABEL, podName);
  const objects = [conf.args.labels, conf.args.podman_labels, conf.runtimeConfig.labels, conf.runtimeConfig['io.podman.labels']];
  for (const object of objects) if (isObject(object)) for (const [key, value] of Object.entries(object)) put(key, value);
  const cniArgs = conf.args.cni;
  if (isObject(cniArgs) && Array.isArray(cniArgs.labels)) {
    for (const item of cniArgs.labels) if (isObject(item)) put(item.key, item.value);
  }
  return labels;
}

function requestedIps(conf: TenetNetConf, params: AttachmentParams): string[] {
  const cniArgs = isObject(conf.args.cni) ? conf.args.cni : {};
  let source: unknown[] | undefined;
  if (Array.isArray(conf.runtimeConfig.ips)) source = conf.runtimeConfig.ips;
  else if (Array.isArray(cniArgs.ips)) source = cniArgs.ips;
  else if (params.args.has('IP')) source = (params.args.get('IP') ?? '').split(',').filter(Boolean);
  if (!source) return [];
  const ips: string[] = [];
  const families = new Set<number>();
  for (const item of source) {
    const text = typeof item === 'string' ? item.split('/')[0] : undefined;
    const address = text === undefined ? undefined : parseIp(text);
    const canonical = text === undefined ? undefined : canonicalIp(text);
    if (!address || !canonical) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid requested address', JSON.stringify(item));
    if (families.has(address.family))
      throw new CniError(CniCode.InvalidNetworkConfig, 'invalid requested address', `more than one IPv${address.family} address requested`);
    families.add(address.family);
    ips.push(canonical);
  }
  return ips;
}

function requestedMac(conf: TenetNetConf, params: AttachmentParams): string | undefined {
  const value = conf.runtimeConfig.mac ?? params.args.get('MAC');
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !MAC_REGEX.test(value))
    throw new CniError(CniCode.InvalidNetworkConfig, 'invalid requested MAC', JSON.stringify(value));
  return value.toLowerCase();
}
