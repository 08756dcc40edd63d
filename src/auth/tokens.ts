/**
 * Token format and hashing. A token is `tnt_<id>_<secret>`: the id finds the record, and
 * only a SHA-256 of the secret is ever stored, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../core/auth/roles';

export interface TokenRecord {
  id: string;
  role: Role;
  tenant?: string;
  host?: string;
  description?: string;
  createdAt: string;
  /** ISO time; absent means the token does not expire. */
  expiresAt?: string;
  /** hex SHA-256 of the secret. */
  secretHash: string;
}

const TOKEN_PATTERN = /^tnt_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})$/;

export function parseToken(text: string): { id: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(text.trim());
  return match ? { id: match[1], secret: match[2] } : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(record: TokenRecord, secret: string): boolean {
  const expected = Buffer.from(record.secretHash, 'hex');
  const actual = Buffer.from(hashSecret(secret), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function isExpired(record: TokenRecord, now: Date): boolean {
  return record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime();
}

/** A new token: the text handed to the user once, and the record that is stored. */
export function mintToken(fields: Omit<TokenRecord, 'id' | 'secretHash' | 'createdAt'>, now: Date): { token: string; record: TokenRecord } {
  const id = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12)
    .padEnd(12, '0');
  const secret = randomBytes(32).toString('base64url');
  const record: TokenRecord = { ...fields, id, secretHash: hashSecret(secret), createdAt: now.toISOString() };
  return { token: `tnt_${id}_${secret}`, record };
}

/** Parses durations like 90s, 30m, 24h, 7d. */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,6})(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
