/**
 * The computed `status.ruleHits` of Policy and GlobalPolicy answers: the last counters every host's
 * agent reported in its Host status, summed. Read at answer time (one range over the hosts), never
 * stored, so heartbeats write only their own Host and a policy's revision does not move with traffic.
 */
import type { PolicyHitsReport } from '../core/model/kinds/host';
import type { TenetObject } from '../core/model/object';
import { policyId, policyRuleHits, sumHostReports } from '../core/policy/hits';
import type { PolicySpec } from '../core/model/kinds/policy';
import type { ObjectService } from './object-service';

export const HIT_KINDS: ReadonlySet<string> = new Set(['Policy', 'GlobalPolicy']);

export async function withRuleHits<T extends TenetObject>(service: ObjectService, objects: T[]): Promise<T[]> {
  if (!objects.some((o) => HIT_KINDS.has(o.kind))) return objects;
  const hosts = await service.list('Host');
  const summed = sumHostReports(hosts.items.map((h) => (h.status as { policyHits?: PolicyHitsReport[] } | undefined)?.policyHits));
  return objects.map((object) => {
    if (!HIT_KINDS.has(object.kind)) return object;
    const id = policyId(object.kind, object.kind === 'Policy' ? (object.metadata.tenant ?? '') : '', object.metadata.name);
    const ruleHits = policyRuleHits(object.spec as PolicySpec, summed.get(id));
    return { ...object, status: { ...(object.status ?? {}), ruleHits } };
  });
}
