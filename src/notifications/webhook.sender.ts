/** What one POST to a bot's callbackUri came back with. */
export interface WebhookResponse {
  status: number;
  /** `Location` header (redirects), if any. */
  location: string | null;
  /** `Retry-After` in ms (429/503), if any. */
  retryAfterMs: number | null;
  latencyMs: number;
}

export class WebhookError extends Error {
  constructor(message: string, readonly latencyMs: number) {
    super(message);
  }
}

/** Outbound HTTP behind a port: the delivery worker never calls fetch itself. */
export interface WebhookSender {
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<WebhookResponse>;
}

function parseRetryAfter(v: string | null, now: number): number | null {
  if (!v) return null;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** The real sender: fetch with a timeout, redirects not followed (a redirect re-homes the call instead). */
export const fetchSender: WebhookSender = {
  async post(url, headers, body, timeoutMs) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      return {
        status: res.status,
        location: res.headers.get('location'),
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), Date.now()),
        latencyMs: performance.now() - t0,
      };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new WebhookError(reason, performance.now() - t0);
    }
  },
};
