import { formatIPv4, inCidr, parseCidr, parseIp, type Cidr, type IpBytes } from './ip-address.js';

/**
 * The callbackUri rule, in one place (design.md §4, docs/configuration.md "callbackUri"). Graph requires
 * an absolute https URL, and Graph, being on the internet, can only ever reach public hosts. graph-calls
 * runs beside the bot, inside someone's network, so it also refuses what Graph could never reach — or
 * every bot-facing API would be a way into that network (SSRF):
 *
 * - loopback hosts (127.0.0.0/8, ::1, localhost) and public hosts are called; plain http only on loopback
 *   (so a bot can run locally) and on hosts the operator allowed;
 * - link-local (169.254.0.0/16, fe80::/10), cloud metadata and unspecified addresses, never;
 * - private (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10) and other special-purpose ranges only
 *   when `--allow-callback-hosts` names them (CIDRs) or the host (names, `*.suffix`).
 *
 * `uriProblem` runs where a callbackUri is accepted (create, answer, reject, redirect, apps, incoming calls)
 * and on every redirect target; it judges IP literals and known names. `addressProblem` runs in the sender
 * on each address a host name resolves to, just before connecting, so DNS cannot rebind around it.
 */
export interface CallbackPolicy {
  /** What is wrong with this callbackUri, or null when graph-calls accepts it. */
  uriProblem(value: string): string | null;
  /** What is wrong with connecting to `address`, which `hostname` resolved to, or null. */
  addressProblem(address: string, hostname: string): string | null;
}

export interface CallbackPolicyOptions {
  /** `--allow-callback-hosts`: CIDRs, IP addresses, host names and `*.suffix` patterns. */
  allow?: readonly string[];
  /** `--callback-uri-max-length`; absent = no limit. */
  maxUriLength?: number;
}

/** How graph-calls treats an address: call it, call it only if allowed, or never. */
type Verdict = 'loopback' | 'public' | 'optIn' | 'never';

interface Range {
  block: Cidr;
  text: string;
  verdict: Verdict;
  what: string;
}

const range = (text: string, verdict: Verdict, what: string): Range => ({ block: parseCidr(text)!, text, verdict, what });

/** First match wins (metadata before link-local, so the message names it). IANA special-purpose registries. */
const RANGES: readonly Range[] = [
  range('0.0.0.0/8', 'never', 'an unspecified address'),
  range('127.0.0.0/8', 'loopback', 'a loopback address'),
  range('169.254.169.254/32', 'never', 'a cloud metadata address'),
  range('100.100.100.200/32', 'never', 'a cloud metadata address'),
  range('169.254.0.0/16', 'never', 'a link-local address'),
  range('10.0.0.0/8', 'optIn', 'a private address'),
  range('172.16.0.0/12', 'optIn', 'a private address'),
  range('192.168.0.0/16', 'optIn', 'a private address'),
  range('100.64.0.0/10', 'optIn', 'a shared (carrier-grade NAT) address'),
  range('192.0.0.0/24', 'optIn', 'an IETF protocol-assignment address'),
  range('192.0.2.0/24', 'optIn', 'a documentation address'),
  range('198.51.100.0/24', 'optIn', 'a documentation address'),
  range('203.0.113.0/24', 'optIn', 'a documentation address'),
  range('198.18.0.0/15', 'optIn', 'a benchmarking address'),
  range('192.88.99.0/24', 'optIn', 'a 6to4 relay address'),
  range('224.0.0.0/4', 'optIn', 'a multicast address'),
  range('240.0.0.0/4', 'optIn', 'a reserved address'),
  range('::/128', 'never', 'the unspecified address'),
  range('::1/128', 'loopback', 'the loopback address'),
  range('fd00:ec2::254/128', 'never', 'a cloud metadata address'),
  range('fe80::/10', 'never', 'a link-local address'),
  range('fc00::/7', 'optIn', 'a unique local (private) address'),
  range('fec0::/10', 'optIn', 'a site-local address'),
  range('ff00::/8', 'optIn', 'a multicast address'),
  range('::/96', 'optIn', 'an IPv4-compatible address'),
  range('::ffff:0:0:0/96', 'optIn', 'an IPv4-translated address'),
  range('64:ff9b:1::/48', 'optIn', 'a local-use NAT64 address'),
  range('100::/64', 'optIn', 'a discard-only address'),
  range('2001:db8::/32', 'optIn', 'a documentation address'),
  range('3fff::/20', 'optIn', 'a documentation address'),
  range('2001::/23', 'optIn', 'an IETF protocol-assignment address'),
  range('2002::/16', 'optIn', 'a 6to4 address'),
];
const MAPPED = parseCidr('::ffff:0:0/96')!;
const NAT64 = parseCidr('64:ff9b::/96')!;
const GLOBAL_UNICAST = parseCidr('2000::/3')!;

