/**
 * Endpoint status writes, shared by the attach path (an attach's `ready`, a lost interface's `lost`)
 * and the reconcile loop (its passes' `ready`/`error`). Writes of one endpoint run one after another,
 * and the last phase written per endpoint is remembered, so a pass does not write again what an
 * attach (or an earlier pass) already wrote.
 */
import { ApiError } from '../client/errors';
import type { TenetClient } from '../client/api-client';
import type { Endpoint } from '../core/model/kinds/endpoint';
import type { TenetObject } from '../core/model/object';
import type { Follower } from './follower';
import type { Log } from './reconciler';

export type EndpointPhase = 'ready' | 'error' | 'lost';

export class EndpointStatusWriter {
  /** Status writes under way per endpoint: each starts from the status the one before it wrote. */
  private readonly writes = new Map<string, Promise<void>>();
  /** `phase|reason` last written (or being written) per endpoint; `unwritten|` after a failure. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly client: TenetClient,
    private readonly follower: Follower,
    private readonly log: Log,
  ) {}

  /**
   * Whether `phase`/`reason` still has to be written for the endpoint; when it has, it counts as
   * written from now on (the caller writes it), so two passes do not both write it.
   */
  claim(tenant: string, name: string, phase: EndpointPhase, reason?: string): boolean {
    const key = `${tenant}/${name}`;
    const signature = `${phase}|${reason ?? ''}`;
    if (this.written.get(key) === signature) return false;
    this.written.set(key, signature);
    return true;
  }

  /**
   * `extra`: more status fields to set (an undefined value removes the field). Writes of one endpoint run
   * one after another, each from the status as the last one left it: two at once (the attach's and a
   * pass's) would each start from the same status, and the later would drop what the earlier added.
   */
  write(
    tenant: string,
    name: string,
    phase: EndpointPhase,
    reason?: string,
    hostIfName?: string,
    extra: Partial<NonNullable<Endpoint['status']>> = {},
  ): Promise<void> {
    const key = `${tenant}/${name}`;
    const before = this.writes.get(key) ?? Promise.resolve();
    const write = before.catch(() => undefined).then(() => this.writeNow(tenant, name, phase, reason, hostIfName, extra));
    this.writes.set(key, write);
    void write
      .catch(() => undefined)
      .finally(() => {
        if (this.writes.get(key) === write) this.writes.delete(key);
      });
    return write;
  }

  private async writeNow(
    tenant: string,
    name: string,
    phase: EndpointPhase,
    reason: string | undefined,
    hostIfName: string | undefined,
    extra: Partial<NonNullable<Endpoint['status']>>,
  ): Promise<void> {
    const key = `${tenant}/${name}`;
    const current = this.follower.get<Endpoint>('Endpoint', tenant, name);
    const status = { ...(current?.status ?? {}), phase, ...(hostIfName ? { hostIfName } : {}) } as Record<string, unknown>;
    for (const [field, value] of Object.entries(extra)) {
      if (value === undefined) delete status[field];
      else status[field] = value;
    }
    if (reason) status.reason = reason;
    else delete status.reason;
    try {
      const updated = await this.client.updateStatus<TenetObject>('Endpoint', name, tenant, status);
      if (updated && typeof updated === 'object' && 'metadata' in updated) this.follower.upsert(updated);
      this.written.set(key, `${phase}|${reason ?? ''}`);
    } catch (error) {
      this.written.set(key, 'unwritten|');
      // 404: the endpoint was deleted meanwhile (a detach racing the pass): nothing to report.
      this.log(error instanceof ApiError && error.status === 404 ? 'debug' : 'warn', 'writing endpoint status failed', {
        endpoint: key,
        error: (error as Error).message,
      });
    }
  }
}
