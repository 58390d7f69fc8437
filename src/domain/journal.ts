/** One Graph or token request and its answer, as the request journal keeps it (control/request-journal.ts). */
export interface JournalEntry {
  seq: number;
  at: number;
  method: string;
  url: string;
  status: number;
  durationMs: number;
  requestId: string | null;
  callId: string | null;
  /** Fault rule that answered or delayed it, if any. */
  injectedFault: string | null;
  requestHeaders: Record<string, string>;
  requestBody: string | null;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
}
