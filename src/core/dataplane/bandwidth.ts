/**
 * Rate limits of one container interface, in the units of CNI's `bandwidth` capability: rates in bits
 * per second, bursts in bits; ingress is traffic into the container, egress traffic out of it.
 *
 * Both are token-bucket (tbf) qdiscs on the transmit side of each veth end, so both go away with the
 * veth: ingress on the host end (in the tenant router namespace), egress on the container's end.
 * Why not the reference plugin's way (egress redirected from the host end into an ifb device): this
 * kernel has no matchall classifier and no police action, and an ifb device would outlive its veth
 * unless the reconciler learned to own it. The price: a container with CAP_NET_ADMIN could remove its
 * own egress limit (runtimes do not grant it by default).
 */
export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** Above what tbf accepts as a 64-bit rate in practice, and a burst no queue needs. */
const MAX_RATE = 1e12;
const MAX_BURST = 1e11;
/** A burst below one full frame would let no packet through at all. */
export const MIN_BURST_BITS = 16_384;
const LATENCY = '25ms';

/** Problems of a requested limit (empty = valid). A rate needs its burst and the reverse; 0 or absent means none. */
export function bandwidthProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['bandwidth must be an object'];
  const problems: string[] = [];
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (!['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'].includes(key)) problems.push(`bandwidth: unknown field "${key}"`);
  for (const direction of ['ingress', 'egress'] as const) {
    const rate = record[`${direction}Rate`];
    const burst = record[`${direction}Burst`];
    for (const [key, v, max] of [
      [`${direction}Rate`, rate, MAX_RATE],
      [`${direction}Burst`, burst, MAX_BURST],
    ] as const) {
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max))
        problems.push(`bandwidth.${key} must be an integer from 0 to ${max}`);
    }
    const hasRate = typeof rate === 'number' && rate > 0;
    const hasBurst = typeof burst === 'number' && burst > 0;
    if (hasRate && !hasBurst) problems.push(`bandwidth.${direction}Burst is required with ${direction}Rate`);
    if (hasBurst && !hasRate) problems.push(`bandwidth.${direction}Rate is required with ${direction}Burst`);
    if (hasBurst && (burst as number) < MIN_BURST_BITS)
      problems.push(`bandwidth.${direction}Burst must be at least ${MIN_BURST_BITS} bits (one full frame)`);
  }
  return problems;
}

/**
 * Problems of a limit on an interface of `mtu` bytes: tbf drops a frame larger than its bucket, so a
 * burst below one full frame (MTU plus the Ethernet header) would let no full-size packet through.
 */
export function burstProblemsForMtu(bandwidth: Bandwidth | undefined, mtu: number): string[] {
  const limits = effectiveBandwidth(bandwidth);
  const frameBits = (mtu + 14) * 8;
  return (['ingress', 'egress'] as const).flatMap((direction) => {
    const burst = limits?.[`${direction}Burst`];
    return burst !== undefined && burst < frameBits
      ? [`bandwidth.${direction}Burst must be at least ${frameBits} bits here: one full frame of the interface's MTU ${mtu}`]
      : [];
  });
}

/** The limits that are set (a rate and burst both above 0), or undefined when none is. */
export function effectiveBandwidth(value: Bandwidth | undefined): Bandwidth | undefined {
  if (!value) return undefined;
  const out: Bandwidth = {};
  if ((value.ingressRate ?? 0) > 0 && (value.ingressBurst ?? 0) > 0)
    Object.assign(out, { ingressRate: value.ingressRate, ingressBurst: value.ingressBurst });
  if ((value.egressRate ?? 0) > 0 && (value.egressBurst ?? 0) > 0)
    Object.assign(out, { egressRate: value.egressRate, egressBurst: value.egressBurst });
  return Object.keys(out).length > 0 ? out : undefined;
}

function tbf(dev: string, rate: number, burstBits: number): string {
  return `qdisc replace dev ${dev} root tbf rate ${rate}bit burst ${Math.ceil(burstBits / 8)}b latency ${LATENCY}`;
}

/** `tc -batch` lines: for the host end (router namespace) and for the container's end. */
export function shapingLines(
  bandwidth: Bandwidth | undefined,
  hostIfName: string,
  containerIfName: string,
): { host: string[]; container: string[] } {
  const limits = effectiveBandwidth(bandwidth);
  return {
    host: limits?.ingressRate ? [tbf(hostIfName, limits.ingressRate, limits.ingressBurst!)] : [],
    container: limits?.egressRate ? [tbf(containerIfName, limits.egressRate, limits.egressBurst!)] : [],
  };
}
