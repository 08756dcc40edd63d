/**
 * Docker's remote NetworkDriver and IpamDriver for Tenet. Every attachment goes through the agent's
 * attach API; durable state lives in the controller (see bindings.ts); nothing is remembered locally
 * that a restart would lose: endpoint ids are the attach API's container ids.
 */
import type { AttachResult } from '../attach/protocol';
import type { TenetClient } from '../client/api-client';
import type { Network } from '../core/model/kinds/network';
import { parseCidr, parseIp } from '../core/net/ip';
import { SubnetPool } from '../core/ipam/subnet-pool';
import { MAC_REGEX } from '../core/model/names';
import type { AttachApi } from '../attach/api';
import { AddressPicker } from './address-picker';
import { BindingStore } from './bindings';
import {
  assertDockerId,
  bindingAnnotation,
  bindingFromNetworkOptions,
  containerIdFor,
  DriverError,
  genericOptions,
  knownPoolId,
  labelsFrom,
  parsePoolId,
  pendingAnnotation,
  pendingPoolId,
  placeholderPool,
  shortHash,
  stagingIfName,
  tokenOfPlaceholder,
  type NetworkBinding,
} from './naming';
import {
  GATEWAY_ADDRESS_TYPE,
  REQUEST_ADDRESS_TYPE,
  type CreateEndpointRequest,
  type CreateNetworkRequest,
  type EndpointRef,
  type JoinRequest,
  type RequestAddressRequest,
  type RequestPoolRequest,
} from './protocol';
import { linkExists, type StagingNamespace } from './staging';

export const ADDRESS_SPACE = 'tenet';

export interface DockerDriverOptions {
  attach: AttachApi;
  client: TenetClient;
  /** This host's name in the controller (its Host object keeps the driver's bindings). */
  hostName: string;
  staging: StagingNamespace;
  /** A process in the Docker daemon's network namespace (the agent itself by default). */
  daemonNetnsPid?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

type Json = Record<string, unknown>;

export class DockerDriver {
  private readonly bindings: BindingStore;
  private readonly picker = new AddressPicker();
  /**
   * Attaches into the staging namespace one at a time, each until its interface has moved out: the attach
   * refuses a namespace that has a default route already, and one waiting there would have one.
   */
  private stagingTail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DockerDriverOptions) {
    this.bindings = new BindingStore(options.client, options.hostName);
  }

  /** Dispatches one plugin call; errors become {Err} (NetworkDriver) or {Error} (IpamDriver) bodies. */
  async handle(path: string, body: Json): Promise<Json> {
    const [, api, call] = /^\/(Plugin|NetworkDriver|IpamDriver)\.(\w+)$/.exec(path) ?? [];
    const errorKey = api === 'IpamDriver' ? 'Error' : 'Err';
    try {
      const handler = api && call ? this.handlers[`${api}.${call}`] : undefined;
      if (!handler) throw new DriverError(`${path} is not supported`);
      return await handler(body);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.log?.('docker plugin call failed', { path, error: message });
      return { [errorKey]: message };
    }
  }

  private readonly handlers: Record<string, (body: Json) => Promise<Json>> = {
    'Plugin.Activate': async () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
    'NetworkDriver.GetCapabilities': async () => ({ Scope: 'local', ConnectivityScope: 'global' }),
    'NetworkDriver.CreateNetwork': (b) => this.createNetwork(b as unknown as CreateNetworkRequest),
    'NetworkDriver.DeleteNetwork': (b) => this.deleteNetwork(b),
    'NetworkDriver.AllocateNetwork': async () => ({ Options: {} }),
    'NetworkDriver.FreeNetwork': async () => ({}),
    'NetworkDriver.CreateEndpoint': (b) => this.createEndpoint(b as unknown as CreateEndpointRequest),
    'NetworkDriver.EndpointOperInfo': (b) => this.endpointInfo(b as unknown as EndpointRef),
    'NetworkDriver.DeleteEndpoint': (b) => this.deleteEndpoint(b as unknown as EndpointRef),
    'NetworkDriver.Join': (b) => this.join(b as unknown as JoinRequest),
    'NetworkDriver.Leave': async () => ({}),
    'NetworkDriver.ProgramExternalConnectivity': async () => ({}),
    'NetworkDriver.RevokeExternalConnectivity': async () => ({}),
    'NetworkDriver.DiscoverNew': async () => ({}),
    'NetworkDriver.DiscoverDelete': async () => ({}),
    'IpamDriver.GetCapabilities': async () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
    'IpamDriver.GetDefaultAddressSpaces': async () => ({
      LocalDefaultAddressSpace: ADDRESS_SPACE,
      GlobalDefaultAddressSpace: ADDRESS_SPACE,
    }),
    'IpamDriver.RequestPool': (b) => this.requestPool(b as unknown as RequestPoolRequest),
    'IpamDriver.ReleasePool': (b) => this.releasePool(b),
    'IpamDriver.RequestAddress': (b) => this.requestAddress(b as unknown as RequestAddressRequest),
    'IpamDriver.ReleaseAddress': (b) => this.releaseAddress(b),
  };

