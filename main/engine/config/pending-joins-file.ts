import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInvite } from '../keys/invite-code.ts';
import { writeFileAtomic } from './atomic-write.ts';

/** A join by one-time invite that the issuing device has not granted yet (model/pending-joins.ts). */
export interface PendingJoinRecord {
  /** the provisional share id: "invite-" and the invite's ID */
  id: string;
  /** the invite code (pfi1...) */
  code: string;
  /** absolute path of the folder to join into */
  path: string;
  name: string;
  /** HOST:PORT where the issuer is, when the user gave it */
  peer: string | null;
  createdAt: number;
  /** why the join failed for good (the issuer refused, the invite expired); null while waiting */
  error: string | null;
}

/**
 * The pending joins (pending-joins.json in the home, mode 0600: an invite code proves the invite
 * until it is used), so a join waiting for its issuer goes on waiting after a restart.
 */
export class PendingJoinsFile {
  private readonly file: string;

  constructor(home: string) {
    this.file = join(home, 'pending-joins.json');
  }

  read(): PendingJoinRecord[] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { joins?: unknown };
      return Array.isArray(parsed.joins) ? parsed.joins.filter(isRecord) : [];
    } catch {
      return [];
    }
  }

  write(joins: readonly PendingJoinRecord[]): void {
    writeFileAtomic(this.file, JSON.stringify({ joins }, null, 2) + '\n', 0o600);
  }
}

function isRecord(x: unknown): x is PendingJoinRecord {
  const r = x as PendingJoinRecord;
  return (
    !!r &&
    typeof r.id === 'string' &&
    /^invite-[0-9a-f]{16}$/.test(r.id) &&
    typeof r.code === 'string' &&
    parseInvite(r.code).ok &&
    typeof r.path === 'string' &&
    typeof r.name === 'string' &&
    (r.peer === null || typeof r.peer === 'string') &&
    typeof r.createdAt === 'number' &&
    (r.error === null || typeof r.error === 'string')
  );
}
