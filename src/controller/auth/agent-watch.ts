/**
 * An agent's watch stream: it tracks, from the stream's own events and in their order, which
 * endpoints sit on the agent's host and so which tenants it needs. When that set changes the
 * stream ends after the batch: the agent lists again and gets the newly needed tenant's objects
 * whole (a watch cannot replay history it filtered out), or drops a tenant it no longer needs.
 * The seed holds the host's endpoints that existed at the revision the watch starts after (what the
 * agent's snapshot saw); later ones arrive as events and count as changes.
 */
import { visibilityOf } from '../../core/auth/visibility';
import type { WatchGuard } from '../watch-stream';
import { endpointHost } from './host-endpoints';
import { objectKey } from '../../store/keys';

export function agentWatchGuard(host: string, seed: Map<string, string>): WatchGuard {
  const mine = new Map(seed);
  const tenantsOf = () => new Set(mine.values());
  const initial = [...tenantsOf()].sort().join('\n');
  let tenants = tenantsOf();
  let visible = visibilityOf({ tokenId: '', role: 'agent', host }, tenants);
  let changed = false;
  return {
    visible(ref, object, type) {
      if (ref.kind === 'Endpoint') {
        const key = objectKey('Endpoint', ref.tenant, ref.name);
        const wasMine = mine.has(key);
        const onHost = endpointHost(object) === host;
        const isMine = type === 'put' && onHost;
        if (isMine) mine.set(key, ref.tenant);
        else mine.delete(key);
        if (isMine !== wasMine) {
          tenants = tenantsOf();
          visible = visibilityOf({ tokenId: '', role: 'agent', host }, tenants);
          changed = [...tenants].sort().join('\n') !== initial;
        }
        // The agent always hears about its own endpoints, deletions included.
        if (wasMine || onHost) return true;
      }
      return visible({ kind: ref.kind, tenant: ref.tenant, name: ref.name, host: endpointHost(object) });
    },
    mustRelist: () => changed,
  };
}
