/**
 * The antispoofing producer: its fragment of each tenant router namespace's table comes from the pure
 * core (src/core/dataplane/antispoof.ts). It keeps each endpoint's entry (and the last fragment) in the
 * RouterNamespace, so an attach costs the endpoints that changed, not every endpoint of the tenant: the
 * fragment is made again from kept entries, and an unchanged one is the same object (nothing to diff).
 */
import {
  antispoofEntry,
  antispoofProgramOf,
  antispoofSignature,
  antispoofSubjects,
  type AntispoofEntry,
} from '../core/dataplane/antispoof';
import type { TableProducer } from './nft/programmer';
import type { AntispoofCache } from './router-namespace';

export const antispoofProducer: TableProducer = {
  name: 'antispoof',
  fragment(ns, _view, tenant, excluded) {
    const cache: AntispoofCache = (ns.antispoof ??= { entries: new Map() });
    const entries: AntispoofEntry[] = [];
    const seen = new Set<string>();
    let changed = cache.program === undefined;
    for (const { endpoint, iface } of antispoofSubjects(tenant, excluded)) {
      const signature = antispoofSignature(endpoint, iface);
      let kept = cache.entries.get(endpoint.name);
      if (kept?.signature !== signature) {
        kept = { signature, entry: antispoofEntry(endpoint, iface) };
        cache.entries.set(endpoint.name, kept);
        changed = true;
      }
      seen.add(endpoint.name);
      entries.push(kept.entry);
    }
    for (const name of [...cache.entries.keys()]) {
      if (seen.has(name)) continue;
      cache.entries.delete(name);
      changed = true;
    }
    if (changed || !cache.program) cache.program = antispoofProgramOf(entries);
    return cache.program;
  },
  reset(ns) {
    ns.antispoof = undefined;
  },
};
