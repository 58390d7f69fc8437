import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A loopback port that is free now and that no port-0 listener will be handed meanwhile: for a test that
 * lets a port go and listens on it again later (a bot that comes back, a server started on a chosen
 * port). A port the kernel handed out (listen on 0, then close) can go to any other listener in between,
 * another graph-calls of the same test or of a test running alongside, and the test then fails with
 * EADDRINUSE. So the port comes from below the kernel's ephemeral range (ip_local_port_range), which
 * port-0 listeners never get; it is random there, and checked free by listening on it once.
 */
export async function reservablePort(): Promise<number> {
  const low = ephemeralLow();
  const from = Math.max(1024, Math.min(20_000, low - 2_000));
  for (let tries = 0; tries < 50; tries++) {
    const port = from + Math.floor(Math.random() * (low - from));
    if (await listenable(port)) return port;
  }
  throw new Error(`no free port below the ephemeral range (${from}-${low - 1}) after 50 tries`);
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 3_000) return low;
  } catch {
    // not Linux: the IANA dynamic range begins at 49152
  }
  return 49_152;
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
