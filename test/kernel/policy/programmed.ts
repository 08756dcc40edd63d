/**
 * Shared by the policy lab tests: wait until every host's router namespace of a tenant holds the
 * policy program the compiler wants for that host.
 */
import { waitUntil, type TestLab } from '../../helpers/lab';
import { run } from '../../../src/kernel/exec';
import { tenantNamespaceName } from '../../../src/core/dataplane/names';
import { parseTableJson } from '../../../src/core/policy/readback';
import { compileProgram } from '../../../src/core/policy/compile';
import { kernelProgram } from '../../../src/core/policy/unhooked';
import type { PolicyIntent } from '../../../src/core/policy/intent';

/** The policy intent of `tenant` as the controller holds it now (what the agents compile). */
export async function intentNow(lab: TestLab, tenant: string): Promise<PolicyIntent> {
  const c = lab.controller.client;
  const list = async <T>(kind: Parameters<typeof c.list>[0], tenant?: string) => (await c.list<T>(kind, tenant ? { tenant } : {})).items;
  return {
    tenants: await list('Tenant'),
    scopes: await list('Scope', tenant),
    groups: await list('Group', tenant),
    networks: await list('Network', tenant),
    policies: await list('Policy', tenant),
    globalPolicies: await list('GlobalPolicy'),
    endpoints: await list('Endpoint', tenant),
  };
}

/** Waits until every host's tenant namespace holds exactly the chains the compiler wants for that host (hooks only where something is restricted). */
export async function waitProgrammed(lab: TestLab, tenant: string): Promise<void> {
  const intent = await intentNow(lab, tenant);
  await waitUntil(
    'the agents to program the policy',
    async () => {
      for (const host of lab.state.hosts) {
        const want = kernelProgram(compileProgram(intent, tenant, { host: host.name }));
        const netns = tenantNamespaceName(host.netnsPrefix, tenant);
        const got = parseTableJson(
          (await run('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'table', 'inet', 'tenet'], { allowFailure: true })).stdout,
        );
        if (!got) return false;
        // The policy producer's chains and sets; the table also holds antispoofing's (`as_…`, test/kernel/security/antispoof.test.ts).
        const names = (p: { chains: { name: string }[] }) =>
          p.chains
            .filter((c) => !c.name.startsWith('as_'))
            .map((c) => c.name)
            .sort()
            .join(',');
        if (names(got) !== names(want)) return false;
        const elements = (p: { sets: { name: string; elements: string[]; interval: boolean }[] }) =>
          p.sets
            .filter((s) => !s.interval && !s.name.startsWith('as_'))
            .map((s) => `${s.name}=${[...s.elements].sort().join(' ')}`)
            .sort()
            .join(';');
        if (elements(got) !== elements(want)) return false;
      }
      return true;
    },
    30000,
  );
}
