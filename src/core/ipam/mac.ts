/** MAC addresses for endpoints: stable, locally administered, unicast. */

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

function fnv1a64(text: string): bigint {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * FNV_PRIME) & MASK64;
  }
  return hash;
}

/** The same seed and attempt always give the same MAC; a new attempt number gives another on a (rare) clash. */
export function generateMac(seed: string, attempt = 0): string {
  const hash = fnv1a64(attempt === 0 ? seed : `${seed}#${attempt}`);
  const bytes: number[] = [];
  for (let i = 0; i < 6; i++) bytes.push(Number((hash >> BigInt(8 * i)) & 0xffn));
  // Locally administered (bit 1 set), unicast (bit 0 clear).
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function normalizeMac(mac: string): string {
  return mac.toLowerCase();
}

export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 0x01) === 1;
}
