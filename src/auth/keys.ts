import * as jose from 'jose';
import type { ConfigStore } from '../domain/ports.js';


export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK as published in a JWKS (kty, n, e, kid, use, alg). */
  publicJwk: jose.JWK;
}

/** Makes a new RS256 private key as a JWK: generated (the default), or handed out by a test's pool. */
export type NewSigningKey = () => Promise<jose.JWK>;

/** A fresh 2048-bit RSA key (~0.1–0.4 s of CPU). */
export async function newRsaKey(): Promise<jose.JWK> {
  const { privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  return jose.exportJWK(privateKey);
}

/**
 * Loads the named RS256 key, creating it once. Keys live in the config store, so tokens issued before a
 * restart still verify after it, and a token from one instance verifies on every instance of the
 * database: instances starting together race to store a key and all adopt the one that was stored.
 */
export async function loadOrCreateKey(store: ConfigStore, name: string, newKey: NewSigningKey = newRsaKey): Promise<SigningKey> {
  const stored = await store.getValue(`key:${name}`);
  let privateJwk: jose.JWK;
  if (stored) {
    privateJwk = JSON.parse(stored) as jose.JWK;
  } else {
    const fresh = { ...(await newKey()) };
    fresh.kid = await jose.calculateJwkThumbprint(fresh);
    privateJwk = JSON.parse(await store.setValueIfAbsent(`key:${name}`, JSON.stringify(fresh))) as jose.JWK;
  }
  const kid = privateJwk.kid!;
  const privateKey = (await jose.importJWK({ ...privateJwk, alg: 'RS256' }, 'RS256')) as CryptoKey;
  const { kty, n, e } = privateJwk;
  const publicJwk: jose.JWK = { kty, use: 'sig', kid, n, e, alg: 'RS256' };
  const publicKey = (await jose.importJWK(publicJwk, 'RS256')) as CryptoKey;
  return { kid, privateKey, publicKey, publicJwk };
}
