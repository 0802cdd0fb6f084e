// The files the daemon keeps in its home folder for the CLI and the browser to find it:
// control-token (the secret, mode 0600), control.json (where it listens) and daemon.lock.
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../engine/config/atomic-write.ts';

export const TOKEN_FILE = 'control-token';
export const CONTROL_FILE = 'control.json';
export const LOCK_FILE = 'daemon.lock';

const tokenShape = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Reads the token, or null when it is missing or malformed. */
export function readToken(home: string): string | null {
  try {
    const t = readFileSync(join(home, TOKEN_FILE), 'utf8').trim();
    return tokenShape.test(t) ? t : null;
  } catch {
    return null;
  }
}

/** The daemon's token: the stored one, or a fresh one written with mode 0600. */
export function loadOrCreateToken(home: string): string {
  mkdirSync(home, { recursive: true });
  const file = join(home, TOKEN_FILE);
  const existing = readToken(home);
  if (existing) {
    // a token file someone else can read is not a secret; tighten it rather than trust it
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return existing;
  }
  const token = newToken();
  writeFileAtomic(file, token + '\n', 0o600);
  return token;
}

export interface ControlInfo {
  /** the web UI / control API port on 127.0.0.1 */
  port: number;
  pid: number;
  startedAt: number;
}

export function writeControlInfo(home: string, info: ControlInfo): void {
  writeFileAtomic(join(home, CONTROL_FILE), JSON.stringify(info) + '\n', 0o600);
}

export function readControlInfo(home: string): ControlInfo | null {
  try {
    const v = JSON.parse(readFileSync(join(home, CONTROL_FILE), 'utf8')) as Partial<ControlInfo>;
    if (Number.isInteger(v.port) && Number.isInteger(v.pid) && (v.port as number) > 0) {
      return { port: v.port as number, pid: v.pid as number, startedAt: Number(v.startedAt) || 0 };
    }
  } catch {
    // missing or half-written: no daemon to talk to
  }
  return null;
}

/** Removes control.json if it still describes this process (a newer daemon may have replaced it). */
export function removeControlInfo(home: string, pid = process.pid): void {
  if (readControlInfo(home)?.pid === pid) rmSync(join(home, CONTROL_FILE), { force: true });
}
