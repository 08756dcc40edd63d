/**
 * Questions about a tenant's policy, answered by the controller from the whole intent with the same
 * compiler and walker as `tenet explain` (so tenant roles, who may not read GlobalPolicies, get
 * verdicts too — without the names of GlobalPolicies): one flow (explain) and the policy matrix.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { explainFlow, FlowQueryError } from '../../core/policy/explain-flow';
import type { Decision } from '../../core/policy/explain';
import { parsePortText, policyMatrix, redactDecision, redactMatrix, type MatrixPort } from '../../core/policy/matrix';
import { access } from '../auth/access';
import { forbidden } from '../auth/authorize';
import { invalid, notFound } from '../errors';
import type { ObjectService } from '../object-service';
import { readPolicyIntent } from '../policy-intent';
import { checkName, singleQuery } from './objects';

const MAX_PORTS = 32;
const MAX_OFF = 64;

function tenantOf(request: FastifyRequest): string {
  return checkName((request.params as { tenant?: unknown }).tenant, 'tenant');
}

function portsFrom(text: string): MatrixPort[] {
  const parts = text.split(',').filter((p) => p.trim() !== '');
  const bad = parts.filter((p) => parsePortText(p) === undefined);
  if (bad.length > 0 || parts.length === 0 || parts.length > MAX_PORTS)
    throw invalid(`ports must be 1 to ${MAX_PORTS} of tcp/PORT, udp/PORT, sctp/PORT, icmp, icmpv6, comma-separated`, [
      ...bad.map((p) => `ports: "${p.slice(0, 40)}" is not tcp/PORT, udp/PORT, sctp/PORT, icmp or icmpv6`),
      ...(parts.length === 0 || parts.length > MAX_PORTS ? [`ports: give 1 to ${MAX_PORTS}`] : []),
    ]);
  return parts.map((p) => parsePortText(p)!);
}

export function registerPolicyRoutes(app: FastifyInstance, service: ObjectService): void {
  app.get('/api/v1/tenants/:tenant/policymatrix', access({ type: 'policy-question' }, ['label', 'ports', 'off']), async (request) => {
    const tenant = tenantOf(request);
    const query = request.query as Record<string, unknown>;
    const label = singleQuery(query, 'label');
    if (label !== undefined && !/^[A-Za-z0-9]([-A-Za-z0-9_./]{0,315}[A-Za-z0-9])?$/.test(label))
      throw invalid(`label "${label.slice(0, 40)}" is not a label key`, ['label: not a label key']);
    const portsText = singleQuery(query, 'ports');
    const ports = portsText === undefined ? undefined : portsFrom(portsText);
    const offText = singleQuery(query, 'off');
    const off = offText === undefined ? [] : offText.split(',').filter((o) => o !== '');
    const intent = await readPolicyIntent(service.store, tenant);
    if (!intent.tenants.some((t) => t.metadata.name === tenant)) throw notFound(`tenant ${tenant} not found`);
    const admin = request.principal?.role === 'admin';
    const problems: string[] = [];
    for (const ref of off.slice(0, MAX_OFF + 1)) {
      const [kind, name, extra] = ref.split('/');
      const exists =
        extra === undefined &&
        ((kind === 'Policy' && intent.policies.some((p) => p.metadata.name === name)) ||
          (kind === 'GlobalPolicy' && intent.globalPolicies.some((p) => p.metadata.name === name)));
      // A tenant role learns nothing of GlobalPolicies, not even which names exist.
      if (kind === 'GlobalPolicy' && !admin) throw forbidden('only admins may switch GlobalPolicies off in a preview');
      if (!exists)
        problems.push(`off: ${JSON.stringify(ref.slice(0, 80))} is not a Policy/NAME of tenant ${tenant} or a GlobalPolicy/NAME`);
    }
    if (off.length > MAX_OFF) problems.push(`off: at most ${MAX_OFF} policies`);
    if (problems.length > 0) throw invalid('off names policies that do not exist', problems);
    const matrix = policyMatrix(intent, tenant, { ...(label !== undefined ? { label } : {}), ...(ports ? { ports } : {}), off });
    return admin ? matrix : redactMatrix(matrix);
  });

  app.get('/api/v1/tenants/:tenant/explain', access({ type: 'policy-question' }, ['from', 'to', 'port', 'verbose']), async (request) => {
    const tenant = tenantOf(request);
    const query = request.query as Record<string, unknown>;
    const from = singleQuery(query, 'from');
    const to = singleQuery(query, 'to');
    const portText = singleQuery(query, 'port');
    const missing = (['from', 'to', 'port'] as const).filter((k) => singleQuery(query, k) === undefined);
    if (missing.length > 0)
      throw invalid(
        `explain needs from, to and port (e.g. ?from=web-1&to=db-0&port=tcp/5432)`,
        missing.map((k) => `${k}: required`),
      );
    const port = parsePortText(portText!);
    if (!port) throw invalid(`port "${portText!.slice(0, 40)}": use tcp/PORT, udp/PORT, sctp/PORT, icmp or icmpv6`, ['port: invalid']);
    const verbose = singleQuery(query, 'verbose');
    if (verbose !== undefined && !['1', 'true'].includes(verbose)) throw invalid('verbose must be 1 or true', ['verbose: invalid']);
    const admin = request.principal?.role === 'admin';
    // The trace names every chain and rule walked, GlobalPolicies' included.
    if (verbose !== undefined && !admin) throw forbidden('only admins may see the full trace (it names GlobalPolicies)');
    const intent = await readPolicyIntent(service.store, tenant);
    let text: string;
    try {
      text = explainFlow(intent, tenant, from!, to!, port, { output: 'json', verbose: verbose !== undefined });
    } catch (error) {
      if (error instanceof FlowQueryError) {
        if (!error.usage) throw notFound(error.message);
        throw invalid(error.message.replace(/^--(from|to)/, '$1'), [
          error.message.replace(/^--(from|to) .*/, '$1: not an endpoint or address'),
        ]);
      }
      throw error;
    }
    const answer = JSON.parse(text) as { egress: Decision; ingress: Decision };
    return admin ? answer : { ...answer, egress: redactDecision(answer.egress), ingress: redactDecision(answer.ingress) };
  });
}
