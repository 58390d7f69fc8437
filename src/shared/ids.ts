import { randomUUID } from 'node:crypto';

/** Id generation behind a port (tests pin it). Graph ids here are lowercase GUIDs. */
export interface Ids {
  next(): string;
}

export const randomIds: Ids = { next: () => randomUUID() };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isGuid = (s: string): boolean => GUID.test(s);

/** Graph treats GUID ids case-insensitively; we store them lowercase. */
export const normaliseId = (s: string): string => s.toLowerCase();
