/**
 * CIDR-with-except as disjoint address ranges, and the element text an nft
 * interval set takes for them (a prefix when the range is one, else `a-b`).
 */
import { cidrLast, formatCidr, formatIp, parseCidr, type IpFamily } from '../net/ip';

export interface AddressRange {
  family: IpFamily;
  start: bigint;
  end: bigint;
}

export function cidrMinus(cidrText: string, exceptTexts: readonly string[]): AddressRange[] {
  const cidr = parseCidr(cidrText);
  if (!cidr) return [];
  let ranges: AddressRange[] = [{ family: cidr.family, start: cidr.network, end: cidrLast(cidr) }];
  for (const text of exceptTexts) {
    const hole = parseCidr(text);
    if (!hole || hole.family !== cidr.family) continue;
    const hs = hole.network;
    const he = cidrLast(hole);
    const next: AddressRange[] = [];
    for (const r of ranges) {
      if (he < r.start || hs > r.end) {
        next.push(r);
        continue;
      }
      if (hs > r.start) next.push({ family: r.family, start: r.start, end: hs - 1n });
      if (he < r.end) next.push({ family: r.family, start: he + 1n, end: r.end });
    }
    ranges = next;
  }
  return ranges;
}

function asPrefix(range: AddressRange): string | undefined {
  const bits = range.family === 4 ? 32 : 128;
  const size = range.end - range.start + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined;
  let prefix = bits;
  for (let s = size; s > 1n; s >>= 1n) prefix--;
  if ((range.start & (size - 1n)) !== 0n) return undefined;
  return formatCidr({ family: range.family, network: range.start, prefix });
}

export function rangeElement(range: AddressRange): string {
  if (range.start === range.end) return formatIp({ family: range.family, value: range.start });
  return (
    asPrefix(range) ?? `${formatIp({ family: range.family, value: range.start })}-${formatIp({ family: range.family, value: range.end })}`
  );
}

/** Parses an element written by rangeElement (or a plain address) back into a range. */
export function parseRangeElement(text: string, family: IpFamily): AddressRange | undefined {
  if (text.includes('/')) {
    const cidr = parseCidr(text);
    return cidr ? { family, start: cidr.network, end: cidrLast(cidr) } : undefined;
  }
  const dash = text.indexOf('-');
  const parse = (t: string) => {
    const c = parseCidr(`${t}/${family === 4 ? 32 : 128}`);
    return c?.network;
  };
  if (dash > 0) {
    const a = parse(text.slice(0, dash));
    const b = parse(text.slice(dash + 1));
    return a === undefined || b === undefined ? undefined : { family, start: a, end: b };
  }
  const a = parse(text);
  return a === undefined ? undefined : { family, start: a, end: a };
}