  // ---- IPAM ----

  private async requestPool(request: RequestPoolRequest): Promise<Json> {
    const v6 = request.V6 === true;
    const family = v6 ? 6 : 4;
    const opts = request.Options ?? {};
    let target: { tenant: string; network: string } | undefined;
    if (opts.tenant || opts.network) {
      if (!opts.tenant || !opts.network) throw new DriverError('--ipam-opt tenant= and --ipam-opt network= go together');
      target = { tenant: opts.tenant, network: opts.network };
    } else if (request.Pool) {
      target = await this.networkBySubnet(request.Pool);
    }
    if (target) {
      const network = await this.tenetNetwork(target.tenant, target.network);
      const subnet = network.spec.subnets.find((s) => parseCidr(s.cidr)?.family === family);
      if (!subnet) throw new DriverError(`Tenet network ${target.tenant}/${target.network} has no IPv${family} subnet`);
      if (request.Pool && parseCidr(request.Pool) && request.Pool !== subnet.cidr)
        throw new DriverError(`--subnet ${request.Pool} differs from ${target.tenant}/${target.network}'s ${subnet.cidr}`);
      const gateway = `${gatewayOf(subnet)}/${parseCidr(subnet.cidr)!.prefix}`;
      return { PoolID: knownPoolId(target.tenant, target.network, v6), Pool: subnet.cidr, Data: { [GATEWAY_ADDRESS_TYPE]: gateway } };
    }
    // Docker asks for the pool before it passes -o tenant/network to CreateNetwork: hand out a placeholder
    // (one per family: `--ipv6` asks twice), bound to the Tenet network when CreateNetwork names it.
    let token = '';
    for (let attempt = 0; attempt < 16 && !token; attempt++) {
      const candidate = shortHash(`${Date.now()}-${Math.random()}`, 4);
      if (!(await this.bindings.hasPool(candidate))) token = candidate;
    }
    if (!token) throw new DriverError('no free placeholder pool');
    const placeholder = placeholderPool(token, v6);
    return { PoolID: pendingPoolId(token, v6), Pool: placeholder.pool, Data: { [GATEWAY_ADDRESS_TYPE]: placeholder.gateway } };
  }

  private async releasePool(body: Json): Promise<Json> {
    const pool = parsePoolId(body.PoolID);
    if (pool.kind === 'pending') await this.bindings.put({ [pendingAnnotation(pool.token)]: null });
    return {};
  }

  private async requestAddress(request: RequestAddressRequest): Promise<Json> {
    const pool = parsePoolId(request.PoolID);
    const gatewayRequest = request.Options?.[REQUEST_ADDRESS_TYPE] === GATEWAY_ADDRESS_TYPE;
    // A pending pool is not bound before CreateNetwork; its gateway is the placeholder's.
    if (pool.kind === 'pending' && gatewayRequest) return { Address: placeholderPool(pool.token, pool.family === 6).gateway };
    const binding =
      pool.kind === 'known' ? { tenant: pool.tenant, network: pool.network, labels: {} } : await this.bindings.pool(pool.token);
    const network = await this.tenetNetwork(binding.tenant, binding.network);
    const subnet = network.spec.subnets.find((s) => parseCidr(s.cidr)?.family === pool.family);
    if (!subnet) throw new DriverError(`Tenet network ${binding.tenant}/${binding.network} has no IPv${pool.family} subnet`);
    const prefix = parseCidr(subnet.cidr)!.prefix;
    if (gatewayRequest) return { Address: `${gatewayOf(subnet)}/${prefix}` };
    const withPrefix = (address: string) => (pool.family === 6 ? v6Address(address) : `${address}/${prefix}`);
    if (request.Address) {
      // docker run --ip: checked for real when the endpoint attaches.
      if (!parseIp(request.Address)) throw new DriverError(`invalid address ${request.Address}`);
      return { Address: withPrefix(request.Address) };
    }
    // Every taken address, from the controller's allocations: the endpoints this agent may list are only
    // those of tenants it hosts, so a tenant's first container here collided with the other hosts' (409
    // "already used by endpoint", and every retry proposed the same address again).
    const used = await this.options.client.usedAddresses(binding.tenant, binding.network);
    const picked = this.picker.pick(`${binding.tenant}/${binding.network}`, [subnet], used, pool.family);
    if (!picked) throw new DriverError(`Tenet network ${binding.tenant}/${binding.network} has no free IPv${pool.family} address`);
    return { Address: withPrefix(picked.address) };
  }

