import type { Call, IdentitySet, InvitationParticipantInfo, ResultInfo } from '../domain/call.js';
import type { ConfigStore, Wakeups } from '../domain/ports.js';
import { RESULT } from '../domain/result-codes.js';
import { SharedCollection } from '../shared/shared-collection.js';

/**
 * How a simulated person (or meeting) on the far side answers when graph-calls rings them: for outgoing
 * calls, transfer targets and (through `answerFor`) anyone else a bot invites. One behaviour per target,
 * keyed by the target's id: a user's or application's id (compared lowercased) or a phone number (E.164);
 * a meeting is keyed by its organizer's user id, its chat threadId or its joinMeetingId. No behaviour:
 * answer after --answer-delay-ms, as before.
 *
 * Graph documents the codes of only some outcomes (call-delete "Call end reason codes"): no answer is
 * 408/10057 and a lobby that times out is 200/5855; decline and busy are INFERRED (RESULT in result-codes.ts).
 */

export const FAR_SIDE_RESPONSES = ['answer', 'noAnswer', 'decline', 'busy'] as const;
export type FarSideResponse = (typeof FAR_SIDE_RESPONSES)[number];

export interface FarSideBehaviour {
  /** User/application id, phone number, meeting organizer id, threadId or joinMeetingId. */
  target: string;
  response: FarSideResponse;
  /** answer: ring this long, then answer; decline/busy: ring this long, then refuse. Null = --answer-delay-ms. */
  afterMs: number | null;
  /** answer: the far side hangs up this long after answering; null = never. */
  hangUpAfterMs: number | null;
  /** Meeting joins: the bot waits in the lobby until the control plane admits it (or the lobby times out). */
  lobby: boolean;
}

/** What the far side will do when rung: decided once, when the ringing starts, and carried by the job. */
export type FarSideAnswer =
  | { kind: 'answer'; afterMs: number; hangUpAfterMs: number | null }
  | { kind: 'lobby'; afterMs: number; hangUpAfterMs: number | null }
  | { kind: 'refuse'; afterMs: number; result: ResultInfo };

export interface AnswerDefaults {
  answerDelayMs: number;
  /** How long an unanswered target rings before the call ends with 408/10057. */
  ringingTimeoutMs: number;
}

/**
 * INFERRED: how long the far-side meeting keeps the bot in its lobby before removing it (200/5855). Teams
 * does not document it; 15 minutes is the lobby wait Teams users report.
 */
export const LOBBY_TIMEOUT_MS = 15 * 60_000;

/** The small function the ringing path calls: a behaviour (or none) -> what happens, and when. */
export function decideAnswer(b: FarSideBehaviour | undefined, d: AnswerDefaults): FarSideAnswer {
  const afterMs = b?.afterMs ?? d.answerDelayMs;
  switch (b?.response ?? 'answer') {
    case 'noAnswer': return { kind: 'refuse', afterMs: d.ringingTimeoutMs, result: RESULT.notAnswered };
    case 'decline': return { kind: 'refuse', afterMs, result: RESULT.declined };
    case 'busy': return { kind: 'refuse', afterMs, result: RESULT.busy };
    default: return { kind: b?.lobby ? 'lobby' : 'answer', afterMs, hangUpAfterMs: b?.hangUpAfterMs ?? null };
  }
}

/** Job payloads are string maps: a decision travels in its job, so a later change of behaviour does not alter a call already ringing. */
export function answerToPayload(a: FarSideAnswer): Record<string, string> {
  if (a.kind === 'refuse') return { outcome: 'refuse', code: String(a.result.code), subcode: String(a.result.subcode), message: a.result.message };
  return { outcome: a.kind, ...(a.hangUpAfterMs !== null ? { hangUpAfterMs: String(a.hangUpAfterMs) } : {}) };
}

export function answerFromPayload(p: Record<string, string>): FarSideAnswer {
  const hangUpAfterMs = p.hangUpAfterMs !== undefined ? Number(p.hangUpAfterMs) : null;
  if (p.outcome === 'refuse') return { kind: 'refuse', afterMs: 0, result: { code: Number(p.code), subcode: Number(p.subcode), message: p.message ?? '' } };
  if (p.outcome === 'lobby') return { kind: 'lobby', afterMs: 0, hangUpAfterMs };
  // Jobs without a decision (answers to incoming calls, jobs written by earlier releases): media connects.
  return { kind: 'answer', afterMs: 0, hangUpAfterMs };
}

