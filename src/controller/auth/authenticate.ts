/**
 * Who is asking: the bearer token -> principal (401 when missing or wrong; only public routes
 * need none), and the end of a long-lived watch when its token is revoked or expires.
 */
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../core/auth/roles';
import type { TokenStore } from '../../auth/token-store';
import { ServiceError } from '../errors';

export const unauthorized = (message: string) => new ServiceError(401, 'Unauthorized', message);

const RECHECK_MS = 5000;

export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length > 512) return undefined;
  return /^Bearer ([!-~]+)$/i.exec(header.trim())?.[1];
}

export async function authenticate(request: FastifyRequest, tokens: TokenStore): Promise<Principal | undefined> {
  const bearer = bearerOf(request);
  if (!bearer) return undefined;
  try {
    return await tokens.authenticate(bearer);
  } catch (error) {
    request.log.error({ err: error }, 'token lookup failed');
    throw new ServiceError(503, 'Internal', 'cannot check the token now; try again');
  }
}

/** A watch outlives its first check: it is cut when its token is revoked or expires. */
export function endWhenRevoked(request: FastifyRequest, tokens: TokenStore): void {
  const bearer = bearerOf(request);
  if (!bearer) return;
  const timer = setInterval(() => {
    tokens.authenticate(bearer).then(
      (principal) => {
        if (!principal) request.raw.destroy();
      },
      () => undefined,
    );
  }, RECHECK_MS);
  timer.unref();
  request.raw.on('close', () => clearInterval(timer));
}