  private async releaseAddress(body: Json): Promise<Json> {
    // The address is the endpoint's in Tenet and is freed by its detach (DeleteEndpoint); only forget the proposal.
    const pool = parsePoolId(body.PoolID);
    if (typeof body.Address === 'string' && pool.kind === 'known')
      this.picker.release(`${pool.tenant}/${pool.network}`, body.Address.split('/')[0]);
    return {};
  }

  // ---- networks ----

  private async createNetwork(request: CreateNetworkRequest): Promise<Json> {
    const networkId = assertDockerId(request.NetworkID, 'NetworkID');
    const binding = bindingFromNetworkOptions(request.Options);
    await this.tenetNetwork(binding.tenant, binding.network);
    const entries: Record<string, NetworkBinding> = { [bindingAnnotation(networkId)]: binding };
    for (const data of [...(request.IPv4Data ?? []), ...(request.IPv6Data ?? [])]) {
      const token = tokenOfPlaceholder(data.Pool);
      if (token) entries[pendingAnnotation(token)] = binding;
      else if (data.Pool) {
        const subnet = (await this.tenetNetwork(binding.tenant, binding.network)).spec.subnets.find((s) => s.cidr === data.Pool);
        if (!subnet) throw new DriverError(`pool ${data.Pool} is not a subnet of Tenet network ${binding.tenant}/${binding.network}`);
      }
    }
    await this.bindings.put(entries);
    this.options.log?.('docker network bound', { networkId: networkId.slice(0, 12), tenant: binding.tenant, network: binding.network });
    return {};
  }

  private async deleteNetwork(body: Json): Promise<Json> {
    const networkId = assertDockerId(body.NetworkID, 'NetworkID');
    await this.bindings.put({ [bindingAnnotation(networkId)]: null });
    return {};
  }

  // ---- endpoints ----

  private async createEndpoint(request: CreateEndpointRequest): Promise<Json> {
    const networkId = assertDockerId(request.NetworkID, 'NetworkID');
    const endpointId = assertDockerId(request.EndpointID, 'EndpointID');
    const binding = await this.bindings.network(networkId);
    const problems: string[] = [];
    const labels = { ...binding.labels, ...labelsFrom(genericOptions(request.Options), problems) };
    if (problems.length > 0) throw new DriverError(problems.join('; '));
    const ips = [request.Interface?.Address, request.Interface?.AddressIPv6].filter((a): a is string => !!a).map((a) => a.split('/')[0]);
    const mac = request.Interface?.MacAddress || undefined;
    if (mac && !MAC_REGEX.test(mac)) throw new DriverError(`invalid MAC ${mac}`);
    const ifName = stagingIfName(endpointId);
    await this.options.staging.ensure();
    const attachRequest = {
      containerId: containerIdFor(endpointId),
      netns: this.options.staging.path,
      ifName,
      tenant: binding.tenant,
      network: binding.network,
      attachedBy: 'docker',
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(ips.length > 0 ? { ips } : {}),
      ...(mac ? { mac } : {}),
    };
    const staged = async (): Promise<AttachResult> => {
      try {
        const attached = await this.options.attach.attach(attachRequest);
        await this.options.staging.moveOut(ifName, this.options.daemonNetnsPid ?? process.pid);
        return attached;
      } catch (error) {
        await this.options.attach.detach({ containerId: attachRequest.containerId, ifName }).catch(() => undefined);
        throw error;
      }
    };
    const turn = this.stagingTail.then(staged, staged);
    this.stagingTail = turn.catch(() => undefined);
    const result = await turn;
    this.options.log?.('docker endpoint attached', {
      endpointId: endpointId.slice(0, 12),
      endpoint: result.endpoint,
      addresses: result.addresses.map((a) => a.address),
    });
    // Docker sets on the container what its IPAM handed out. An address family Docker did not ask for
    // (a dual-stack Tenet network under a Docker network without --ipv6) is still the endpoint's in
    // Tenet: report it, so the container has it and Join's gateway of that family has a route.
    const iface: Json = {};
    const v4 = result.addresses.find((a) => a.family === 4);
    const v6 = result.addresses.find((a) => a.family === 6);
    if (!request.Interface?.Address && v4) iface.Address = v4.address;
    if (!request.Interface?.AddressIPv6 && v6) iface.AddressIPv6 = v6Address(v6.address);
    if (!mac) iface.MacAddress = result.mac;
    return Object.keys(iface).length > 0 ? { Interface: iface } : {};
  }

