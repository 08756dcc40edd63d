/**
 * Names of nft objects. They are derived from content (peer definitions,
 * profile contents) or from validated object names, so the same intent always
 * yields the same names and an incremental diff finds everything unchanged.
 * Only [a-z0-9_] reaches the kernel.
 */
import type { Direction } from './program';

/** 64-bit FNV-1a as 16 hex digits: stable, fast, and collisions are not a practical concern at our sizes. */
export function stableHash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c ^ (h1 >>> 7), 0x01000193) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

const KERNEL_SAFE = /^[a-z0-9_]+$/;

export function nftIdent(name: string): string {
  const ident = name.replace(/-/g, '_');
  if (!KERNEL_SAFE.test(ident)) throw new Error(`refusing nft identifier from "${name}"`);
  return ident;
}

const DIR: Record<Direction, string> = { egress: 'e', ingress: 'i' };

export function peerSetName(key: string, family: 4 | 6): string {
  return `p_${stableHash(key).slice(0, 12)}_${family}`;
}

export function namedPortSetName(portName: string, family: 4 | 6): string {
  return `np_${nftIdent(portName)}_${family}`;
}

export function profileChainName(direction: Direction, key: string): string {
  return `${DIR[direction]}_${stableHash(key).slice(0, 12)}`;
}

export function policyChainName(
  kind: 'Policy' | 'GlobalPolicy',
  tier: string,
  name: string,
  direction: Direction,
  part: 'd' | 'a' | 'r',
): string {
  const prefix = kind === 'Policy' ? 't' : tier === 'baseline' ? 'b' : 'a';
  return `${prefix}_${nftIdent(name)}_${DIR[direction]}${part}`;
}

export const EGRESS_BASE = 'egress';
export const INGRESS_BASE = 'ingress';
export const EGRESS_MAP = 'egress_dispatch';
export const INGRESS_MAP = 'ingress_dispatch';