/** Names of metadata services that answer on a link-local address anyway; refused before any lookup. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

interface Judgement {
  verdict: Verdict;
  what: string;
  range: string | null;
  /** The IPv4 address an IPv4-mapped or NAT64 address stands for, and how (` (IPv4-mapped 10.0.0.1)`). */
  v4: IpBytes | null;
  via: string;
}

/**
 * What an address is. IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is its IPv4 address: the kernel connects to
 * that. A NAT64 address (`64:ff9b::a.b.c.d`) reaches its IPv4 address through a gateway, so it is judged
 * as that address, except that the gateway's own loopback is not ours.
 */
function judge(ip: IpBytes): Judgement {
  let v4: IpBytes | null = null;
  let nat64 = false;
  if (ip.length === 16 && inCidr(ip, MAPPED)) v4 = ip.slice(12);
  else if (ip.length === 16 && inCidr(ip, NAT64)) { v4 = ip.slice(12); nat64 = true; }
  const subject = v4 ?? ip;
  const via = v4 ? ` (${nat64 ? 'NAT64 for' : 'IPv4-mapped'} ${formatIPv4(v4)})` : '';
  const hit = RANGES.find((r) => inCidr(subject, r.block));
  if (hit) {
    if (nat64 && hit.verdict === 'loopback') return { verdict: 'optIn', what: 'a loopback address behind a NAT64 gateway', range: hit.text, v4, via };
    return { verdict: hit.verdict, what: hit.what, range: hit.text, v4, via };
  }
  if (subject.length === 16 && !inCidr(subject, GLOBAL_UNICAST)) return { verdict: 'optIn', what: 'an unassigned IPv6 address', range: null, v4, via };
  return { verdict: 'public', what: 'a public address', range: null, v4, via };
}

/** A host as URL gives it: lower-case, IPv6 in brackets; compared without the brackets and a final dot. */
const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();

export function isLoopbackHost(hostname: string): boolean {
  const h = bare(hostname);
  if (h === 'localhost') return true;
  const ip = parseIp(h);
  return ip !== null && judge(ip).verdict === 'loopback';
}

interface AllowList {
  blocks: Cidr[];
  names: Set<string>;
  /** `*.corp.example` as `.corp.example`. */
  suffixes: string[];
}

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

function parseAllowList(entries: readonly string[]): { list: AllowList; problems: string[] } {
  const list: AllowList = { blocks: [], names: new Set(), suffixes: [] };
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!entry) continue;
    const block = /[/:]/.test(entry) || parseIp(entry) ? parseCidr(entry.replace(/^\[([^\]]+)\]/, '$1')) : null;
    if (block) {
      const covers = RANGES.find((r) => r.verdict === 'never' && r.block.bytes.length === block.bytes.length && r.block.prefix <= block.prefix && inCidr(block.bytes, r.block));
      if (covers) problems.push(`'${raw}' lies in ${covers.text}, ${covers.what}, which graph-calls never calls`);
      else list.blocks.push(block);
    } else if (/^[\d.]+$/.test(entry) || /[/:]/.test(entry) || !HOST_NAME.test(entry)) {
      problems.push(`'${raw}' is not a CIDR (10.0.0.0/8, fd00::/8), an IP address or a host name (bot.internal, *.corp.example)`);
    } else if (METADATA_NAMES.has(entry)) {
      problems.push(`'${raw}' is a cloud metadata service, which graph-calls never calls`);
    } else if (entry.startsWith('*.')) list.suffixes.push(entry.slice(1));
    else list.names.add(entry);
  }
  return { list, problems };
}

