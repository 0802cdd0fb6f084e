// The invites this device issues (PROTOCOL.md, "Invites"): making one, listing and revoking the
// open ones, and answering a claim on a link. The decision is protocol/invite-proof.ts's
// decideClaim; the records live in config/invites-file.ts.

import { randomBytes } from 'node:crypto';
import type { AccessLevel, InviteInfo } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import type { InvitesFile } from '../config/invites-file.ts';
import type { ShareRow } from '../index/rows.ts';
import { encodeCode, storedShareSecret } from '../keys/codes.ts';
import { INVITE_ID_BYTES, INVITE_SECRET_BYTES, encodeInvite } from '../keys/invite-code.ts';
import { deriveShareKeys, levelCovers, weakenSecret } from '../keys/secrets.ts';
import type { ClaimedInvite } from '../protocol/handshake.ts';
import { decideClaim, verifyInviteClaim, type InviteRecord } from '../protocol/invite-proof.ts';
import type { InviteAnswer } from '../protocol/messages.ts';
import { ClaimLimiter, claimSources, type ClaimLimit } from './claim-limit.ts';

export const DEFAULT_INVITE_LIFE_MS = 24 * 3600_000;

/** Why this device cannot invite a `wanted` device: it may give at most its own level. */
export function inviteLevelProblem(issuerLevel: AccessLevel, wanted: AccessLevel): string | null {
  if (!levelCovers(issuerLevel, wanted)) return `this device holds the share ${issuerLevel}: it cannot invite a ${wanted} device`;
  return null;
}

export interface InvitesDeps {
  file: InvitesFile;
  deviceId: string;
  share: (shareId: string) => ShareRow | null;
  log: (message: string) => void;
  changed: () => void;
  /** the bound on failed claims per device and per address (CLAIM_LIMIT unless a test lowers it) */
  claimLimit?: ClaimLimit;
}

/** A claim not answered at all: too many failed ones came from its device or address. */
export interface ClaimNotNow {
  notNow: string;
}

export class Invites {
  private readonly limiter: ClaimLimiter;

  constructor(private readonly deps: InvitesDeps) {
    this.limiter = new ClaimLimiter(deps.claimLimit);
  }

  create(row: ShareRow, opts: { access?: AccessLevel; expiresInMs?: number; uses?: number }, now = Date.now()): InviteInfo {
    const access = opts.access ?? row.access;
    const problem = inviteLevelProblem(row.access, access);
    if (problem) throw new ApiError('refused', problem);
    const record: InviteRecord = {
      id: randomBytes(INVITE_ID_BYTES).toString('hex'),
      shareId: row.id,
      issuer: this.deps.deviceId,
      discoveryId: deriveShareKeys(storedShareSecret(row)).discoveryIdHex,
      secret: new Uint8Array(randomBytes(INVITE_SECRET_BYTES)),
      // the code carries whole seconds, rounded up so it never says less than was asked for
      expiresAt: Math.ceil((now + (opts.expiresInMs ?? DEFAULT_INVITE_LIFE_MS)) / 1000) * 1000,
      level: access,
      createdAt: now,
      usesLeft: opts.uses ?? 1,
      revoked: false,
    };
    this.deps.file.add(record);
    this.deps.changed();
    return info(record);
  }

  /** Open invites: not expired, used up or revoked. */
  open(shareId: string, now = Date.now()): InviteInfo[] {
    return this.deps.file
      .all(now)
      .filter((r) => r.shareId === shareId && !r.revoked && r.usesLeft > 0 && now < r.expiresAt)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(info);
  }

  /** The open invite with this ID, in any share. */
  openById(id: string, now = Date.now()): InviteInfo | null {
    const r = this.deps.file.get(id);
    return r ? (this.open(r.shareId, now).find((i) => i.id === r.id) ?? null) : null;
  }

  revoke(shareId: string, id: string): void {
    const r = this.deps.file.get(id.trim().toLowerCase());
    if (!r || r.shareId !== shareId)
      throw new ApiError('not-found', `no invite "${id}" for this share; \`peerfold invites SHARE\` lists them`);
    if (r.revoked) return;
    this.deps.file.update(r.id, { revoked: true });
    this.deps.changed();
  }

  shareRemoved(shareId: string): void {
    this.deps.file.dropShare(shareId);
  }

  /**
   * A device claims an invite on a link from `address` (null when unknown): decide, count the use
   * before answering, answer. A device or address with too many failed claims lately gets no answer.
   */
  answer(peer: string, claim: ClaimedInvite, address: string | null, now = Date.now()): InviteAnswer | ClaimNotNow {
    const sources = claimSources(peer, address);
    const until = this.limiter.blockedUntil(sources, now);
    if (until !== null) {
      const wait = Math.ceil((until - now) / 60_000);
      return { notNow: `too many failed invite claims from this device or address: try again in ${wait} min` };
    }
    const record = this.deps.file.get(claim.invite);
    const decision = decideClaim(record, (r) => verifyInviteClaim(r, claim.sides, claim.mac), now);
    if (!decision.grant) {
      this.limiter.failed(sources, now);
      return { type: 'inviteAnswer', status: decision.refusal, code: '' };
    }
    const row = this.deps.share(record!.shareId);
    if (!row || row.paused) return { type: 'inviteAnswer', status: 'share-gone', code: '' };
    const s = weakenSecret(storedShareSecret(row), record!.level);
    const code = encodeCode(record!.level, s.secret, record!.level === 'read-write' ? undefined : s.writerKeyHash);
    this.deps.file.update(record!.id, { usesLeft: record!.usesLeft - 1 });
    this.deps.log(`invite ${record!.id} used by device ${peer.slice(0, 7)} (${record!.usesLeft} use(s) left)`);
    this.deps.changed();
    return { type: 'inviteAnswer', status: 'granted', code };
  }
}

function info(r: InviteRecord): InviteInfo {
  return { id: r.id, shareId: r.shareId, code: encodeInvite(r), access: r.level, expiresAt: r.expiresAt, usesLeft: r.usesLeft };
}
