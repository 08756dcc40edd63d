/** Policies and global policies may only name groups, networks and tenants that exist (or are created in the same request). */
import { refKey, refText } from '../../core/model/object';
import type { KindName } from '../../core/model/registry';
import { policyReferenceProblems } from '../../core/policy/validate';
import { objectKey } from '../../store/keys';
import { invalid } from '../errors';
import type { KindStrategy } from '../write-engine';
import { Pacer } from '../limits/pacer'; // [limits]

type PolicyObject = Parameters<typeof policyReferenceProblems>[0];

export const policyStrategy: KindStrategy = {
  async check(engine, _b, changes) {
    const policies = changes.filter((c) => c.after !== null && (c.ref.kind === 'Policy' || c.ref.kind === 'GlobalPolicy'));
    if (policies.length === 0) return;
    const inRequest = new Map(changes.map((c) => [refKey(c.ref), c.after !== null]));
    const exists = async (kind: KindName, tenant: string, name: string): Promise<boolean> => {
      const pending = inRequest.get(refKey({ kind, tenant, name }));
      if (pending !== undefined) return pending;
      return (await engine.store.get(objectKey(kind, tenant, name))) !== undefined;
    };
    const problems: string[] = [];
    const pacer = new Pacer(); // [limits]
    for (const change of policies) {
      await pacer.pace(); // [limits]
      const policy = change.after as PolicyObject;
      const wanted: Array<{ kind: KindName; tenant: string; name: string }> = [];
      policyReferenceProblems(policy, {
        group: (tenant, name) => (wanted.push({ kind: 'Group', tenant, name }), true),
        network: (tenant, name) => (wanted.push({ kind: 'Network', tenant, name }), true),
        tenant: (name) => (wanted.push({ kind: 'Tenant', tenant: '', name }), true),
      });
      const known = new Set<string>();
      for (const w of wanted) if (await exists(w.kind, w.tenant, w.name)) known.add(refKey(w));
      const found = policyReferenceProblems(policy, {
        group: (tenant, name) => known.has(refKey({ kind: 'Group', tenant, name })),
        network: (tenant, name) => known.has(refKey({ kind: 'Network', tenant, name })),
        tenant: (name) => known.has(refKey({ kind: 'Tenant', tenant: '', name })),
      });
      for (const problem of found) problems.push(`${refText(change.ref)}: ${problem}`);
    }
    if (problems.length > 0) throw invalid('policy refers to objects that do not exist', problems);
  },
};
