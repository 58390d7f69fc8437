import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface TlsFiles {
  /** The local certificate authority to trust (NODE_EXTRA_CA_CERTS). */
  caCertPath: string;
  cert: string;
  key: string;
}

const DAY = 24 * 3600 * 1000;

function keyPair(): { privatePem: string; publicPem: string } {
  // node:crypto makes RSA keys in milliseconds; node-forge only builds and signs the certificates.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f; // positive
  return b.toString('hex');
}

/**
 * `--https`: a local certificate authority and a server certificate for localhost, 127.0.0.1 and ::1,
 * created once in `<dir>/tls/` and reused, so a client trusts them by setting NODE_EXTRA_CA_CERTS once.
 */
export function ensureLocalCa(dataDir: string): TlsFiles {
  const dir = join(dataDir, 'tls');
  const files = { caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  if (![files.caCert, files.caKey, files.cert, files.key].every(existsSync)) {
    mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const caKeys = keyPair();
    const caKey = forge.pki.privateKeyFromPem(caKeys.privatePem);
    const ca = forge.pki.createCertificate();
    ca.publicKey = forge.pki.publicKeyFromPem(caKeys.publicPem);
    ca.serialNumber = serial();
    ca.validity.notBefore = new Date(now - DAY);
    ca.validity.notAfter = new Date(now + 3650 * DAY);
    const caName = [{ name: 'commonName', value: 'graph-calls local CA' }, { name: 'organizationName', value: 'graph-calls' }];
    ca.setSubject(caName);
    ca.setIssuer(caName);
    ca.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    ca.sign(caKey, forge.md.sha256.create());

    const serverKeys = keyPair();
    const server = forge.pki.createCertificate();
    server.publicKey = forge.pki.publicKeyFromPem(serverKeys.publicPem);
    server.serialNumber = serial();
    server.validity.notBefore = new Date(now - DAY);
    server.validity.notAfter = new Date(now + 825 * DAY);
    server.setSubject([{ name: 'commonName', value: 'localhost' }]);
    server.setIssuer(caName);
    server.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
      { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
    ]);
    server.sign(caKey, forge.md.sha256.create());

    writeFileSync(files.caKey, caKeys.privatePem, { mode: 0o600 });
    writeFileSync(files.key, serverKeys.privatePem, { mode: 0o600 });
    writeFileSync(files.caCert, forge.pki.certificateToPem(ca));
    writeFileSync(files.cert, forge.pki.certificateToPem(server));
  }
  return { caCertPath: files.caCert, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
}