  private async endpointInfo(request: EndpointRef): Promise<Json> {
    const endpointId = assertDockerId(request.EndpointID, 'EndpointID');
    const found = (await this.options.attach.attachments()).find((a) => a.containerId === containerIdFor(endpointId));
    return { Value: found ? { tenant: found.tenant, network: found.network, endpoint: found.endpoint } : {} };
  }

  private async join(request: JoinRequest): Promise<Json> {
    const networkId = assertDockerId(request.NetworkID, 'NetworkID');
    const endpointId = assertDockerId(request.EndpointID, 'EndpointID');
    const binding = await this.bindings.network(networkId);
    const ifName = stagingIfName(endpointId);
    if (!(await linkExists(ifName)))
      throw new DriverError(`endpoint ${endpointId.slice(0, 12)} has no interface ${ifName}; remove and recreate the container`);
    const network = await this.tenetNetwork(binding.tenant, binding.network);
    const answer: Json = { InterfaceName: { SrcName: ifName, DstPrefix: 'eth' }, DisableGatewayService: true };
    const staticRoutes: Json[] = [];
    for (const subnet of network.spec.subnets) {
      const cidr = parseCidr(subnet.cidr);
      if (cidr?.family === 4) answer.Gateway = gatewayOf(subnet);
      if (cidr?.family === 6) {
        const gateway = gatewayOf(subnet);
        answer.GatewayIPv6 = gateway;
        // The container's IPv6 address is a /128 (see v6Address): the gateway is on-link through this route only.
        staticRoutes.push({ Destination: `${gateway}/128`, RouteType: ROUTE_CONNECTED });
      }
    }
    if (staticRoutes.length > 0) answer.StaticRoutes = staticRoutes;
    return answer;
  }

  private async deleteEndpoint(request: EndpointRef): Promise<Json> {
    const endpointId = assertDockerId(request.EndpointID, 'EndpointID');
    await this.options.attach.detach({ containerId: containerIdFor(endpointId) });
    return {};
  }

  // ---- helpers ----

  private async tenetNetwork(tenant: string, name: string): Promise<Network> {
    const network = await this.options.client.find<Network>('Network', name, tenant);
    if (!network) throw new DriverError(`Tenet network ${tenant}/${name} does not exist`);
    return network;
  }

  /** The one Tenet network with exactly this subnet; tenants may reuse subnets, so ambiguity is an error. */
  private async networkBySubnet(cidr: string): Promise<{ tenant: string; network: string } | undefined> {
    const all = await this.options.client.list<Network>('Network');
    const matches = all.items.filter((n) => n.spec.subnets.some((s) => s.cidr === cidr));
    if (matches.length > 1)
      throw new DriverError(`--subnet ${cidr} belongs to several Tenet networks; use --ipam-opt tenant=T --ipam-opt network=N`);
    const match = matches[0];
    return match ? { tenant: match.metadata.tenant ?? '', network: match.metadata.name } : undefined;
  }
}

/** libnetwork's types.CONNECTED: a route on the interface without a gateway. */
const ROUTE_CONNECTED = 1;

/**
 * The IPv6 address Docker puts on the container: a /128. With the subnet's prefix Docker adds an
 * on-link route for the whole subnet and the container solicits same-subnet peers itself; the host
 * end answers ARP for any address (proxy_arp) but NDP only for addresses it has a proxy entry for
 * (the gateway), so IPv6 peers were unreachable. A /128 sends everything to the gateway, as Tenet's
 * own attach does (noprefixroute).
 */
function v6Address(address: string): string {
  return `${address.split('/')[0]}/128`;
}

function gatewayOf(subnet: { cidr: string; gateway?: string }): string {
  return new SubnetPool(subnet).gatewayText();
}
