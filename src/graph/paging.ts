import type { FastifyRequest } from 'fastify';
import { GraphError } from './graph-errors.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 999;

/** `$top` and `$skiptoken` (an opaque keyset position: the last row's sequence number). */
export function pageParams(request: FastifyRequest): { top: number; after: number } {
  const q = request.query as Record<string, string | undefined>;
  const topRaw = q.$top ?? q.top;
  const skipRaw = q.$skiptoken ?? q.skiptoken;
  let top = DEFAULT_PAGE_SIZE;
  if (topRaw !== undefined) {
    top = Number(topRaw);
    if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE_SIZE) throw new GraphError('INVALID_REQUEST', `Invalid value '${topRaw}' for query parameter $top: expected an integer from 1 to ${MAX_PAGE_SIZE}.`);
  }
  let after = 0;
  if (skipRaw !== undefined) {
    after = Number.parseInt(Buffer.from(skipRaw, 'base64url').toString('utf8'), 10);
    if (!Number.isInteger(after) || after < 0) throw new GraphError('INVALID_REQUEST', `Invalid value for query parameter $skiptoken.`);
  }
  return { top, after };
}

/** `@odata.nextLink` for the page after `lastSeq`, keeping $top. */
export function nextLink(baseUrl: string, top: number, lastSeq: number): string {
  const token = Buffer.from(String(lastSeq), 'utf8').toString('base64url');
  return `${baseUrl}?$top=${top}&$skiptoken=${token}`;
}
