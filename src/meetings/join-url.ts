import { randomBytes } from 'node:crypto';

/**
 * Teams join links, the way bots take them apart (microsoft-graph-comms-samples JoinInfo.cs; spec §6.4):
 * `https://teams.microsoft.com/l/meetup-join/{threadId}/{messageId}?context={"Tid":"…","Oid":"…"}`, every part
 * URL-encoded. graph-calls makes links of exactly that form (lowercase percent escapes, as Teams prints
 * them), and the meeting id from the same organizer and thread (domain/online-meeting.ts), so
 * join link -> chatInfo + organizerMeetingInfo -> call -> recordings/transcripts all name one meeting.
 */
export const JOIN_HOST = 'https://teams.microsoft.com';

/** `19:meeting_{base64}@thread.v2`: the base64 of random bytes, as real meeting threads look (INFERRED). */
export function newThreadId(): string {
  return `19:meeting_${randomBytes(45).toString('base64').replace(/[+/=]/g, 'A').slice(0, 60)}@thread.v2`;
}

/** A 10–15 digit join meeting id (joinMeetingIdSettings.joinMeetingId; samples have 12–14 digits). */
export function newJoinMeetingId(): string {
  return [...randomBytes(13)].map((b, i) => String(i === 0 ? 1 + (b % 9) : b % 10)).join('');
}

export function newPasscode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
  return [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** encodeURIComponent with Teams' lowercase hex escapes (`19%3ameeting_…%40thread.v2`). */
const teamsEncode = (s: string) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

export function joinWebUrl(threadId: string, tenantId: string, organizerId: string): string {
  return `${JOIN_HOST}/l/meetup-join/${teamsEncode(threadId)}/0?context=${teamsEncode(JSON.stringify({ Tid: tenantId, Oid: organizerId }))}`;
}

export interface ParsedJoinUrl {
  threadId: string;
  messageId: string;
  replyChainMessageId: string | null;
  tenantId: string;
  organizerId: string;
}

/** Decodes until nothing changes (links arrive encoded once, twice, or not at all); null if undecodable. */
function decodeFully(s: string): string | null {
  let cur = s;
  for (let i = 0; i < 4; i++) {
    let next: string;
    try { next = decodeURIComponent(cur); } catch { return null; }
    if (next === cur) return cur;
    cur = next;
  }
  return cur;
}

/** What a bot reads from a long join link, or null when it is not one. */
export function parseJoinUrl(url: string): ParsedJoinUrl | null {
  const decoded = decodeFully(url.trim());
  if (!decoded) return null;
  const m = /^https:\/\/[^/]+\/l\/meetup-join\/([^/]+)\/([^/?]+)\?context=(\{.*\})/i.exec(decoded);
  if (!m) return null;
  let ctx: Record<string, unknown>;
  try { ctx = JSON.parse(m[3]!) as Record<string, unknown>; } catch { return null; }
  if (typeof ctx.Tid !== 'string' || typeof ctx.Oid !== 'string') return null;
  return {
    threadId: m[1]!, messageId: m[2]!, replyChainMessageId: typeof ctx.MessageId === 'string' ? ctx.MessageId : null,
    tenantId: ctx.Tid.toLowerCase(), organizerId: ctx.Oid.toLowerCase(),
  };
}

/**
 * The key a join URL is looked up by: fully decoded and lowercased, so `$filter=JoinWebUrl eq '…'` finds
 * the meeting whether the client encoded the link once (the docs' samples), twice, or sent it as printed.
 */
export function joinUrlKey(url: string): string {
  return (decodeFully(url.trim()) ?? url.trim()).toLowerCase();
}
