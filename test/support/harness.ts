import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compose, type Composition } from '../../src/compose.js';
import { DEFAULTS, type Config } from '../../src/config.js';
import { DEV_APP } from '../../src/auth/apps.js';
// Before any app is built: the apps this process builds share one validator compiler (see the file).
import './shared-validators.js';
import { poolSigningKey } from './signing-key-pool.js';

export { DEV_APP };

export const TENANT = DEV_APP.tenantId;
export const CLIENT_ID = DEV_APP.clientId;

export { poolSigningKey };

/** A fast config for tests: in memory, far side answers quickly, logs off. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...DEFAULTS, inMemory: true, answerDelayMs: 20, operationDelayMs: 20, logLevel: 'silent' as const, ...overrides });
}

export interface Harness {
  comp: Composition;
  /** Bearer token of the well-known development app. */
  token: string;
  /** Authorization header value. */
  auth: string;
  close(): Promise<void>;
}

/** The app composed but not listening: for `inject()` tests. */
export async function buildHarness(overrides: Partial<Config> = {}): Promise<Harness> {
  const comp = await compose(testConfig(overrides), { newSigningKey: poolSigningKey });
  comp.start();
  const { accessToken } = await comp.tokens.issue(DEV_APP);
  return { comp, token: accessToken, auth: `Bearer ${accessToken}`, close: () => comp.close() };
}

export interface ServerHarness extends Harness {
  /** http://127.0.0.1:PORT */
  url: string;
}

/** The app listening on a free loopback port: for official-client tests. */
export async function startServer(overrides: Partial<Config> = {}): Promise<ServerHarness> {
  const h = await buildHarness(overrides);
  const address = await h.comp.app.listen({ port: 0, host: '127.0.0.1' });
  return { ...h, url: address.replace('localhost', '127.0.0.1') };
}

/** A data directory that is removed by the returned cleanup. */
export function tempDataDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'graph-calls-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A minimal valid peer-to-peer create-call body. */
export function p2pCallBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.call',
    callbackUri: 'http://127.0.0.1:9/callback',
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    targets: [{
      '@odata.type': '#microsoft.graph.invitationParticipantInfo',
      identity: { '@odata.type': '#microsoft.graph.identitySet', user: { '@odata.type': '#microsoft.graph.identity', id: '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d', displayName: 'Alice' } },
    }],
    ...extra,
  };
}

/** A minimal valid meeting-join body (organizerMeetingInfo + chatInfo). */
export function meetingCallBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.call',
    callbackUri: 'http://127.0.0.1:9/callback',
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    chatInfo: { '@odata.type': '#microsoft.graph.chatInfo', threadId: '19:meeting_abc@thread.v2', messageId: '0' },
    meetingInfo: {
      '@odata.type': '#microsoft.graph.organizerMeetingInfo',
      organizer: { '@odata.type': '#microsoft.graph.identitySet', user: { '@odata.type': '#microsoft.graph.identity', id: '5810cede-f3cc-42eb-b2c1-e9bd5d53ec96', displayName: 'Bob Organizer', tenantId: TENANT } },
    },
    ...extra,
  };
}
