import { randomUUID } from 'node:crypto';
import { GraphError } from '../graph/graph-errors.js';
import { WebhookError, type WebhookSender } from '../notifications/webhook.sender.js';
import { MESSAGES, validationTokenText } from './subscription-rules.js';

/**
 * Graph's validation handshake (spec graph-recordings-pipeline §1.4): POST `{url}?validationToken={token}`
 * (the URL's own query kept), `Content-Type: text/plain; charset=utf-8`, empty body; the endpoint must
 * answer 200, `text/plain`, the URL-decoded token, within the deadline, or the create fails with Graph's
 * error (§1.7): no 200 → ValidationError "…must respond with 200 OK…"; another body (or not text/plain) →
 * "…must exactly match validationToken…"; no answer in time → InvalidRequest "…timed out.". A URL
 * graph-calls does not call (callbackUri rule, SSRF guard) fails as an endpoint that cannot be reached.
 */
export async function validateEndpoint(sender: WebhookSender, url: string, timeoutMs: number): Promise<void> {
  const token = validationTokenText(randomUUID());
  const target = new URL(url);
  target.searchParams.append('validationToken', token);
  const headers = { 'content-type': 'text/plain; charset=utf-8', accept: 'text/plain', 'user-agent': 'graph-calls change notifications' };
  let result;
  try {
    result = await sender.post(target.toString(), headers, '', timeoutMs, { keepBodyBytes: Buffer.byteLength(token) + 256 });
  } catch (err) {
    if (err instanceof WebhookError && /timed out/.test(err.message)) throw new GraphError('SUBSCRIPTION_VALIDATION_TIMEOUT', MESSAGES.validationTimeout);
    throw new GraphError('SUBSCRIPTION_VALIDATION', `${MESSAGES.validationFailed} (${url}: ${err instanceof Error ? err.message : String(err)})`);
  }
  if (result.status !== 200) throw new GraphError('SUBSCRIPTION_VALIDATION', MESSAGES.validationFailed);
  const type = (result.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'text/plain' || result.body !== token) throw new GraphError('SUBSCRIPTION_VALIDATION', MESSAGES.validationMismatch);
}
