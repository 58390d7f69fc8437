import { createCipheriv, createHmac, constants, publicEncrypt, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Rich notifications' `encryptedContent` (spec graph-recordings-pipeline §3.1, changeNotificationEncryptedContent
 * and "change notifications with resource data"): a fresh AES-256 key per item; `data` = AES-256-CBC with
 * PKCS7 padding and IV = the key's first 16 bytes; `dataSignature` = HMAC-SHA256 of the ciphertext bytes
 * under the same key; `dataKey` = the key wrapped with RSA-OAEP (SHA-1, MGF1-SHA1) under the subscriber's
 * certificate; all base64. The thumbprint is the certificate's SHA-1, upper-case hex (spec §9.8).
 */

export interface EncryptionCertificate {
  publicKey: KeyObject;
  thumbprint: string;
}

export interface EncryptedContent {
  data: string;
  dataKey: string;
  dataSignature: string;
  encryptionCertificateId: string;
  encryptionCertificateThumbprint: string;
}

/**
 * Reads the base64 X.509 certificate a subscription carries (DER in base64, as Graph's samples send it;
 * PEM is accepted too). Graph wants RSA keys of 2048 to 4096 bits (spec §1.2); anything else is a problem.
 */
export function parseCertificate(value: string): EncryptionCertificate | { problem: string } {
  let cert: X509Certificate;
  try {
    const text = value.trim();
    cert = new X509Certificate(text.startsWith('-----BEGIN') ? text : Buffer.from(text.replace(/\s+/g, ''), 'base64'));
  } catch {
    return { problem: 'encryptionCertificate is not a base64-encoded X.509 certificate' };
  }
  const key = cert.publicKey;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa') return { problem: `encryptionCertificate holds a ${key.asymmetricKeyType ?? 'non-RSA'} key; an RSA key is required` };
  if (bits < 2048 || bits > 4096) return { problem: `encryptionCertificate holds a ${bits}-bit RSA key; 2048 to 4096 bits are required` };
  return { publicKey: key, thumbprint: cert.fingerprint.replace(/:/g, '').toUpperCase() };
}

/** Encrypts one resource for one subscriber. */
export function encryptResource(resource: unknown, cert: EncryptionCertificate, certificateId: string): EncryptedContent {
  const key = randomBytes(32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(resource), 'utf8'), cipher.final()]);
  return {
    data: ciphertext.toString('base64'),
    dataKey: publicEncrypt({ key: cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, key).toString('base64'),
    dataSignature: createHmac('sha256', key).update(ciphertext).digest('base64'),
    encryptionCertificateId: certificateId,
    encryptionCertificateThumbprint: cert.thumbprint,
  };
}
