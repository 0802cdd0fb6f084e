import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessLevel } from '../../../shared/api.ts';
import type { InviteRecord } from '../protocol/invite-proof.ts';
import { writeFileAtomic } from './atomic-write.ts';

/** An invite's record stays this long after it expires, so a late claim hears "expired", not "unknown". */
export const KEEP_AFTER_EXPIRY_MS = 7 * 24 * 3600_000;

interface StoredInvite extends Omit<InviteRecord, 'secret'> {
  secret: string;
}

/**
 * The invites this device issued (invites.json in the home, mode 0600: it holds invite secrets),
 * so open invites survive a restart and a used or revoked one is still refused by name.
 */
export class InvitesFile {
  private readonly file: string;
  private records: InviteRecord[];

  constructor(home: string) {
    this.file = join(home, 'invites.json');
    this.records = this.read();
  }

  all(now = Date.now()): InviteRecord[] {
    return this.records.filter((r) => now < r.expiresAt + KEEP_AFTER_EXPIRY_MS);
  }

  get(id: string): InviteRecord | null {
    return this.records.find((r) => r.id === id) ?? null;
  }

  add(record: InviteRecord): void {
    this.records = [...this.all(), record];
    this.write();
  }

  update(id: string, patch: Partial<Pick<InviteRecord, 'usesLeft' | 'revoked'>>): InviteRecord | null {
    const r = this.get(id);
    if (!r) return null;
    Object.assign(r, patch);
    this.write();
    return r;
  }

  /** Drops every invite of a share (it was removed from this device). */
  dropShare(shareId: string): void {
    const before = this.records.length;
    this.records = this.records.filter((r) => r.shareId !== shareId);
    if (this.records.length !== before) this.write();
  }

  private read(): InviteRecord[] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { invites?: unknown };
      if (!Array.isArray(parsed.invites)) return [];
      return parsed.invites.filter(isStoredInvite).map((r) => ({ ...r, secret: new Uint8Array(Buffer.from(r.secret, 'hex')) }));
    } catch {
      return [];
    }
  }

  private write(): void {
    const invites: StoredInvite[] = this.records.map((r) => ({ ...r, secret: Buffer.from(r.secret).toString('hex') }));
    writeFileAtomic(this.file, JSON.stringify({ invites }, null, 2) + '\n', 0o600);
  }
}

const LEVELS: readonly AccessLevel[] = ['read-write', 'read-only', 'encrypted'];

function isStoredInvite(x: unknown): x is StoredInvite {
  const r = x as StoredInvite;
  return (
    !!r &&
    typeof r.id === 'string' &&
    /^[0-9a-f]{16}$/.test(r.id) &&
    typeof r.shareId === 'string' &&
    typeof r.issuer === 'string' &&
    typeof r.discoveryId === 'string' &&
    /^[0-9a-f]{40}$/.test(r.discoveryId) &&
    typeof r.secret === 'string' &&
    /^[0-9a-f]{32}$/.test(r.secret) &&
    typeof r.expiresAt === 'number' &&
    typeof r.createdAt === 'number' &&
    typeof r.usesLeft === 'number' &&
    typeof r.revoked === 'boolean' &&
    LEVELS.includes(r.level)
  );
}
