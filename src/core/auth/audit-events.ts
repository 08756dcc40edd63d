/**
 * The audit trail's named events (AuditEntry.events): what a change did to floating IPs and their
 * pools, told in their own words beside the generic summary — bound, moved from → to, unbound,
 * deleted; a pool created, changed, deleted. Pure: read from the before/after the write engine
 * already holds for history, in the same txn as the change.
 */
import type { AuditEvent } from './audit-entry';

export interface EventChange {
  kind: string;
  tenant?: string;
  name: string;
  before?: { spec?: unknown; status?: unknown };
  after?: { spec?: unknown; status?: unknown };
}

const MAX_EVENTS = 100;

type Target = { endpoint?: string; service?: string } | undefined;

function targetText(object: { spec?: unknown } | undefined): string | undefined {
  const target = (object?.spec as { target?: Target } | undefined)?.target;
  if (target?.endpoint !== undefined) return `endpoint/${target.endpoint}`;
  if (target?.service !== undefined) return `service/${target.service}`;
  return undefined;
}

function addressOf(object: { status?: unknown } | undefined): string | undefined {
  const address = (object?.status as { address?: unknown } | undefined)?.address;
  return typeof address === 'string' ? address : undefined;
}

function poolText(object: { spec?: unknown } | undefined): string | undefined {
  const spec = object?.spec as { cidrs?: unknown; advertise?: unknown } | undefined;
  if (!spec || !Array.isArray(spec.cidrs)) return undefined;
  return `${(spec.cidrs as unknown[]).map(String).join(',')} ${typeof spec.advertise === 'string' ? spec.advertise : 'bgp'}`;
}

/** The events of a change's objects, in the change's order (at most 100). */
export function auditEvents(changes: readonly EventChange[]): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const change of changes) {
    const ref = { ...(change.tenant ? { tenant: change.tenant } : {}), name: change.name };
    if (change.kind === 'FloatingIP') {
      const from = change.before ? targetText(change.before) : undefined;
      const to = change.after ? targetText(change.after) : undefined;
      const address = addressOf(change.after) ?? addressOf(change.before);
      const at = address !== undefined ? { address } : {};
      if (!change.after) out.push({ event: 'floatingip.delete', ...ref, ...at, ...(from ? { from } : {}) });
      else if (!change.before)
        out.push(to ? { event: 'floatingip.bind', ...ref, ...at, to } : { event: 'floatingip.allocate', ...ref, ...at });
      else if (from === undefined && to !== undefined) out.push({ event: 'floatingip.bind', ...ref, ...at, to });
      else if (from !== undefined && to === undefined) out.push({ event: 'floatingip.unbind', ...ref, ...at, from });
      else if (from !== undefined && to !== undefined && from !== to) out.push({ event: 'floatingip.move', ...ref, ...at, from, to });
    } else if (change.kind === 'FloatingIPPool') {
      const from = change.before ? poolText(change.before) : undefined;
      const to = change.after ? poolText(change.after) : undefined;
      if (!change.after) out.push({ event: 'floatingippool.delete', name: change.name, ...(from ? { from } : {}) });
      else if (!change.before) out.push({ event: 'floatingippool.create', name: change.name, ...(to ? { to } : {}) });
      else if (from !== to)
        out.push({ event: 'floatingippool.update', name: change.name, ...(from ? { from } : {}), ...(to ? { to } : {}) });
    }
    if (out.length >= MAX_EVENTS) break;
  }
  return out.slice(0, MAX_EVENTS);
}

/** One event as a line: `floatingip.move shop/web 198.18.100.1: service/blue -> service/green`. */
export function auditEventText(event: AuditEvent): string {
  const who = `${event.tenant ? `${event.tenant}/` : ''}${event.name}`;
  const address = event.address ? ` ${event.address}` : '';
  const change =
    event.from !== undefined && event.to !== undefined
      ? `: ${event.from} -> ${event.to}`
      : event.to !== undefined
        ? `: ${event.to}`
        : event.from !== undefined
          ? ` (was ${event.from})`
          : '';
  return `${event.event} ${who}${address}${change}`;
}
