// Helpers for the net tests (not used by the engine).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetLog } from './log.ts';

export interface TestCert {
  certPemFile: string;
  keyPemFile: string;
  /** sha-256 of the certificate, lowercase hex */
  fingerprint: string;
}

/** A throwaway ECDSA P-256 certificate, as the device identity will be. */
export function makeCert(dir: string, name: string): TestCert {
  const certPemFile = join(dir, `${name}.crt`);
  const keyPemFile = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPemFile,
      '-out',
      certPemFile,
      '-days',
      '30',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  );
  const fingerprint = new X509Certificate(readFileSync(certPemFile)).fingerprint256.replaceAll(':', '').toLowerCase();
  return { certPemFile, keyPemFile, fingerprint };
}

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-net-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger that remembers what it was told. */
export function captureLog(): { log: NetLog; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: (level, message) => {
      lines.push(`${level}: ${message}`);
    },
  };
}

export function waitFor(check: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > limitMs) return reject(new Error(`gave up waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}
