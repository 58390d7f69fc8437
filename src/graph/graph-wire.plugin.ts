import type { FastifyInstance, FastifyRequest } from 'fastify';
import { graphErrorHandler } from './error-handler.js';
import { GRAPH_ERRORS, GraphError } from './graph-errors.js';
import { addGraphHeaders } from './wire.js';

/**
 * Graph's wire conventions for the scope it is called in: the headers every Graph response carries and
 * the one error funnel. The Graph versions and the control plane call it for their own scopes; the token
 * endpoint does not, since it answers as Entra ID does.
 */
export function useGraphWire(scope: FastifyInstance): void {
  scope.addHook('onRequest', async (request, reply) => addGraphHeaders(request, reply));
  scope.setErrorHandler(graphErrorHandler);
  scope.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });
}

/** Deepest nesting of objects and arrays a JSON body may have; Graph's own bodies need fewer than ten. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `text` nests objects and arrays more than `limit` deep, counted without parsing (brackets
 * inside strings do not count), stopping as soon as `limit` is passed: a body 100,000 levels deep is refused after 65 brackets,
 * before JSON.parse or any recursive walk sees it.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { if (++depth > limit) return true; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Graph's body parsing: an empty body is no body (Graph accepts bodyless action POSTs), JSON must parse,
 * anything else is a 415. Registered at the root, so unknown paths answer as Graph does too; the token
 * endpoint replaces them with Entra's form parsing in its own scope.
 */
export function useGraphBodies(scope: FastifyInstance): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      return done(new GraphError('JSON_TOO_DEEP', `${GRAPH_ERRORS.JSON_TOO_DEEP.message} Objects and arrays may nest at most ${MAX_JSON_DEPTH} levels deep.`), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new GraphError('INVALID_JSON', `${GRAPH_ERRORS.INVALID_JSON.message} ${(err as Error).message}.`), undefined);
    }
  });
  scope.removeContentTypeParser('text/plain');
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    if ((body as Buffer).length === 0) return done(null, {});
    done(new GraphError('UNSUPPORTED_MEDIA_TYPE', `${GRAPH_ERRORS.UNSUPPORTED_MEDIA_TYPE.message} Got '${String(req.headers['content-type'])}'.`), undefined);
  });
}
