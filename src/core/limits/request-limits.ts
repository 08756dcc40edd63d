/**
 * Per-token request limits, by role: requests per window (answered 429 with Retry-After beyond it)
 * and concurrent watch streams (429 for one more). Pure: defaults and the parsing of
 * `tenet controller --rate-limit ROLE=N,...` / `--max-watches ROLE=N,...`.
 *
 * Admins and agents get limits far above anything they do in normal operation: the endpoint bench
 * sends ~1,000 creates/s with one admin token, an agent sends a heartbeat every 10 s and holds one
 * watch (two while it re-connects). Tenant roles get enough for any interactive use and scripts
 * (the security fuzz sends ~10,000 requests at concurrency 32 spread over three tenant tokens).
 */
import { ROLES, type Role } from '../auth/roles';

export type PerRole = Record<Role, number>;

/** Length of the fixed window the request counts apply to. */
export const RATE_WINDOW_MS = 10_000;

/** Requests per token per RATE_WINDOW_MS. */
export const DEFAULT_RATE_LIMITS: Readonly<PerRole> = {
  admin: 100_000,
  agent: 20_000,
  'tenant-admin': 5_000,
  viewer: 5_000,
};

/** Watch streams open at once per token. */
export const DEFAULT_WATCH_LIMITS: Readonly<PerRole> = {
  admin: 1_000,
  agent: 32,
  'tenant-admin': 64,
  viewer: 64,
};

/** `viewer=100,tenant-admin=200` over `defaults`; throws with a message naming the bad part. */
export function parsePerRole(text: string, defaults: Readonly<PerRole>, max = 100_000_000): PerRole {
  const out = { ...defaults };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^([a-z-]+)=([0-9]{1,9})$/.exec(part);
    const role = match?.[1] as Role | undefined;
    if (!match || !role || !ROLES.includes(role)) throw new Error(`"${part}": expected ROLE=N with ROLE one of ${ROLES.join(', ')}`);
    const value = Number(match[2]);
    if (value < 1 || value > max) throw new Error(`"${part}": N must be between 1 and ${max}`);
    out[role] = value;
  }
  return out;
}
