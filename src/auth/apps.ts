import { readFileSync } from 'node:fs';
import { STRICT_CALLBACKS, type CallbackPolicy } from '../domain/callback-uri.js';
import type { ConfigStore, Wakeups } from '../domain/ports.js';
import { isGuid } from '../shared/ids.js';
import { SharedCollection } from '../shared/shared-collection.js';

/** Every Calls.* application role plus the recording-read roles (design.md §3). */
export const ALL_CALL_ROLES: readonly string[] = Object.freeze([
  'Calls.AccessMedia.All',
  'Calls.Initiate.All',
  'Calls.InitiateGroupCall.All',
  'Calls.JoinGroupCall.All',
  'Calls.JoinGroupCallAsGuest.All',
  'OnlineMeetingRecording.Read.All',
  'CallRecordings.Read.All',
  // The pipeline's meeting and transcript roles (issue 10 item 4).
  'OnlineMeetings.ReadWrite.All',
  'OnlineMeetingTranscript.Read.All',
  'CallTranscripts.Read.All',
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

/**
 * Registered apps, looked up by client id: the development app, `--apps FILE`, and apps added or
 * changed through the control plane. They live in the config store, shared by every instance on the
 * database (the file's entries win at start); lookups read the in-memory copy.
 */
export class AppRegistry {
  private constructor(private readonly apps: SharedCollection<AppRegistration>) {}

  static async open(config: ConfigStore, wakeups: Wakeups, apps: readonly AppRegistration[]): Promise<AppRegistry> {
    const shared = await SharedCollection.open<AppRegistration>(config, wakeups, 'app:', 'apps');
    for (const a of apps) {
      const app = { ...a, clientId: a.clientId.toLowerCase(), tenantId: a.tenantId.toLowerCase() };
      if (JSON.stringify(shared.get(app.clientId)) !== JSON.stringify(app)) await shared.put(app.clientId, app);
    }
    return new AppRegistry(shared);
  }

  get(clientId: string): AppRegistration | undefined {
    return this.apps.get(clientId.toLowerCase());
  }

  /**
   * Reads every app from the database again. Another instance's change reaches this one's copy
   * asynchronously (a wake-up), so a lookup that misses refreshes before it refuses: an app registered
   * through one instance is known to the next request on any other.
   */
  refresh(): Promise<void> {
    return this.apps.reloadAfterMiss();
  }

  /** Adds or replaces an app. */
  async put(app: AppRegistration): Promise<AppRegistration> {
    const saved = Object.freeze({ ...app, clientId: app.clientId.toLowerCase(), tenantId: app.tenantId.toLowerCase() });
    await this.apps.put(saved.clientId, saved);
    return saved;
  }

  remove(clientId: string): Promise<boolean> {
    return this.apps.remove(clientId.toLowerCase());
  }

  /** Registers (or clears) an app's calling webhook, where incoming calls and policy invites go. */
  async setCallbackUri(clientId: string, callbackUri: string | null): Promise<AppRegistration | undefined> {
    const app = this.get(clientId);
    return app ? this.put({ ...app, callbackUri }) : undefined;
  }

  hasTenant(tenantId: string): boolean {
    const t = tenantId.toLowerCase();
    return this.apps.values().some((a) => a.tenantId === t);
  }

  list(): AppRegistration[] {
    return this.apps.values();
  }
}

/**
 * Problems with one app document (file entry or control-plane body), all at once. Its callbackUri passes
 * the rule every callbackUri passes (`callbacks`: with --allow-callback-hosts).
 */
export function appProblems(entry: unknown, at: string, callbacks: CallbackPolicy = STRICT_CALLBACKS): string[] {
  if (typeof entry !== 'object' || entry === null) return [`${at}: expected an object`];
  const e = entry as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of ['tenantId', 'clientId'] as const) {
    if (typeof e[k] !== 'string' || !isGuid(e[k] as string)) problems.push(`${at}.${k}: expected a GUID`);
  }
  if (typeof e.clientSecret !== 'string' || e.clientSecret.length === 0) problems.push(`${at}.clientSecret: expected a non-empty string`);
  if (!Array.isArray(e.roles) || !e.roles.every((r) => typeof r === 'string')) problems.push(`${at}.roles: expected an array of strings`);
  if (e.callbackUri !== undefined && e.callbackUri !== null) {
    const problem = typeof e.callbackUri === 'string' ? callbacks.uriProblem(e.callbackUri) : 'expected a string';
    if (problem) problems.push(`${at}.callbackUri: ${problem}`);
  }
  if (e.displayName !== undefined && typeof e.displayName !== 'string') problems.push(`${at}.displayName: expected a string`);
  return problems;
}

/** A validated app document as a registration. */
export function toApp(e: Record<string, unknown>): AppRegistration {
  return {
    tenantId: (e.tenantId as string).toLowerCase(),
    clientId: (e.clientId as string).toLowerCase(),
    clientSecret: e.clientSecret as string,
    roles: Object.freeze([...(e.roles as string[])]),
    displayName: typeof e.displayName === 'string' ? e.displayName : `app ${(e.clientId as string).toLowerCase()}`,
    callbackUri: (e.callbackUri as string | undefined) ?? null,
  };
}

/** Parses and validates an `--apps FILE` document; reports every problem at once. */
export function parseAppsFile(text: string, source: string, callbacks: CallbackPolicy = STRICT_CALLBACKS): AppRegistration[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new Error(`${source}: expected a JSON array of apps`);
  const problems = doc.flatMap((entry: unknown, i) => appProblems(entry, `${source}[${i}]`, callbacks));
  if (problems.length) throw new Error(problems.join('\n'));
  return doc.map((e) => toApp(e as Record<string, unknown>));
}

export function loadAppsFile(path: string, callbacks: CallbackPolicy = STRICT_CALLBACKS): AppRegistration[] {
  return parseAppsFile(readFileSync(path, 'utf8'), path, callbacks);
}
