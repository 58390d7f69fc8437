/**
 * One commsNotification as one line a person reads: time, call id, changeType, resource, and what the
 * resource says (a call's state and resultInfo, an operation's status, a roster's size).
 */
export interface CommsNotification {
  changeType?: string;
  resourceUrl?: string;
  resource?: string;
  resourceData?: any;
}

const CALL_ID = /\/communications\/calls\/([^/]+)/;

export function callIdOf(n: CommsNotification): string {
  return CALL_ID.exec(n.resourceUrl ?? '')?.[1] ?? (typeof n.resourceData?.callId === 'string' ? n.resourceData.callId : '-');
}

function resultInfo(r: any): string {
  if (!r || typeof r !== 'object') return '';
  return `  resultInfo=${r.code ?? '?'}/${r.subcode ?? '?'}${r.message ? ` "${r.message}"` : ''}`;
}

function details(data: any): string {
  if (Array.isArray(data)) return `  participants=${data.length}`;
  if (!data || typeof data !== 'object') return '';
  let out = '';
  if (typeof data.state === 'string') out += `  state=${data.state}`;
  if (typeof data.status === 'string') out += `  status=${data.status}`;
  if (typeof data.recordingStatus === 'string') out += `  recordingStatus=${data.recordingStatus}`;
  out += resultInfo(data.resultInfo);
  if (data.incomingContext?.observedParticipantId) out += '  (compliance-recording invite)';
  return out;
}

export function notificationLine(n: CommsNotification, at: Date): string {
  return `${at.toISOString().slice(11, 23)}  ${callIdOf(n)}  ${n.changeType ?? '?'}  ${n.resourceUrl ?? n.resource ?? '?'}${details(n.resourceData)}\n`;
}

/** One item of a changeNotificationCollection (recordings, transcripts, lifecycle events). */
export interface ChangeNotification {
  subscriptionId: string;
  changeType?: string;
  resource?: string;
  lifecycleEvent?: string;
  clientState?: string | null;
  encryptedContent?: unknown;
}

/** One change notification as one line: time, subscription, changeType (or lifecycle event), resource. */
export function changeLine(n: ChangeNotification, at: Date): string {
  const what = n.lifecycleEvent ? `lifecycle ${n.lifecycleEvent}` : `${n.changeType ?? '?'}  ${n.resource ?? '?'}`;
  return `${at.toISOString().slice(11, 23)}  subscription ${n.subscriptionId}  ${what}${n.encryptedContent ? '  (with encrypted resource data)' : ''}\n`;
}