/** Problems with `--allow-callback-hosts` entries, for config validation (all at once). */
export function allowListProblems(entries: readonly string[]): string[] {
  return parseAllowList(entries).problems;
}

const ALLOW_HINT = 'allow it with --allow-callback-hosts';

export function callbackPolicy(o: CallbackPolicyOptions = {}): CallbackPolicy {
  const { list } = parseAllowList(o.allow ?? []);
  const maxLength = o.maxUriLength ?? Number.POSITIVE_INFINITY;
  const nameAllowed = (host: string) => list.names.has(host) || list.suffixes.some((s) => host.endsWith(s));
  const blockAllowed = (ip: IpBytes, v4: IpBytes | null) => list.blocks.some((b) => inCidr(ip, b) || (v4 !== null && inCidr(v4, b)));

  /** Null when graph-calls may connect to `ip` for `host`; otherwise the verdict and what the address is. */
  const refusal = (ip: IpBytes, host: string): Judgement | null => {
    const j = judge(ip);
    if (j.verdict === 'never') return j;
    if (j.verdict === 'loopback' || j.verdict === 'public') return null;
    return nameAllowed(host) || blockAllowed(ip, j.v4) ? null : j;
  };
  const tail = (j: Judgement) => `${j.what}${j.range ? ` in ${j.range}` : ''}, which graph-calls ${j.verdict === 'never' ? 'never calls' : `does not call: ${ALLOW_HINT}`}`;

  return {
    uriProblem(value) {
      if (value.length > maxLength) return `the URL is ${value.length} characters long; at most ${maxLength} are accepted (--callback-uri-max-length)`;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `'${value}' is not an absolute URL`;
      }
      if (url.username || url.password) return 'the URL must not carry credentials (user:password@)';
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return `the scheme must be https (or http for a loopback host), got '${url.protocol.replace(':', '')}'`;
      const host = bare(url.hostname);
      if (METADATA_NAMES.has(host)) return `'${host}' is a cloud metadata service, which graph-calls never calls`;
      const ip = parseIp(host);
      if (ip) {
        const j = refusal(ip, host);
        if (j) return `the host ${host}${j.via} is ${tail(j)}`;
      }
      // Plain http: loopback (a bot on this machine) or a host the operator allowed; Graph requires https.
      if (url.protocol === 'http:' && !isLoopbackHost(host) && !nameAllowed(host) && !(ip && blockAllowed(ip, judge(ip).v4))) {
        return `https is required for the non-loopback host '${url.hostname}'`;
      }
      return null;
    },
    addressProblem(address, hostname) {
      const ip = parseIp(address);
      if (!ip) return `'${address}' is not an IP address`;
      const host = bare(hostname);
      const j = refusal(ip, host);
      if (!j) return null;
      return parseIp(host) ? `the host ${host}${j.via} is ${tail(j)}` : `callback host '${host}' resolves to ${address}${j.via}, ${tail(j)}`;
    },
  };
}

/** The rule with no exceptions allowed and no length limit. */
export const STRICT_CALLBACKS: CallbackPolicy = callbackPolicy();

/** The rule with no exceptions allowed; null when the URI is acceptable. */
export function callbackUriProblem(value: string): string | null {
  return STRICT_CALLBACKS.uriProblem(value);
}
