/**
 * `--tls auto`: a self-signed CA and a server certificate signed by it, kept in the data
 * directory so that agents and the CLI can pin the CA file across restarts. Made with
 * @peculiar/x509 over Node's WebCrypto rather than by shelling out to openssl.
 */
// @peculiar/x509 resolves its ASN.1 schema classes through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

export interface TlsMaterial {
  cert: string;
  key: string;
  caFile: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

/** Names the server certificate is valid for: localhost and loopback plus what the operator listens on. */
export function subjectAltNames(extraHosts: string[]): x509.JsonGeneralName[] {
  const names = new Map<string, x509.JsonGeneralName>();
  const add = (host: string) => {
    if (!host || host === '0.0.0.0' || host === '::') return;
    const isIp = /^[0-9.]+$/.test(host) || host.includes(':');
    names.set(host, { type: isIp ? 'ip' : 'dns', value: host });
  };
  ['localhost', '127.0.0.1', '::1', ...extraHosts].forEach(add);
  return [...names.values()];
}

/** Loads the CA and server certificate from dataDir/tls, creating them on first use. */
export async function ensureAutoTls(dataDir: string, hosts: string[]): Promise<TlsMaterial> {
  const dir = path.join(dataDir, 'tls');
  const files = {
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    cert: path.join(dir, 'server.crt'),
    key: path.join(dir, 'server.key'),
  };
  if (Object.values(files).every((file) => fs.existsSync(file))) {
    return { cert: fs.readFileSync(files.cert, 'utf8'), key: fs.readFileSync(files.key, 'utf8'), caFile: files.caCert };
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = new Date();
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Tenet controller CA',
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=tenet-controller',
    issuer: ca.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 2 * YEAR_MS),
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(subjectAltNames(hosts)),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const write = (file: string, text: string, mode: number) => fs.writeFileSync(file, text, { mode });
  write(files.caCert, ca.toString('pem'), 0o644);
  write(files.caKey, await exportKey(caKeys.privateKey), 0o600);
  write(files.cert, `${server.toString('pem')}\n${ca.toString('pem')}\n`, 0o644);
  write(files.key, await exportKey(serverKeys.privateKey), 0o600);
  return { cert: fs.readFileSync(files.cert, 'utf8'), key: fs.readFileSync(files.key, 'utf8'), caFile: files.caCert };
}
