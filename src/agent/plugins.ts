/**
 * Where the agent finds optional plugins — today the policy enforcer — without a hard import, so the
 * agent builds and runs before (or without) them.
 *
 * Contract for src/agent/policy/enforcer.ts (owned by the policy engineer):
 *
 *   export function createPolicyEnforcer(options: PolicyEnforcerOptions): PolicyEnforcer
 *
 * The agent calls `sync(view)` after every reconcile of the routing state (the tenant router
 * namespaces in the view exist by then; endpoints whose veth is not plumbed yet are still listed),
 * `endpointAdded(view, endpoint)` on the attach path right after the veth is up and BEFORE the attach
 * answers (so a new container is covered the instant it starts), and `endpointRemoved` after a detach.
 * `close()` on shutdown (must NOT remove kernel state: restarts keep traffic flowing).
 * Errors thrown are logged and retried on the next resync; an error from endpointAdded fails the attach.
 *
 * A test or an embedding program may also call registerPolicyEnforcer() to supply its own factory.
 */
import type { EndpointView, HostView } from '../core/dataplane/host-view';

export interface PolicyEnforcerOptions {
  hostName: string;
  netnsPrefix: string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface PolicyEnforcer {
  sync(view: HostView): Promise<void>;
  endpointAdded?(view: HostView, endpoint: EndpointView): Promise<void>;
  /** `linkGone`: the host interface is being deleted, so its dispatch entries need not leave at once. */
  endpointRemoved?(view: HostView, endpoint: { tenant: string; name: string; hostIfName: string; linkGone?: boolean }): Promise<void>;
  close?(): Promise<void>;
  /** Drops the record of a namespace that was just made or deleted, so nothing is diffed against a stale one. */
  forget?(netns?: string): void;
  /** Counters per policy rule (nft comment `tier:policy:direction:index`) in one namespace; the heartbeat reports them. */
  ruleHits?(netns: string): Promise<Map<string, { packets: number; bytes: number }>>;
}

export type PolicyEnforcerFactory = (options: PolicyEnforcerOptions) => PolicyEnforcer;

let registered: PolicyEnforcerFactory | undefined;

export function registerPolicyEnforcer(factory: PolicyEnforcerFactory | undefined): void {
  registered = factory;
}

/** The registered factory, else src/agent/policy/enforcer's createPolicyEnforcer when that module exists. */
export function loadPolicyEnforcerFactory(): PolicyEnforcerFactory | undefined {
  if (registered) return registered;
  const modulePath = './policy/enforcer';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(modulePath) as { createPolicyEnforcer?: PolicyEnforcerFactory };
    return typeof loaded.createPolicyEnforcer === 'function' ? loaded.createPolicyEnforcer : undefined;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes('policy/enforcer')) return undefined;
    throw error;
  }
}
