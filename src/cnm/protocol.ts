/**
 * The parts of Docker's plugin protocol tenet speaks (libnetwork drivers/remote/api and
 * ipams/remote/api): JSON over HTTP POST on /run/docker/plugins/<name>.sock, one path per call.
 * NetworkDriver answers carry errors in "Err", IpamDriver answers in "Error".
 */
export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** Docker puts `-o key=value` driver options here inside CreateNetwork/CreateEndpoint Options. */
export const GENERIC_OPTIONS = 'com.docker.network.generic';
/** RequestAddress option naming the gateway request. */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
export const GATEWAY_ADDRESS_TYPE = 'com.docker.network.gateway';

export interface IpamData {
  AddressSpace?: string;
  Pool?: string;
  Gateway?: string;
  AuxAddresses?: Record<string, string>;
}

export interface CreateNetworkRequest {
  NetworkID: string;
  Options?: Record<string, unknown>;
  IPv4Data?: IpamData[];
  IPv6Data?: IpamData[];
}

export interface EndpointInterface {
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}

export interface CreateEndpointRequest {
  NetworkID: string;
  EndpointID: string;
  Interface?: EndpointInterface;
  Options?: Record<string, unknown>;
}

export interface EndpointRef {
  NetworkID: string;
  EndpointID: string;
}

export interface JoinRequest extends EndpointRef {
  SandboxKey?: string;
  Options?: Record<string, unknown>;
}

export interface RequestPoolRequest {
  AddressSpace?: string;
  Pool?: string;
  SubPool?: string;
  Options?: Record<string, string>;
  V6?: boolean;
}

export interface RequestAddressRequest {
  PoolID: string;
  Address?: string;
  Options?: Record<string, string>;
}
