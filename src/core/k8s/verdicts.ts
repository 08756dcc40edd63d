/**
 * Conformance cases (see /work/shared/conformance/README.md): a small Kubernetes world and
 * probes. Verdicts come from Tenet's own machinery only: the case is imported into one
 * tenant, compiled like any intent (every pod local to one virtual host), and each probe is
 * walked through the compiled program by explain.
 */
import type { Tenant } from '../model/kinds/tenant';
import { API_VERSION } from '../model/common';
import { compileTenant, programForHost, syntheticInterface } from '../policy/compile';
import { explain, type Decision } from '../policy/explain';
import type { PolicyIntent } from '../policy/intent';
import type { NftProgram } from '../policy/program';
import { importKubernetes, importNamespace, importPod, type PodInfo } from './import';
import type { Labels } from '../model/selectors';
import { canonicalIp } from '../net/ip';

export interface ConformanceCase {
  name: string;
  universe: {
    namespaces: Array<{ name: string; labels?: Labels }>;
    /** Host-network pods (`hostNetwork: true`) have their node's address and are no endpoint. */
    pods: Array<PodInfo & { hostNetwork?: boolean }>;
    /** Nodes, for ClusterNetworkPolicy `nodes` peers: each a Tenet Host with these labels and underlay IP. */
    hosts?: Array<{ name: string; labels?: Labels; ip: string }>;
  };
  policies: unknown[];
  probes: Array<{ from: string; to: string; port: number; protocol: string }>;
}

export interface Verdict {
  from: string;
  to: string;
  port: number;
  protocol: string;
  allowed: boolean;
  egress?: string;
  ingress?: string;
}

export const CASE_TENANT = 'k8s';
/** Interface name standing for "leaves the router namespace towards a host" in case verdicts. */
const HOST_INTERFACE = 'uplink';

export function caseIntent(testCase: ConformanceCase): { intent: PolicyIntent; problems: string[] } {
  const tenant: Tenant = { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: CASE_TENANT }, spec: { defaultPolicy: 'allow' } };
  const imported = importKubernetes(testCase.policies, CASE_TENANT);
  const scopes = testCase.universe.namespaces.map((ns) => importNamespace(ns.name, ns.labels, CASE_TENANT));
  for (const scope of [...imported.scopes, ...imported.referencedScopes])
    if (!scopes.some((s) => s.metadata.name === scope.metadata.name)) scopes.push(scope);
  const endpoints = testCase.universe.pods.filter((pod) => !pod.hostNetwork).map((pod) => importPod(pod, CASE_TENANT, 'default'));
  return {
    intent: {
      tenants: [tenant],
      scopes,
      groups: [],
      networks: [],
      policies: imported.policies,
      globalPolicies: imported.globalPolicies,
      endpoints,
      hosts: (testCase.universe.hosts ?? []).map((h) => ({
        name: h.name,
        labels: { ...(h.labels ?? {}) },
        addresses: [canonicalIp(h.ip) ?? h.ip],
      })),
    },
    problems: imported.problems,
  };
}

function summary(decision: Decision): string {
  if (decision.verdict === 'not-judged') return 'not judged';
  const o = decision.origin ?? {};
  if (o.tier === 'default') return `${decision.verdict}: tenant default`;
  if (o.action === 'isolate') return `${decision.verdict}: tenant isolation (${o.policy})`;
  return `${decision.verdict}: ${o.tier} ${o.policy} rule ${o.rule}${o.ruleName ? ` ${o.ruleName}` : ''}`;
}

export function caseVerdicts(testCase: ConformanceCase): { verdicts: Verdict[]; problems: string[]; program: NftProgram } {
  const { intent, problems } = caseIntent(testCase);
  const program = programForHost(compileTenant(intent, CASE_TENANT));
  const byPod = new Map<string, { ip: string; iface: string }>();
  let next = 0;
  for (const pod of testCase.universe.pods) {
    // A host-network pod is its node: reached through the router namespace's uplink, no endpoint's veth.
    if (pod.hostNetwork) {
      byPod.set(`${pod.namespace}/${pod.name}`, { ip: pod.ip ?? '', iface: HOST_INTERFACE });
      continue;
    }
    const endpoint = intent.endpoints[next++];
    const ip = endpoint.spec.ips?.find((a) => !a.includes(':')) ?? endpoint.spec.ips?.[0] ?? '';
    byPod.set(`${pod.namespace}/${pod.name}`, { ip, iface: syntheticInterface(endpoint) });
  }
  const verdicts = testCase.probes.map((probe) => {
    const from = byPod.get(probe.from);
    const to = byPod.get(probe.to);
    if (!from || !to) throw new Error(`probe ${probe.from} -> ${probe.to}: unknown pod`);
    const protocol = probe.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp';
    const result = explain(program, { iif: from.iface, oif: to.iface, src: from.ip, dst: to.ip, protocol, port: probe.port });
    return {
      from: probe.from,
      to: probe.to,
      port: probe.port,
      protocol: probe.protocol,
      allowed: result.allowed,
      egress: summary(result.egress),
      ingress: summary(result.ingress),
    };
  });
  return { verdicts, problems, program };
}
