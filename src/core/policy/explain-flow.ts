/**
 * One flow's verdict as text (or JSON): `tenet explain` and the lab's demo print it. Compiles the tenant's
 * intent like the agents do and walks the compiled program (flow.ts, explain.ts); nothing else decides.
 */
import { shown } from '../model/names';
import { describeDecision } from './explain';
import { FlowJudge, resolveFlowEnd } from './flow';
import type { PolicyIntent } from './intent';
import type { L4Name } from './program';

/** The question cannot be answered: `usage` when what was asked is malformed (an end that is neither address nor endpoint). */
export class FlowQueryError extends Error {
  constructor(
    message: string,
    readonly usage: boolean,
  ) {
    super(message);
  }
}

/** The verdict for one flow, as text (default) or JSON, from the compiled policy of the tenant. */
export function explainFlow(
  intent: PolicyIntent,
  tenant: string,
  fromText: string,
  toText: string,
  { protocol, port }: { protocol: L4Name; port?: number },
  options: { output?: 'text' | 'json'; verbose?: boolean } = {},
): string {
  if (!intent.tenants.some((t) => t.metadata.name === tenant)) throw new FlowQueryError(`tenant "${tenant}" does not exist`, false);
  const family = protocol === 'icmpv6' ? 6 : undefined;
  const from = resolveFlowEnd(intent, tenant, fromText, family);
  const to = resolveFlowEnd(intent, tenant, toText, family);
  if (!from)
    throw new FlowQueryError(
      `--from "${shown(fromText)}" is neither an address nor an endpoint (with an address) of tenant ${tenant}`,
      true,
    );
  if (!to)
    throw new FlowQueryError(`--to "${shown(toText)}" is neither an address nor an endpoint (with an address) of tenant ${tenant}`, true);
  const result = new FlowJudge(intent, tenant).judge(from, to, protocol, port);
  if (options.output === 'json') {
    return JSON.stringify(
      {
        tenant,
        from: { ...('endpoint' in from ? { endpoint: from.endpoint.metadata.name } : {}), address: from.address },
        to: { ...('endpoint' in to ? { endpoint: to.endpoint.metadata.name } : {}), address: to.address },
        protocol,
        port,
        allowed: result.allowed,
        egress: result.egress,
        ingress: result.ingress,
        ...(options.verbose ? { trace: result.trace } : {}),
      },
      null,
      1,
    );
  }
  const name = (end: typeof from) => ('endpoint' in end ? `${end.endpoint.metadata.name} (${end.address})` : end.address);
  const lines = [
    `${name(from)} -> ${name(to)} ${protocol}${port !== undefined ? `/${port}` : ''}: ${result.allowed ? 'ALLOWED' : 'DENIED'}`,
    `  ${describeDecision('egress', result.egress)}`,
    `  ${describeDecision('ingress', result.ingress)}`,
  ];
  if (options.verbose) lines.push('', ...result.trace);
  return lines.join('\n');
}
