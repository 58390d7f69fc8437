import type { Call, IdentitySet, Participant } from './call.js';
import type { Ids } from '../shared/ids.js';

export interface FarSideOptions {
  ids: Ids;
  /** How long the callee takes to answer, or the meeting to admit the bot. */
  answerDelayMs: number;
}

/**
 * The simulated other side of Teams for outgoing calls: who answers and who is in the meeting.
 * Pure: it decides, the call service commits.
 */
export class FarSide {
  constructor(private readonly o: FarSideOptions) {}

  answerDelayMs(_call: Call): number {
    return this.o.answerDelayMs;
  }

  /**
   * The roster once the call is established: the bot first, then each invited target (peer-to-peer), or
   * the meeting's organizer (meeting join; a generated user when the meetingInfo names none).
   */
  initialRoster(call: Call, botIdentity: IdentitySet, now: number): Participant[] {
    let seq = 0;
    const make = (id: string, identity: IdentitySet, isBot: boolean): Participant => ({
      id, callId: call.id, seq: seq++, info: { identity, endpointType: isBot ? null : 'default', region: null, languageId: isBot ? null : 'en-US' },
      isMuted: false, isInLobby: false, isBot,
      recordingInfo: isBot ? { recordingStatus: 'notRecording', initiator: null } : null,
      joinedAt: now, leftAt: null,
    });
    const roster = [make(call.myParticipantId, botIdentity, true)];
    if (call.meetingInfo) {
      const organizer = call.meetingInfo.props.organizer as IdentitySet | undefined;
      roster.push(make(this.o.ids.next(), organizer && Object.keys(organizer).length
        ? organizer
        : { user: { id: this.o.ids.next(), displayName: 'Meeting Organizer', tenantId: call.tenantId } }, false));
    } else {
      for (const t of call.targets) roster.push(make(t.participantId ?? this.o.ids.next(), t.identity, false));
    }
    return roster;
  }
}
