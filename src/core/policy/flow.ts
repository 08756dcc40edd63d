/**
 * One flow between two endpoints (or an endpoint and an outside address) of a tenant, judged the
 * way the data plane judges it: the source host's program decides egress, the destination host's
 * program decides ingress (one program when both are on the same host or hosts are unknown).
 */
import type { Endpoint } from '../model/kinds/endpoint';
import { canonicalIp } from '../net/ip';
import { compileTenant, programForHost, syntheticInterface, type CompiledTenant } from './compile';
import { explain, explainAcross, type Explanation } from './explain';
import { endpointAddresses, type PolicyIntent } from './intent';
import type { L4Name, NftProgram } from './program';

export type FlowEnd = { endpoint: Endpoint; address: string } | { address: string };

/** Resolves what a user typed (endpoint name or address) to an endpoint of the tenant, or a bare address. */
export function resolveFlowEnd(intent: PolicyIntent, tenant: string, text: string, family?: 4 | 6): FlowEnd | undefined {
  const endpoints = intent.endpoints.filter((e) => e.metadata.tenant === tenant);
  const ip = canonicalIp(text);
  if (ip) {
    const owner = endpoints.find((e) => endpointAddresses(e).includes(ip));
    return owner ? { endpoint: owner, address: ip } : { address: ip };
  }
  const endpoint = endpoints.find((e) => e.metadata.name === text);
  if (!endpoint) return undefined;
  const addresses = endpointAddresses(endpoint);
  const address = addresses.find((a) => (family === 6 ? a.includes(':') : !a.includes(':'))) ?? addresses[0];
  return address ? { endpoint, address } : undefined;
}

function interfaceOf(endpoint: Endpoint): string {
  return endpoint.status?.hostIfName ?? syntheticInterface(endpoint);
}

export class FlowJudge {
  private readonly compiled: CompiledTenant;
  private readonly programs = new Map<string, NftProgram>();
  constructor(
    intent: PolicyIntent,
    readonly tenant: string,
  ) {
    this.compiled = compileTenant(intent, tenant);
  }

  program(host: string | undefined): NftProgram {
    const key = host ?? '';
    let program = this.programs.get(key);
    if (!program) {
      program = programForHost(this.compiled, { host, interfaceOf });
      this.programs.set(key, program);
    }
    return program;
  }

  judge(from: FlowEnd, to: FlowEnd, protocol: L4Name, port?: number): Explanation {
    const src = 'endpoint' in from ? from.endpoint : undefined;
    const dst = 'endpoint' in to ? to.endpoint : undefined;
    const packet = {
      src: from.address,
      dst: to.address,
      protocol,
      port,
      iif: src ? interfaceOf(src) : 'uplink',
      oif: dst ? interfaceOf(dst) : 'uplink',
    };
    const srcHost = src?.spec.host;
    const dstHost = dst?.spec.host;
    if (src && dst && srcHost !== undefined && dstHost !== undefined && srcHost !== dstHost) {
      return explainAcross(this.program(srcHost), this.program(dstHost), packet);
    }
    return explain(this.program(srcHost ?? dstHost), packet);
  }
}
