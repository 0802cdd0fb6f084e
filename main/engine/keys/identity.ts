// The device's long-term identity: a P-256 key and a self-signed certificate, created on first
// run in the home folder (mode 0600). The certificate is what node-datachannel presents in DTLS;
// its SHA-256 fingerprint appears in every SDP we send, and its first 20 bytes are the device ID.

import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-write.ts';
import { createDeviceCertificate, fromPem, sha256Hex } from './cert.ts';
import { deviceIdFromFingerprint, type DeviceId } from './device-id.ts';

export * from './device-id.ts';

export const CERT_FILE = 'device-cert.pem';
export const KEY_FILE = 'device-key.pem';

export interface DeviceIdentity {
  deviceId: DeviceId;
  /** pass as RtcConfig.certificatePemFile */
  certPemPath: string;
  /** pass as RtcConfig.keyPemFile */
  keyPemPath: string;
  certDer: Uint8Array;
  /** SHA-256 of certDer, lower-case hex (no colons) */
  fingerprint: string;
}

export const defaultDeviceName = (): string => hostname() || 'peerfold-device';

/**
 * Loads the identity from homeDir, creating it on first run. A pair that is unreadable or does
 * not belong together is an error, never silently replaced: replacing it would change the device
 * ID every peer knows. The message says how to start over.
 */
export function loadOrCreateIdentity(homeDir: string): DeviceIdentity {
  mkdirSync(homeDir, { recursive: true });
  const certPemPath = join(homeDir, CERT_FILE);
  const keyPemPath = join(homeDir, KEY_FILE);
  const haveCert = existsSync(certPemPath);
  const haveKey = existsSync(keyPemPath);
  if (!haveCert && !haveKey) {
    const created = createDeviceCertificate();
    // Key first, certificate last: the certificate's presence marks a complete identity.
    writeFileAtomic(keyPemPath, created.keyPem, 0o600);
    writeFileAtomic(certPemPath, created.certPem, 0o600);
  } else if (!haveCert) {
    // A crash between the two writes above: the key has no certificate and no peer has seen it.
    renameSync(keyPemPath, `${keyPemPath}.orphan-${Date.now()}`);
    return loadOrCreateIdentity(homeDir);
  }
  return loadIdentity(certPemPath, keyPemPath);
}

function loadIdentity(certPemPath: string, keyPemPath: string): DeviceIdentity {
  const startOver = `move ${certPemPath} and ${keyPemPath} away to create a new identity (this device's ID will change)`;
  let certDer: Uint8Array | null;
  let keyPem: string;
  try {
    certDer = fromPem('CERTIFICATE', readFileSync(certPemPath, 'utf8'));
    keyPem = readFileSync(keyPemPath, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the device identity: ${(e as Error).message}; ${startOver}`, { cause: e });
  }
  try {
    if (!certDer) throw new Error('no certificate in the file');
    const cert = new X509Certificate(Buffer.from(certDer));
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) throw new Error('the key does not belong to the certificate');
    if (createPublicKey(key).asymmetricKeyType !== 'ec') throw new Error('the key is not an ECDSA key');
  } catch (e) {
    throw new Error(`the device identity in ${certPemPath} is damaged (${(e as Error).message}); ${startOver}`, { cause: e });
  }
  for (const f of [certPemPath, keyPemPath]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      /* not ours to fix on every file system */
    }
  }
  const fingerprint = sha256Hex(certDer);
  return { deviceId: deviceIdFromFingerprint(fingerprint), certPemPath, keyPemPath, certDer, fingerprint };
}
