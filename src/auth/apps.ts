import { readFileSync } from 'node:fs';
import { isGuid } from '../shared/ids.js';

/** Every Calls.* application role plus the recording-read roles (design.md §3). */
export const ALL_CALL_ROLES: readonly string[] = Object.freeze([
  'Calls.AccessMedia.All',
  'Calls.Initiate.All',
  'Calls.InitiateGroupCall.All',
  'Calls.JoinGroupCall.All',
  'Calls.JoinGroupCallAsGuest.All',
  'OnlineMeetingRecording.Read.All',
  'CallRecordings.Read.All',
]);

export interface AppRegistration {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  roles: readonly string[];
  displayName: string;
  /** The app's registered calling webhook (incoming calls go there). */
  callbackUri: string | null;
}

/** The well-known development app: works out of the box (design.md §3, fixed interface). */
export const DEV_APP: AppRegistration = Object.freeze({
  tenantId: '00000000-0000-4000-8000-000000000001',
  clientId: '00000000-0000-4000-8000-0000000000b0',
  clientSecret: 'graph-calls-dev-secret',
  roles: ALL_CALL_ROLES,
  displayName: 'graph-calls development bot',
  callbackUri: null,
});

/** Registered apps, looked up by client id. */
export class AppRegistry {
  private readonly byClientId = new Map<string, AppRegistration>();

  constructor(apps: readonly AppRegistration[]) {
    for (const a of apps) this.byClientId.set(a.clientId.toLowerCase(), a);
  }

  get(clientId: string): AppRegistration | undefined {
    return this.byClientId.get(clientId.toLowerCase());
  }

  /** Registers (or clears) an app's calling webhook, where incoming calls and policy invites go. */
  setCallbackUri(clientId: string, callbackUri: string | null): AppRegistration | undefined {
    const app = this.get(clientId);
    if (!app) return undefined;
    const next = Object.freeze({ ...app, callbackUri });
    this.byClientId.set(app.clientId, next);
    return next;
  }

  hasTenant(tenantId: string): boolean {
    const t = tenantId.toLowerCase();
    for (const a of this.byClientId.values()) if (a.tenantId === t) return true;
    return false;
  }

  list(): AppRegistration[] {
    return [...this.byClientId.values()];
  }
}

/** Parses and validates an `--apps FILE` document; reports every problem at once. */
export function parseAppsFile(text: string, source: string): AppRegistration[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new Error(`${source}: expected a JSON array of apps`);
  const problems: string[] = [];
  const apps: AppRegistration[] = [];
  doc.forEach((entry: unknown, i) => {
    const at = `${source}[${i}]`;
    if (typeof entry !== 'object' || entry === null) { problems.push(`${at}: expected an object`); return; }
    const e = entry as Record<string, unknown>;
    for (const k of ['tenantId', 'clientId'] as const) {
      if (typeof e[k] !== 'string' || !isGuid(e[k] as string)) problems.push(`${at}.${k}: expected a GUID`);
    }
    if (typeof e.clientSecret !== 'string' || e.clientSecret.length === 0) problems.push(`${at}.clientSecret: expected a non-empty string`);
    if (!Array.isArray(e.roles) || !e.roles.every((r) => typeof r === 'string')) problems.push(`${at}.roles: expected an array of strings`);
    if (e.callbackUri !== undefined && e.callbackUri !== null && typeof e.callbackUri !== 'string') problems.push(`${at}.callbackUri: expected a string`);
    if (problems.length) return;
    apps.push({
      tenantId: (e.tenantId as string).toLowerCase(),
      clientId: (e.clientId as string).toLowerCase(),
      clientSecret: e.clientSecret as string,
      roles: Object.freeze([...(e.roles as string[])]),
      displayName: typeof e.displayName === 'string' ? e.displayName : `app ${(e.clientId as string).toLowerCase()}`,
      callbackUri: (e.callbackUri as string | undefined) ?? null,
    });
  });
  if (problems.length) throw new Error(problems.join('\n'));
  return apps;
}

export function loadAppsFile(path: string): AppRegistration[] {
  return parseAppsFile(readFileSync(path, 'utf8'), path);
}
