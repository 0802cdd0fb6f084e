// Self-signed X.509 certificates for the device's DTLS identity, built with node:crypto and a
// tiny DER encoder (no `openssl` CLI at runtime).
//
// Key type: ECDSA P-256. DESIGN.md asks for Ed25519, but libdatachannel's DTLS (OpenSSL 1.1, as
// bundled in node-datachannel 0.33) refuses Ed25519 certificates ("no shared cipher"), while
// P-256 is what every WebRTC stack, browsers included, supports. Verified by cert.test.ts.

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import * as der from './der.ts';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';

export interface DeviceCertificate {
  certDer: Uint8Array;
  certPem: string;
  keyPem: string;
  /** SHA-256 of certDer, lower-case hex */
  fingerprint: string;
}

export function toPem(label: string, body: Uint8Array): string {
  const b64 = Buffer.from(body)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function fromPem(label: string, pem: string): Uint8Array | null {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  return m ? new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : null;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A certificate for `privateKey`/`publicKey` (P-256) signed by itself, valid from yesterday on. */
export function selfSignedCertificate(publicKey: KeyObject, privateKey: KeyObject, commonName: string, now = new Date()): Uint8Array {
  const algorithm = der.sequence(der.oid(ECDSA_WITH_SHA256));
  const name = der.sequence(der.set(der.sequence(der.oid(COMMON_NAME), der.utf8String(commonName))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01; // positive and of fixed length
  // No expiry: RFC 5280's 99991231235959Z. Peers pin the fingerprint; an expiring certificate
  // would change the device ID. Backdated a day so a peer's clock skew cannot reject it.
  const validity = der.sequence(der.time(new Date(now.getTime() - 86_400_000)), der.time(new Date(Date.UTC(9999, 11, 31, 23, 59, 59))));
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const tbs = der.sequence(der.explicit(0, der.smallInteger(2)), der.unsignedInteger(serial), algorithm, name, validity, name, spki);
  const signature = sign('sha256', tbs, privateKey);
  return der.sequence(tbs, algorithm, der.bitString(signature));
}

export function createDeviceCertificate(commonName = 'peerfold'): DeviceCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certDer = selfSignedCertificate(publicKey, privateKey, commonName);
  return {
    certDer,
    certPem: toPem('CERTIFICATE', certDer),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    fingerprint: sha256Hex(certDer),
  };
}
