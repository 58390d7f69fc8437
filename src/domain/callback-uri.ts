/**
 * The callbackUri rule (design.md §4, docs/configuration.md): an absolute http(s) URL; https is required
 * except for loopback hosts, where plain http is accepted so bots can run locally. Graph itself requires
 * https everywhere. Returns the problem, or null when the URI is acceptable.
 */
export function callbackUriProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `'${value}' is not an absolute URL`;
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol !== 'http:') return `the scheme must be https (or http for a loopback host), got '${url.protocol.replace(':', '')}'`;
  return isLoopbackHost(url.hostname) ? null : `https is required for the non-loopback host '${url.hostname}'`;
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
