import type { IdentitySet, Principal } from '../domain/call.js';
import { assert } from '../domain/errors.js';
import type { OnlineMeeting } from '../domain/meeting.js';
import { onlineMeetingId } from '../domain/online-meeting.js';
import type { CallStore } from '../domain/ports.js';
import type { Clock } from '../shared/clock.js';
import { stripOData } from '../graph/call.mapper.js';
import { joinUrlKey, joinWebUrl, newJoinMeetingId, newPasscode, newThreadId } from './join-url.js';
import type { OnlineMeetingBody } from './meeting.schemas.js';

export interface MeetingServiceOptions {
  store: CallStore;
  clock: Clock;
}

/** Graph's default when no times are given (onlinemeeting-createorget docs): now, and one hour later. */
const DEFAULT_LENGTH_MS = 60 * 60_000;

function dateMember(v: string | null | undefined, member: string): number | null {
  if (v === undefined || v === null) return null;
  const t = Date.parse(v);
  assert(!Number.isNaN(t), 'INVALID_REQUEST', `Invalid value '${v}' for property '${member}': expected an ISO-8601 date-time.`);
  return t;
}

/**
 * onlineMeeting create, createOrGet and reads (application-post-onlinemeetings, onlinemeeting-createorget,
 * onlinemeeting-get docs). A meeting belongs to its tenant and organizer; any app of the tenant holding the
 * role reads it (application access policies are not modelled: docs/fidelity.md).
 */
export class MeetingService {
  constructor(private readonly o: MeetingServiceOptions) {}

  async create(p: Principal, organizerId: string, body: OnlineMeetingBody): Promise<OnlineMeeting> {
    const m = this.newMeeting(p, organizerId, body, body.externalId ?? null);
    return this.o.store.write(async (tx) => {
      // With an externalId the (organizer, externalId) pair is the meeting's key: a second POST with it is refused.
      assert(await tx.insertOnlineMeeting(m), 'INVALID_REQUEST', `A meeting with externalId '${m.externalId}' already exists for this organizer; use createOrGet.`);
      return m;
    });
  }

  /** 201 + the new meeting, or 200 + the one this organizer already has with the externalId. */
  async createOrGet(p: Principal, organizerId: string, body: OnlineMeetingBody & { externalId: string }): Promise<{ meeting: OnlineMeeting; created: boolean }> {
    const existing = await this.o.store.onlineMeetingByExternalId(p.tenantId, organizerId, body.externalId);
    if (existing) return { meeting: existing, created: false };
    const m = this.newMeeting(p, organizerId, body, body.externalId);
    return this.o.store.write(async (tx) => {
      if (await tx.insertOnlineMeeting(m)) return { meeting: m, created: true };
      // Another request created it meanwhile: this one gets that meeting.
      return { meeting: (await tx.onlineMeetingByExternalId(p.tenantId, organizerId, body.externalId))!, created: false };
    });
  }

  /** GET /users/{userId}/onlineMeetings/{id}: the organizer's or an invited attendee's id (onlinemeeting-get docs). */
  async get(p: Principal, userId: string, id: string): Promise<OnlineMeeting> {
    const m = await this.o.store.getOnlineMeeting(id);
    assert(m && visibleTo(m, p, userId), 'MEETING_NOT_FOUND', `The online meeting '${id}' was not found.`);
    return m;
  }

  async findByJoinUrl(p: Principal, userId: string, url: string): Promise<OnlineMeeting[]> {
    return (await this.o.store.onlineMeetingsByJoinKey(p.tenantId, joinUrlKey(url))).filter((m) => visibleTo(m, p, userId));
  }

  async findByJoinMeetingId(p: Principal, userId: string, joinMeetingId: string): Promise<OnlineMeeting[]> {
    return (await this.o.store.onlineMeetingsByJoinMeetingId(p.tenantId, joinMeetingId)).filter((m) => visibleTo(m, p, userId));
  }

  private newMeeting(p: Principal, organizerIdRaw: string, body: OnlineMeetingBody, externalId: string | null): OnlineMeeting {
    const organizerId = organizerIdRaw.toLowerCase();
    const now = this.o.clock.now();
    const start = dateMember(body.startDateTime, 'startDateTime');
    const end = dateMember(body.endDateTime, 'endDateTime');
    // createOrGet docs: an end without a start, or an end before the start, is an error.
    assert(!(end !== null && start === null), 'INVALID_REQUEST', `Invalid request: 'endDateTime' was given without 'startDateTime'.`);
    const startAt = start ?? now;
    const endAt = end ?? startAt + DEFAULT_LENGTH_MS;
    assert(endAt >= startAt, 'INVALID_REQUEST', `Invalid request: 'endDateTime' must not be before 'startDateTime'.`);
    const threadId = newThreadId();
    const given = body.participants?.organizer?.identity ? stripOData(body.participants.organizer.identity) as IdentitySet : null;
    // The organizer is always the user in the path; a display name the creator sent is kept (Teams would
    // know it from the directory), so transcripts can name the organizer.
    const organizer: IdentitySet = { user: { id: organizerId, displayName: given?.user?.displayName ?? null, tenantId: p.tenantId, identityProvider: 'AAD' } };
    const passcodeRequired = body.joinMeetingIdSettings?.isPasscodeRequired === true;
    return {
      id: onlineMeetingId(organizerId, threadId), tenantId: p.tenantId, organizerId, appId: p.appId, externalId,
      subject: body.subject ?? null, startAt, endAt, createdAt: now, threadId,
      joinWebUrl: joinWebUrl(threadId, p.tenantId, organizerId), joinMeetingId: newJoinMeetingId(),
      passcode: passcodeRequired ? newPasscode() : null, isPasscodeRequired: passcodeRequired,
      organizer,
      attendees: (body.participants?.attendees ?? []).map((a) => ({
        identity: stripOData(a.identity ?? {}) as IdentitySet, role: a.role ?? 'attendee', upn: a.upn ?? null,
      })),
      allowRecording: body.allowRecording ?? true, allowTranscription: body.allowTranscription ?? true,
      recordAutomatically: body.recordAutomatically ?? false,
      autoTranscription: body.recordAutomatically ?? false,
    };
  }
}

/** The organizer's or an invited attendee's user id, in the caller's tenant. */
export function visibleTo(m: OnlineMeeting, p: Principal, userId: string): boolean {
  if (m.tenantId !== p.tenantId) return false;
  const u = userId.toLowerCase();
  return m.organizerId === u || m.attendees.some((a) => String(a.identity.user?.id ?? '').toLowerCase() === u);
}
