import { createDecipheriv, createHmac, constants, generateKeyPairSync, privateDecrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import * as jose from 'jose';

/**
 * A recording pipeline's change-notification endpoint, doing what production code does (Microsoft's
 * webhook samples): answers the validation handshake by echoing the URL-decoded `validationToken` as
 * text/plain 200, answers notifications 202, checks `clientState`, verifies `validationTokens` with jose
 * against the issuer's discovery document (audience = its app id, `azp` = the Change Tracking app), checks
 * each item's `dataSignature` and decrypts `encryptedContent` with its private key.
 */

export const CHANGE_TRACKING_APP_ID = '0bf30f3b-4a52-48df-9a82-234910c4a086';

export interface Certificate {
  /** base64 DER, as a subscription's encryptionCertificate carries it. */
  base64: string;
  privateKey: KeyObject;
  /** SHA-1, upper-case hex. */
  thumbprint: string;
}

/** An RSA key and a self-signed certificate for it, as a pipeline makes one for rich notifications. */
export function selfSignedCertificate(bits = 2048): Certificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  const name = [{ name: 'commonName', value: 'pipeline test' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const thumbprint = forge.md.sha1.create().update(der.toString('binary')).digest().toHex().toUpperCase();
  return { base64: der.toString('base64'), privateKey, thumbprint };
}

/** How the endpoint answers a validation request: echo (default), or a way to fail it. */
export type Handshake = 'echo' | 'noEcho' | 'wrongEcho' | 'encodedEcho' | 'status500' | { delayMs: number };

export interface Received {
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: any;
  /** Per item: the decrypted resource (rich notifications), else undefined. */
  decrypted: unknown[];
  /** Verified validationToken claims (rich notifications). */
  tokenClaims: jose.JWTPayload[];
}

export interface Subscriber {
  url: string;
  notificationUrl: string;
  lifecycleUrl: string;
  validations: Array<{ path: string; query: string; token: string; contentType: string | undefined; body: string }>;
  /** Notifications accepted (clientState matched, tokens and signatures verified). */
  received: Received[];
  /** Notifications refused, with the reason (answered 400). */
  refused: Array<{ reason: string; body: any }>;
  handshake: Handshake;
  /** Status for notifications (default 202). */
  status: number;
  waitFor(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SubscriberOptions {
  /** graph-calls' base URL (its discovery document is `{url}/{tenantId}/v2.0/.well-known/openid-configuration`). */
  graphCallsUrl: string;
  tenantId: string;
  appId: string;
  clientState?: string;
  certificate?: Certificate;
}

function decrypt(item: any, cert: Certificate): unknown {
  const ec = item.encryptedContent;
  if (ec.encryptionCertificateThumbprint !== cert.thumbprint) throw new Error('encrypted for another certificate');
  const key = privateDecrypt({ key: cert.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(ec.dataKey, 'base64'));
  const data = Buffer.from(ec.data, 'base64');
  const expected = createHmac('sha256', key).update(data).digest();
  const given = Buffer.from(ec.dataSignature, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('dataSignature does not match: the data was tampered with');
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return JSON.parse(Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8'));
}

export async function startSubscriber(o: SubscriberOptions): Promise<Subscriber> {
  let jwks: ReturnType<typeof jose.createRemoteJWKSet> | null = null;
  let issuer = '';
  const keys = async () => {
    if (!jwks) {
      const doc = await (await fetch(`${o.graphCallsUrl}/${o.tenantId}/v2.0/.well-known/openid-configuration`)).json() as { jwks_uri: string; issuer: string };
      jwks = jose.createRemoteJWKSet(new URL(doc.jwks_uri));
      issuer = doc.issuer;
    }
    return jwks;
  };
  const listeners = new Set<() => void>();
  const s: Subscriber = {
    url: '', notificationUrl: '', lifecycleUrl: '', validations: [], received: [], refused: [], handshake: 'echo', status: 202,
    waitFor(pred, what, timeoutMs = 10_000) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => { listeners.delete(check); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
        const check = () => { if (pred()) { clearTimeout(t); listeners.delete(check); resolve(); } };
        listeners.add(check);
      });
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const token = url.searchParams.get('validationToken');
      if (token !== null) {
        s.validations.push({ path: url.pathname, query: url.search, token, contentType: req.headers['content-type'], body: text });
        listeners.forEach((l) => l());
        const h = s.handshake;
        if (typeof h === 'object') await new Promise((r) => setTimeout(r, h.delayMs));
        if (h === 'status500') { res.writeHead(500).end(); return; }
        if (h === 'noEcho') { res.writeHead(200, { 'content-type': 'text/plain' }).end(); return; }
        const echo = h === 'wrongEcho' ? `${token}x` : h === 'encodedEcho' ? encodeURIComponent(token) : token;
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(echo);
        return;
      }
      let body: any;
      try { body = JSON.parse(text); } catch { body = null; }
      const refuse = (reason: string) => {
        s.refused.push({ reason, body });
        listeners.forEach((l) => l());
        res.writeHead(400).end();
      };
      if (!body || !Array.isArray(body.value)) return refuse('not a changeNotificationCollection');
      for (const item of body.value) if ((item.clientState ?? null) !== (o.clientState ?? null)) return refuse(`clientState ${item.clientState} does not match`);
      const tokenClaims: jose.JWTPayload[] = [];
      const decrypted: unknown[] = [];
      const rich = body.value.some((i: any) => i.encryptedContent);
      if (rich) {
        if (!Array.isArray(body.validationTokens) || body.validationTokens.length === 0) return refuse('rich notification without validationTokens');
        try {
          for (const t of body.validationTokens) {
            const { payload } = await jose.jwtVerify(t, await keys(), { audience: o.appId, algorithms: ['RS256'] });
            if (payload.iss !== issuer) throw new Error(`issuer ${payload.iss} is not ${issuer}`);
            if (payload.azp !== CHANGE_TRACKING_APP_ID) throw new Error(`azp ${String(payload.azp)} is not the Change Tracking app`);
            tokenClaims.push(payload);
          }
        } catch (err) {
          return refuse(`validationToken: ${(err as Error).message}`);
        }
        try {
          for (const item of body.value) decrypted.push(item.encryptedContent ? decrypt(item, o.certificate!) : undefined);
        } catch (err) {
          return refuse(`encryptedContent: ${(err as Error).message}`);
        }
      }
      if (s.status >= 200 && s.status < 300) s.received.push({ path: url.pathname, query: url.search, headers: req.headers, body, decrypted, tokenClaims });
      listeners.forEach((l) => l());
      res.writeHead(s.status).end();
    })());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.notificationUrl = `${s.url}/notifications?tenant=a`;
  s.lifecycleUrl = `${s.url}/lifecycle`;
  return s;
}
