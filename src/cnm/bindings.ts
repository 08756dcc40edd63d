/**
 * Durable driver state, kept in the controller (never in the agent's memory or local files): which
 * Tenet tenant/network (and labels) each Docker network and pending pool maps to, as annotations on
 * this host's Host object. Docker networks are local to one daemon, hence the host. A memory cache
 * in front; after an agent restart it is refilled from the controller on first use.
 */
import type { TenetClient } from '../client/api-client';
import type { TenetObject } from '../core/model/object';
import { bindingAnnotation, DriverError, pendingAnnotation, type NetworkBinding } from './naming';

export class BindingStore {
  private readonly cache = new Map<string, NetworkBinding>();

  constructor(
    private readonly client: TenetClient,
    private readonly hostName: string,
  ) {}

  async network(networkId: string): Promise<NetworkBinding> {
    return this.read(
      bindingAnnotation(networkId),
      `Docker network ${networkId.slice(0, 12)} is not a Tenet network (was it created with -d tenet -o tenant=T -o network=N?)`,
    );
  }

  async pool(token: string): Promise<NetworkBinding> {
    return this.read(pendingAnnotation(token), `pool ${token} is not bound to a Tenet network yet`);
  }

  async hasPool(token: string): Promise<boolean> {
    return (await this.annotations())[pendingAnnotation(token)] !== undefined;
  }

  async put(entries: Record<string, NetworkBinding | null>): Promise<void> {
    const annotations: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(entries)) annotations[key] = value === null ? null : JSON.stringify(value);
    await this.client.patch('Host', this.hostName, undefined, { metadata: { annotations } });
    for (const [key, value] of Object.entries(entries)) {
      if (value === null) this.cache.delete(key);
      else this.cache.set(key, value);
    }
  }

  private async read(key: string, missing: string): Promise<NetworkBinding> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const text = (await this.annotations())[key];
    if (text === undefined) throw new DriverError(missing);
    const binding = JSON.parse(text) as NetworkBinding;
    this.cache.set(key, binding);
    return binding;
  }

  private async annotations(): Promise<Record<string, string>> {
    const host = await this.client.get<TenetObject>('Host', this.hostName);
    return host.metadata.annotations ?? {};
  }
}
