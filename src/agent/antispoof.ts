/**
 * The antispoofing producer: its fragment of each tenant router namespace's table comes from the pure
 * core (src/core/dataplane/antispoof.ts). It keeps each endpoint's entry (and the last fragment) in the
 * RouterNamespace, so an attach costs the endpoints that changed, not every endpoint of the tenant: an
 * endpoint whose view is the one it was made from is not looked at again, an unchanged fragment is the
 * same object (nothing to diff), and a changed one records which entries changed, so the table's diff
 * of its sets costs the change, not the thousands of elements (src/core/policy/elements.ts).
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
    const cache: AntispoofCache = (ns.antispoof ??= { entries: new Map(), pass: 0 });
    const pass = ++cache.pass;
    const subjects = antispoofSubjects(tenant, excluded);
    const added: AntispoofEntry[] = [];
    const removed: AntispoofEntry[] = [];
    for (const { endpoint, iface } of subjects) {
      let kept = cache.entries.get(endpoint.name);
      // Views of unchanged endpoint objects are the same objects (src/core/dataplane/host-view.ts).
      if (kept?.view !== endpoint || kept.iface !== iface) {
        const signature = antispoofSignature(endpoint, iface);
        if (kept?.signature !== signature) {
          if (kept) removed.push(kept.entry);
          kept = { view: endpoint, iface, signature, entry: antispoofEntry(endpoint, iface), pass };
          added.push(kept.entry);
          cache.entries.set(endpoint.name, kept);
        } else kept.view = endpoint;
      }
      kept.pass = pass;
    }
    // Some kept entry was not seen: its endpoint left (the walk is needed only then).
    if (cache.entries.size > subjects.length) {
      for (const [name, kept] of cache.entries) {
        if (kept.pass === pass) continue;
        removed.push(kept.entry);
        cache.entries.delete(name);
      }
    }
    if (cache.program && added.length === 0 && removed.length === 0) return cache.program;
    const entries = subjects.map(({ endpoint }) => cache.entries.get(endpoint.name)!.entry);
    cache.program = antispoofProgramOf(entries, cache.program && { previous: cache.program, added, removed });
    return cache.program;
  },
  reset(ns) {
    ns.antispoof = undefined;
  },
};
