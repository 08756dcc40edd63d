/**
 * An in-memory stand-in for the agent's attach API, for unit tests of the pure CNI logic only
 * (the runtime and shim tests use the real agent). It allocates from 10.9.0.0/24 per tenant/network.
 */
import type { AttachRequest, AttachResult, Attachment, DetachRequest } from '../../src/attach/protocol';
import { AttachApiError, type AttachApi } from '../../src/attach/api';

export class FakeAttach implements AttachApi {
  readonly attached = new Map<string, { request: AttachRequest; result: AttachResult }>();
  readonly requests: AttachRequest[] = [];
  networks = new Set(['acme/web']);
  controllerReachable = true;
  /** When set, attach records the attachment and then fails (to prove the CNI layer cleans up). */
  failAfterAttach?: AttachApiError;
  private next = 2;

  async attach(request: AttachRequest): Promise<AttachResult> {
    this.requests.push(request);
    if (!this.networks.has(`${request.tenant}/${request.network}`))
      throw new AttachApiError(404, 'NotFound', `network ${request.tenant}/${request.network} not found`);
    const ip = request.ips?.[0] ?? `10.9.0.${this.next++}`;
    const result: AttachResult = {
      endpoint: `ep-${request.containerId.slice(0, 12)}`,
      tenant: request.tenant,
      network: request.network,
      ifName: request.ifName,
      mac: request.mac ?? '02:00:0a:09:00:02',
      mtu: 1450,
      addresses: [{ address: `${ip}/24`, gateway: '10.9.0.1', family: 4 }],
      routes: [{ destination: '0.0.0.0/0', gateway: '10.9.0.1' }],
      hostIfName: `tn${request.containerId.slice(0, 8)}`,
    };
    this.attached.set(key(request.containerId, request.ifName), { request, result });
    if (this.failAfterAttach) throw this.failAfterAttach;
    return result;
  }

  async detach(request: DetachRequest): Promise<{ detached: boolean }> {
    let detached = false;
    for (const [k, v] of this.attached) {
      if (v.request.containerId === request.containerId && (!request.ifName || v.request.ifName === request.ifName)) {
        this.attached.delete(k);
        detached = true;
      }
    }
    return { detached };
  }

  async check(request: AttachRequest): Promise<AttachResult> {
    const found = this.attached.get(key(request.containerId, request.ifName));
    if (!found) throw new AttachApiError(404, 'NotFound', 'not attached');
    return found.result;
  }

  async attachments(): Promise<Attachment[]> {
    return [...this.attached.values()].map(({ request, result }) => ({
      containerId: request.containerId,
      ifName: request.ifName,
      endpoint: result.endpoint,
      tenant: request.tenant,
      network: request.network,
      ...(request.attachedBy ? { attachedBy: request.attachedBy } : {}),
    }));
  }

  async healthz(): Promise<{ ok: boolean; controllerReachable: boolean }> {
    return { ok: true, controllerReachable: this.controllerReachable };
  }
}

function key(containerId: string, ifName: string): string {
  return `${containerId}/${ifName}`;
}
