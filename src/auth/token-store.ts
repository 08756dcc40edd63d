/** Tokens kept in the Store (hashed), shared by every controller on the same store. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Store, WriteOp } from '../store/store';
import { isExpired, mintToken, parseToken, secretMatches, type TokenRecord } from './tokens';
import type { Principal, Role } from '../core/auth/roles';

const TOKENS_PREFIX = '/tokens/';

/** An audit entry to write in the same txn as the token change (see controller/object-service AuditSink). */
export interface TokenAudit {
  op(summary: string): WriteOp;
  recorded: boolean;
}

export class TokenStore {
  /** Verified tokens, so a request costs no store read; entries expire quickly so revocation takes effect. */
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly cacheMs = 2000,
  ) {}

  async create(
    fields: { role: Role; tenant?: string; host?: string; description?: string; ttlMs?: number },
    now = new Date(),
    audit?: TokenAudit,
  ): Promise<{ token: string; record: TokenRecord }> {
    const expiresAt = fields.ttlMs ? new Date(now.getTime() + fields.ttlMs).toISOString() : undefined;
    const minted = mintToken(
      { role: fields.role, tenant: fields.tenant, host: fields.host, description: fields.description, expiresAt },
      now,
    );
    const key = TOKENS_PREFIX + minted.record.id;
    const summary = `created ${fields.role} token ${minted.record.id}${fields.tenant ? ` for tenant ${fields.tenant}` : ''}${fields.host ? ` for host ${fields.host}` : ''}${expiresAt ? ` expiring ${expiresAt}` : ''}`;
    const ops: WriteOp[] = [{ type: 'put', key, value: JSON.stringify(minted.record) }];
    if (audit) ops.push(audit.op(summary));
    const result = await this.store.txn([{ key, modRevision: 0 }], ops);
    if (!result.succeeded) throw new Error('token id collision; try again');
    if (audit) audit.recorded = true;
    return minted;
  }

  async list(): Promise<TokenRecord[]> {
    const { items } = await this.store.range(TOKENS_PREFIX);
    return items.map((item) => JSON.parse(item.value) as TokenRecord);
  }

  /** Deletes the token record; the other controllers' caches forget it within cacheMs. */
  async revoke(id: string, audit?: TokenAudit): Promise<boolean> {
    const key = TOKENS_PREFIX + id;
    for (;;) {
      const existing = await this.store.get(key);
      if (!existing) return false;
      const ops: WriteOp[] = [{ type: 'delete', key }];
      if (audit) ops.push(audit.op(`revoked token ${id}`));
      const result = await this.store.txn([{ key, modRevision: existing.modRevision }], ops);
      if (!result.succeeded) continue;
      if (audit) audit.recorded = true;
      this.cache.clear();
      return true;
    }
  }

  /** The principal a bearer token stands for, or undefined when it is unknown, wrong or expired. */
  async authenticate(bearer: string, now = new Date()): Promise<Principal | undefined> {
    const cached = this.cache.get(bearer);
    if (cached && cached.until > now.getTime()) return cached.principal;
    const parsed = parseToken(bearer);
    if (!parsed) return undefined;
    const stored = await this.store.get(TOKENS_PREFIX + parsed.id);
    if (!stored) return undefined;
    const record = JSON.parse(stored.value) as TokenRecord;
    if (!secretMatches(record, parsed.secret) || isExpired(record, now)) return undefined;
    const principal: Principal = { tokenId: record.id, role: record.role, tenant: record.tenant, host: record.host };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(bearer, { principal, until: now.getTime() + this.cacheMs });
    return principal;
  }

  /**
   * On first start: an admin token written to dataDir/admin.token (mode 0600). Returns the file path
   * when a token was created, undefined when an admin token file already exists.
   */
  async ensureBootstrapAdmin(dataDir: string): Promise<string | undefined> {
    const file = path.join(dataDir, 'admin.token');
    if (fs.existsSync(file)) return undefined;
    const { token } = await this.create({ role: 'admin', description: 'bootstrap admin token' });
    fs.mkdirSync(dataDir, { recursive: true });
    const temporary = `${file}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
    fs.renameSync(temporary, file);
    return file;
  }
}
