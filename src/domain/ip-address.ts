/**
 * IP addresses as bytes (4 for IPv4, 16 for IPv6) and CIDR blocks over them: the arithmetic under the
 * callbackUri policy (callback-uri.ts). Pure and strict: only the canonical text forms that WHATWG URL,
 * getaddrinfo and a config file produce are read; URL has already turned `0x7f000001`, `017700000001`
 * and `127.1` into `127.0.0.1` by the time a host name gets here.
 */
export type IpBytes = Uint8Array;

export interface Cidr {
  bytes: IpBytes;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): IpBytes | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return Uint8Array.from(parts.map(Number));
}

/** `::`, `fd00:ec2::254`, `::ffff:10.0.0.1`; a zone (`%eth0`) is dropped. */
export function parseIPv6(text: string): IpBytes | null {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let tail: IpBytes | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/** An IP literal, with or without the brackets URL puts around IPv6; null for a host name. */
export function parseIp(text: string): IpBytes | null {
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return parseIPv4(s) ?? (s.includes(':') ? parseIPv6(s) : null);
}

/** `10.0.0.0/8`, `fd00::/8`, or one address (a /32 or /128). */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!bytes) return null;
  const bits = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: bits };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return null;
  return { bytes, prefix: Number(p) };
}

export function inCidr(address: IpBytes, block: Cidr): boolean {
  if (address.length !== block.bytes.length) return false;
  for (let bit = 0; bit < block.prefix; bit += 8) {
    const take = Math.min(8, block.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((address[bit / 8]! ^ block.bytes[bit / 8]!) & mask) !== 0) return false;
  }
  return true;
}

export function formatIPv4(bytes: IpBytes): string {
  return Array.from(bytes).join('.');
}
