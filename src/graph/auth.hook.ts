import type { FastifyRequest } from 'fastify';
import type { Principal } from '../domain/call.js';
import { TokenRejected, type TokenService } from '../auth/token.service.js';

const PRINCIPAL = Symbol('principal');
type WithPrincipal = FastifyRequest & { [PRINCIPAL]?: Principal };

/** onRequest hook for Graph routes: `Authorization: Bearer <app token>` -> the request's principal. */
export function bearerAuth(tokens: TokenService) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) throw new TokenRejected('missing');
    const space = header.indexOf(' ');
    if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') throw new TokenRejected('malformed');
    const token = header.slice(space + 1).trim();
    if (!token) throw new TokenRejected('missing');
    (request as WithPrincipal)[PRINCIPAL] = await tokens.verify(token);
  };
}

export function principalOf(request: FastifyRequest): Principal {
  const p = (request as WithPrincipal)[PRINCIPAL];
  if (!p) throw new Error('principalOf called on a route without bearer auth');
  return p;
}
