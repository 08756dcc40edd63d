/**
 * `tenet lab demo`: 3 hosts, two tenants ("blue", "green") with the same networks, subnets and even
 * container addresses, containers on every host, and the probe matrix: everything inside a tenant
 * connects, nothing between tenants does. Then a policy in "blue" lets only its api reach its db (on
 * tcp/80), shown by a second matrix of real probes and by explain. Left running for exploration.
 */
import { API_VERSION } from '../core/model/common';
import { loadIntent } from '../client/intent';
import { explainFlow } from '../core/policy/explain-flow';
import type { TenetClient } from '../client/api-client';
import type { LabState } from './state';
import type { ProbeResult } from './probe';
import { labClient, labDown, labRun, labUp } from './lab';
import { formatProbeTable, runProbe } from './probe';
import { loadLab, saveLab } from './state';

const TENANTS = ['blue', 'green'];
const NETWORKS = [
  { name: 'front', subnets: [{ cidr: '10.10.1.0/24' }, { cidr: 'fd00:10:1::/64' }] },
  { name: 'back', subnets: [{ cidr: '10.10.2.0/24' }, { cidr: 'fd00:10:2::/64' }] },
];
const CONTAINERS = [
  { suffix: 'web1', host: 'h1', network: 'front', ip: '10.10.1.11', labels: { app: 'web' } },
  { suffix: 'web2', host: 'h2', network: 'front', ip: '10.10.1.12', labels: { app: 'web' } },
  { suffix: 'db1', host: 'h3', network: 'back', ip: '10.10.2.21', labels: { app: 'db' } },
  { suffix: 'api1', host: 'h1', network: 'back', ip: '10.10.2.22', labels: { app: 'api' } },
];

export async function runDemo(out: (line: string) => void, name = 'demo'): Promise<void> {
  if (loadLab(name)) {
    out(`lab ${name} exists: recreating it`);
    await labDown(name);
  }
  const state = await labUp({ name, hosts: 3, log: out });
  const client = labClient(state);
  const objects: unknown[] = [];
  for (const tenant of TENANTS) {
    objects.push({ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: tenant }, spec: { defaultPolicy: 'allow' } });
    for (const network of NETWORKS)
      objects.push({
        apiVersion: API_VERSION,
        kind: 'Network',
        metadata: { name: network.name, tenant },
        spec: { subnets: network.subnets },
      });
  }
  await client.apply(objects, { message: 'tenet lab demo' });
  out(
    `applied: tenants ${TENANTS.join(', ')}, each with networks front 10.10.1.0/24 + fd00:10:1::/64 and back 10.10.2.0/24 + fd00:10:2::/64`,
  );
  const made = await Promise.all(
    TENANTS.flatMap((tenant) =>
      CONTAINERS.map((c) =>
        labRun(state, `${tenant}-${c.suffix}`, { host: c.host, tenant, network: c.network, labels: c.labels, ips: [c.ip] }),
      ),
    ),
  );
  state.containers.push(...made);
  saveLab(state);
  for (const c of made) out(`  ${c.name.padEnd(11)} ${c.host}  ${c.tenant}/${c.network.padEnd(5)}  ${c.addresses.join('  ')}`);
  out('');
  out('probing every ordered pair (icmp, tcp/80, udp/53; IPv4 and IPv6)...');
  const specs = [{ protocol: 'icmp' as const }, { protocol: 'tcp' as const, port: 80 }, { protocol: 'udp' as const, port: 53 }];
  const results = await runProbe(state, { specs });
  out(formatProbeTable(state, results, undefined, specs));
  const intra = results.filter((r) => tenantOf(r.from) === tenantOf(r.to));
  const inter = results.filter((r) => tenantOf(r.from) !== tenantOf(r.to));
  out('');
  out(
    `inside each tenant: ${intra.filter((r) => r.allowed).length}/${intra.length} probes succeeded; between tenants: ${inter.filter((r) => r.allowed).length}/${inter.length} succeeded`,
  );
  await showPolicy(state, client, out);
  out('');
  out('explore:');
  out(`  eval "$(bin/tenet lab env --name ${name})"; bin/tenet get endpoints`);
  out('  bin/tenet lab exec blue-web1 -- ping -c2 10.10.2.21');
  out(`  bin/tenet lab probe --name ${name} --tenant green -o json`);
  out('  bin/tenet explain --tenant blue --from 10.10.1.11 --to 10.10.2.21 --port tcp/80');
  out('  bin/tenet get policies -o wide');
  out(`tear down: bin/tenet lab down --name ${name}`);
}

function tenantOf(container: string): string {
  return container.split('-')[0];
}

const DB_POLICY = {
  apiVersion: API_VERSION,
  kind: 'Policy',
  metadata: { name: 'db-only-from-api', tenant: 'blue' },
  spec: {
    appliesTo: { selector: { matchLabels: { app: 'db' } } },
    ingress: [
      {
        name: 'api-to-db-http',
        action: 'allow',
        from: [{ selector: { matchLabels: { app: 'api' } } }],
        ports: [{ protocol: 'TCP', port: 80 }],
      },
    ],
  },
};

/** The allowed flows the policy leaves into blue-db1: only tcp/80 from blue-api1. */
function dbPolicyHolds(results: ProbeResult[]): boolean {
  return results.filter((r) => r.to === 'blue-db1').every((r) => r.allowed === (r.from === 'blue-api1' && r.protocol === 'tcp'));
}

async function showPolicy(state: LabState, client: TenetClient, out: (line: string) => void): Promise<void> {
  out('');
  out('policy: in tenant blue, db accepts only tcp/80 from api (Policy blue/db-only-from-api); green is untouched');
  await client.apply([DB_POLICY], { message: 'tenet lab demo: db only from api' });
  const specs = [{ protocol: 'icmp' as const }, { protocol: 'tcp' as const, port: 80 }, { protocol: 'udp' as const, port: 53 }];
  // Agents learn the policy through their watch streams; probe until every host shows it (a few hundred ms).
  let results = await runProbe(state, { tenant: 'blue', specs });
  for (let attempt = 0; attempt < 10 && !dbPolicyHolds(results); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    results = await runProbe(state, { tenant: 'blue', specs });
  }
  out(formatProbeTable(state, results, 'blue', specs));
  out('');
  const intent = await loadIntent(client, 'blue');
  out(explainFlow(intent, 'blue', '10.10.2.22', '10.10.2.21', { protocol: 'tcp', port: 80 }));
  out(explainFlow(intent, 'blue', '10.10.1.11', '10.10.2.21', { protocol: 'tcp', port: 80 }));
}
