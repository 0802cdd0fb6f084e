// Joins by one-time invite that wait for the device which made the invite (PROTOCOL.md,
// "Invites"). `join` with an invite returns at once with such a share; this module keeps trying
// to reach the issuer and claim the invite. Each pending join is in one of two states:
//
//   waiting (error null) --granted--> becomes a real share (deps.complete), and leaves this list
//        |
//        +-- refused (used, revoked, ...), expired, or an answer that does not fit --> failed
//            (error set; listed until the user removes it; nothing was delivered)
//
// The records live in config/pending-joins-file.ts, so a join goes on waiting after a restart.

import type { PendingJoinRecord, PendingJoinsFile } from '../config/pending-joins-file.ts';
import { parseCode, shareSecretFromCode } from '../keys/codes.ts';
import { parseInvite, type Invite } from '../keys/invite-code.ts';
import { deriveShareKeys } from '../keys/secrets.ts';
import type { ClaimResult } from '../peer/invite-claim.ts';
import { REFUSAL_TEXT } from '../protocol/invite-proof.ts';
import { pause } from './network.ts';

/** The pause before trying again after `redeem` gave up without an answer (the network stopping, say). */
const RETRY_MS = 1_000;

export interface PendingJoinsDeps {
  file: PendingJoinsFile;
  /** reaches the issuer and claims the invite; gives up after `timeoutMs` or when `signal` aborts */
  redeem(terms: Invite, peer: string | null, timeoutMs: number, signal: AbortSignal): Promise<ClaimResult>;
  /**
   * the issuer granted the invite with this share code (checked to be the invite's share and
   * level): join with it into the join's folder; throws, with a message for the user, when it cannot
   */
  complete(join: PendingJoinRecord, code: string): Promise<void>;
  changed(): void;
  log(message: string): void;
}

export const pendingJoinId = (inviteId: string): string => `invite-${inviteId}`;

export class PendingJoins {
  private joins: PendingJoinRecord[];
  private readonly running = new Map<string, AbortController>();
  private stopped = false;

  constructor(private readonly deps: PendingJoinsDeps) {
    this.joins = deps.file.read();
  }

  /** Starts waiting for the issuers of the joins stored before (once the network runs). */
  start(): void {
    for (const j of this.joins) if (!j.error) void this.run(j);
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.running.values()) c.abort();
    this.running.clear();
  }

  list(): readonly PendingJoinRecord[] {
    return this.joins;
  }

  /** A pending join named by its provisional id or its folder path. */
  find(ref: string): PendingJoinRecord | null {
    const path = ref.replace(/(.)\/+$/, '$1');
    return this.joins.find((j) => j.id === ref || j.path === path) ?? null;
  }

  add(record: PendingJoinRecord): void {
    this.joins = [...this.joins, record];
    this.save();
    this.deps.log(`joining "${record.name}" with invite ${record.id.slice('invite-'.length)}: waiting for the device that made it`);
    void this.run(record);
  }

  /** Gives up a join (the user removed it): stops trying; a grant that arrives later is dropped. */
  remove(id: string): void {
    this.running.get(id)?.abort();
    this.running.delete(id);
    this.drop(id);
  }

  private drop(id: string): void {
    const before = this.joins.length;
    this.joins = this.joins.filter((j) => j.id !== id);
    if (this.joins.length !== before) this.save();
  }

  private save(): void {
    this.deps.file.write(this.joins);
    this.deps.changed();
  }

  private fail(j: PendingJoinRecord, error: string): void {
    if (!this.joins.includes(j)) return;
    j.error = error;
    this.deps.log(`joining "${j.name}" with an invite failed: ${error}`);
    this.save();
  }

  private async run(j: PendingJoinRecord): Promise<void> {
    if (this.stopped || this.running.has(j.id)) return;
    const parsed = parseInvite(j.code);
    if (!parsed.ok) return this.fail(j, `that invite does not work: ${parsed.error}`);
    const terms = parsed.invite;
    const ctl = new AbortController();
    this.running.set(j.id, ctl);
    try {
      while (!ctl.signal.aborted) {
        const left = terms.expiresAt - Date.now();
        if (left <= 0) return this.fail(j, REFUSAL_TEXT.expired);
        // one call tries until the invite expires: the network keeps what it heard of the issuer meanwhile
        const claim = await this.deps.redeem(terms, j.peer, left, ctl.signal);
        if (ctl.signal.aborted) {
          if (claim.ok && claim.answer.status === 'granted') this.deps.log(`invite for "${j.name}" granted after the join was given up`);
          return;
        }
        if (!claim.ok) {
          await pause(RETRY_MS, ctl.signal);
          continue;
        }
        const { status, code } = claim.answer;
        if (status !== 'granted') return this.fail(j, REFUSAL_TEXT[status]);
        const wrong = grantProblem(terms, code);
        if (wrong) return this.fail(j, wrong);
        // the folder is the new share's from here on: the join leaves this list first
        this.drop(j.id);
        try {
          await this.deps.complete(j, code);
          this.deps.log(`joined "${j.name}" with invite ${terms.id}`);
        } catch (err) {
          this.joins = [...this.joins, j];
          this.fail(j, (err as Error).message);
        }
        return;
      }
    } finally {
      if (this.running.get(j.id) === ctl) this.running.delete(j.id);
    }
  }
}

/** Why a granted share code does not fit the invite (another share or level), or null. */
export function grantProblem(terms: Invite, code: string): string | null {
  const got = parseCode(code);
  if (got.ok && got.level === terms.level && deriveShareKeys(shareSecretFromCode(got)).discoveryIdHex === terms.discoveryId) return null;
  return 'the issuing device answered the invite with a code for another share or level: nothing was joined';
}