/** Problems with one behaviour document (file or control plane), all reported together. */
export function behaviourProblems(doc: unknown, where: string): string[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [`${where}: expected an object`];
  const o = doc as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof o.target !== 'string' || o.target.trim() === '') problems.push(`${where}.target: a user id, phone number or meeting id is required`);
  if (o.response !== undefined && !FAR_SIDE_RESPONSES.includes(o.response as FarSideResponse)) {
    problems.push(`${where}.response: expected one of ${FAR_SIDE_RESPONSES.join(', ')}`);
  }
  for (const k of ['afterMs', 'hangUpAfterMs'] as const) {
    const v = o[k];
    if (v !== undefined && v !== null && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 24 * 3_600_000)) {
      problems.push(`${where}.${k}: expected a whole number of milliseconds from 0 to 86400000, or null`);
    }
  }
  if (o.lobby !== undefined && typeof o.lobby !== 'boolean') problems.push(`${where}.lobby: expected true or false`);
  if (o.lobby === true && o.response !== undefined && o.response !== 'answer') problems.push(`${where}.lobby: only a meeting that answers has a lobby`);
  return problems;
}

export function toBehaviour(o: Record<string, unknown>): FarSideBehaviour {
  return {
    target: normaliseTarget(o.target as string),
    response: (o.response as FarSideResponse | undefined) ?? 'answer',
    afterMs: (o.afterMs as number | null | undefined) ?? null,
    hangUpAfterMs: (o.hangUpAfterMs as number | null | undefined) ?? null,
    lobby: o.lobby === true,
  };
}

const normaliseTarget = (t: string) => t.trim().toLowerCase();

/** The keys a call target can be known by, most specific first. */
function identityKeys(identity: IdentitySet | null | undefined): string[] {
  if (!identity) return [];
  return ['user', 'phone', 'applicationInstance', 'application', 'guest']
    .map((k) => identity[k]?.id)
    .filter((id): id is string => typeof id === 'string' && id !== '')
    .map(normaliseTarget);
}

/**
 * The configured behaviours: from `--far-side FILE` at start (the file wins), changed through the control
 * plane, shared by every instance on the database (like policies).
 */
export class FarSideBehaviours {
  private constructor(private readonly items: SharedCollection<FarSideBehaviour>) {}

  static async open(config: ConfigStore, wakeups: Wakeups, fromFile: FarSideBehaviour[]): Promise<FarSideBehaviours> {
    const shared = await SharedCollection.open<FarSideBehaviour>(config, wakeups, 'farside:');
    for (const b of fromFile) if (JSON.stringify(shared.get(b.target)) !== JSON.stringify(b)) await shared.put(b.target, b);
    return new FarSideBehaviours(shared);
  }

  list(): FarSideBehaviour[] {
    return this.items.values();
  }

  get(target: string): FarSideBehaviour | undefined {
    return this.items.get(normaliseTarget(target));
  }

  put(b: FarSideBehaviour): Promise<void> {
    return this.items.put(b.target, b);
  }

  remove(target: string): Promise<boolean> {
    return this.items.remove(normaliseTarget(target));
  }

  /** The behaviour of whoever `identity` names (a target, a transfer target, an invitee). */
  forIdentity(identity: IdentitySet | null | undefined): FarSideBehaviour | undefined {
    for (const k of identityKeys(identity)) {
      const b = this.items.get(k);
      if (b) return b;
    }
    return undefined;
  }

  /** What the far side of an outgoing call does: its meeting's behaviour, or its first target's. */
  forCall(call: Call): FarSideBehaviour | undefined {
    if (call.meetingInfo) {
      const organizer = call.meetingInfo.props.organizer as IdentitySet | undefined;
      const keys = [...identityKeys(organizer), call.chatInfo?.threadId, call.meetingInfo.props.joinMeetingId]
        .filter((k): k is string => typeof k === 'string' && k !== '').map(normaliseTarget);
      for (const k of keys) {
        const b = this.items.get(k);
        if (b) return b;
      }
      return undefined;
    }
    return this.forIdentity(call.targets[0]?.identity);
  }

  /** The exposed decision for anyone rung: outgoing-call targets, transfer targets, invitees. */
  answerFor(target: InvitationParticipantInfo | Call, d: AnswerDefaults): FarSideAnswer {
    const b = 'callbackUri' in target ? this.forCall(target) : this.forIdentity(target.identity);
    return decideAnswer(b, d);
  }
}
