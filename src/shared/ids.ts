import { randomFillSync, randomUUID } from 'node:crypto';

/** Id generation behind a port (tests pin it). Graph ids here are lowercase GUIDs. */
export interface Ids {
  /** A random GUID: calls, participants and the other ids people read, compare and type. */
  next(): string;
  /** A time-ordered GUID (timeOrderedGuid): the rows made on every request, operations and recordings. */
  ordered(): string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Random bytes drawn 4 KiB at a time: one getrandom call per 409 ids. */
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

/**
 * Time-ordered GUIDs (RFC 9562 version 7: 48 bits of Unix milliseconds, then 74 random bits). Graph's ids
 * are opaque GUIDs and so are these, in the same lowercase 8-4-4-4-12 form; what differs is that ids made
 * close in time sort close together. The indexes keyed by such an id (operations, recordings, their
 * content) then take a commit's new ids on their last pages instead of one random page per id: issue 11
 * measured about one 4 KiB WAL page per random-keyed index per request. Calls and participants keep
 * random ids: made once per call, they cost nothing per request, and people tell them apart by their
 * first characters, which ids of one minute share here. docs/fidelity.md lists it.
 */
export function timeOrderedGuid(now = Date.now()): string {
  if (poolAt + 10 > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const r = POOL;
  const i = poolAt;
  poolAt += 10;
  const ms = Math.max(0, Math.floor(now));
  const hi = Math.floor(ms / 2 ** 16) % 2 ** 32;
  const lo = ms % 2 ** 16;
  return `${hi.toString(16).padStart(8, '0')}-${lo.toString(16).padStart(4, '0')}-7${HEX[r[i]! & 0x0f]!.slice(1)}${HEX[r[i + 1]!]}-` +
    `${HEX[(r[i + 2]! & 0x3f) | 0x80]}${HEX[r[i + 3]!]}-${HEX[r[i + 4]!]}${HEX[r[i + 5]!]}${HEX[r[i + 6]!]}${HEX[r[i + 7]!]}${HEX[r[i + 8]!]}${HEX[r[i + 9]!]}`;
}

export const randomIds: Ids = { next: () => randomUUID(), ordered: () => timeOrderedGuid() };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isGuid = (s: string): boolean => GUID.test(s);

/** Graph treats GUID ids case-insensitively; we store them lowercase. */
export const normaliseId = (s: string): string => s.toLowerCase();
