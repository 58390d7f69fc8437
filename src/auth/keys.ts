import * as jose from 'jose';

/** Where signing keys persist (the storage adapter's meta table, inside the data directory). */
export interface KeyValueStore {
  getValue(key: string): string | undefined;
  setValue(key: string, value: string): void;
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK as published in a JWKS (kty, n, e, kid, use, alg). */
  publicJwk: jose.JWK;
}

/**
 * Loads the named RS256 key, creating it once. Keys live in the data directory so tokens issued before
 * a restart still verify after it.
 */
export async function loadOrCreateKey(store: KeyValueStore, name: string): Promise<SigningKey> {
  const stored = store.getValue(`key:${name}`);
  let privateJwk: jose.JWK;
  if (stored) {
    privateJwk = JSON.parse(stored) as jose.JWK;
  } else {
    const { privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    privateJwk = await jose.exportJWK(privateKey);
    privateJwk.kid = await jose.calculateJwkThumbprint(privateJwk);
    store.setValue(`key:${name}`, JSON.stringify(privateJwk));
  }
  const kid = privateJwk.kid!;
  const privateKey = (await jose.importJWK({ ...privateJwk, alg: 'RS256' }, 'RS256')) as CryptoKey;
  const { kty, n, e } = privateJwk;
  const publicJwk: jose.JWK = { kty, use: 'sig', kid, n, e, alg: 'RS256' };
  const publicKey = (await jose.importJWK(publicJwk, 'RS256')) as CryptoKey;
  return { kid, privateKey, publicKey, publicJwk };
}
