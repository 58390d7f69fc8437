import { readFileSync } from 'node:fs';
import type { NewSigningKey } from '../../src/auth/keys.js';

/**
 * Signing keys for what the tests start, from a fixed pool of test-only keys (test/fixtures/signing-keys.json)
 * instead of two fresh 2048-bit RSA keys an app (~0.4 s of CPU each time, a third of what the suite spent
 * building apps). Handed out in turn from a random start, so the apps of one process get different keys and
 * instances racing on one database offer different ones; a key stored in a data directory is reused on
 * restart as always. Used by the in-process apps (harness.ts) and by the servers started from the compiled
 * tree (node-script.ts serverArgs); those run from the .ts sources (`npm start`, the bin, `viaTsx`)
 * generate their own, as in production. Kept apart from the harness so a server process loads only this.
 */
const KEY_POOL = (JSON.parse(readFileSync(new URL('../fixtures/signing-keys.json', import.meta.url), 'utf8')) as { keys: object[] }).keys;
let nextKey = Math.floor(Math.random() * KEY_POOL.length);
export const poolSigningKey: NewSigningKey = async () => ({ ...KEY_POOL[nextKey++ % KEY_POOL.length]! });
