/** `tenet trace` as text: each host's hooks in order, the route and VXLAN hop, where it died, and AGREE / DISAGREE with explain. */
import { describeDecision } from '../policy/explain';
import { describeRule, type TraceAnswer } from './report';

export function traceText(answer: TraceAnswer): string {
  const port = answer.port !== undefined ? `/${answer.port}` : '';
  const to = answer.to.service ? `service/${answer.to.service} (${answer.to.address})` : `${answer.to.endpoint} (${answer.to.address})`;
  const lines = [
    `trace ${answer.live ? '(live) ' : ''}${answer.from.endpoint} (${answer.from.address}) -> ${to} ${answer.protocol}${port}`,
  ];
  let step = 1;
  for (const host of answer.hosts) {
    lines.push(`host ${host.host}${host.namespace ? ` (namespace ${host.namespace})` : ''}${host.role === 'source' ? ', source' : ''}:`);
    if (host.error) lines.push(`  error: ${host.error}`);
    if (host.probe) lines.push(`  probe: ${host.probe.result}${host.probe.detail ? ` (${host.probe.detail})` : ''}`);
    if (!host.error && host.hooks.length === 0) lines.push('  the packet was not seen here');
    for (const hook of host.hooks) {
      const p = hook.packet;
      const where = `${hook.table} ${hook.chain}${hook.hook ? ` [${hook.hook}]` : ''}`;
      const dev = `${p.iif ? ` in ${p.iif}` : ''}${p.oif ? ` out ${p.oif}` : ''}`;
      const addr = p.daddr ? ` ${p.saddr ?? '?'} -> ${p.daddr}${p.dport ? `:${p.dport}` : ''}` : '';
      const by = hook.decidedBy ? describeRule(hook.decidedBy) : 'chain policy';
      lines.push(`  ${step++}. ${where}${dev}${addr}: ${hook.verdict.toUpperCase()} by ${by}`);
    }
    if (host.dnat)
      lines.push(`  service DNAT ${host.dnat.from} -> ${host.dnat.to}${host.dnat.backend ? ` (backend ${host.dnat.backend})` : ''}`);
    if (host.route)
      lines.push(`  route to ${host.route.destination}: dev ${host.route.dev}${host.route.gateway ? ` via ${host.route.gateway}` : ''}`);
    if (host.vxlan)
      lines.push(
        `  VXLAN ${host.vxlan.device} -> VTEP ${host.vxlan.remoteVtep ?? '(unknown)'}${host.vxlan.remoteHost ? ` (host ${host.vxlan.remoteHost})` : ''}`,
      );
    if (host.delivered)
      lines.push(`  delivered to ${host.delivered.interface}${host.delivered.endpoint ? ` (endpoint ${host.delivered.endpoint})` : ''}`);
  }
  const died = answer.died;
  lines.push(
    died
      ? `kernel: DROPPED on ${died.host} in ${died.table} ${died.chain} by ${describeRule(died.rule)}`
      : answer.verdict === 'delivered'
        ? 'kernel: DELIVERED'
        : 'kernel: the packet was not seen (no verdict)',
  );
  const e = answer.explain;
  lines.push(`explain: ${e.allowed ? 'ALLOWED' : 'DENIED'}${e.backend ? ` (backend ${e.backend})` : ''}`);
  lines.push(`  ${describeDecision('egress', e.egress)}`, `  ${describeDecision('ingress', e.ingress)}`);
  if (answer.agreement === 'agree') lines.push('AGREE: the kernel did what intent says');
  else if (answer.agreement === 'inconclusive') lines.push('INCONCLUSIVE: the kernel gave no verdict to compare');
  else {
    lines.push('!!! DISAGREE: the kernel is not doing what intent says !!!');
    for (const d of answer.differences) lines.push(`  - ${d}`);
    if (answer.resync?.length) lines.push(`  asked ${answer.resync.join(', ')} to rewrite the tenant's table from intent now`);
  }
  return lines.join('\n');
}
