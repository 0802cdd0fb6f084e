import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShareRow } from '../index/rows.ts';
import { writeFileAtomic } from './atomic-write.ts';

/**
 * The list of shares (with their secrets) kept beside the database, so that a corrupt database
 * can be rebuilt from disk without the user losing their shares. Mode 0600: it holds secrets.
 */
export class SharesFile {
  private readonly file: string;

  constructor(home: string) {
    this.file = join(home, 'shares.json');
  }

  read(): ShareRow[] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { shares?: unknown };
      return Array.isArray(parsed.shares) ? parsed.shares.filter(isShareRow) : [];
    } catch {
      return [];
    }
  }

  write(rows: readonly ShareRow[]): void {
    writeFileAtomic(this.file, JSON.stringify({ shares: rows }, null, 2) + '\n', 0o600);
  }
}

function isShareRow(x: unknown): x is ShareRow {
  const r = x as ShareRow;
  return (
    !!r &&
    typeof r.id === 'string' &&
    typeof r.name === 'string' &&
    typeof r.path === 'string' &&
    typeof r.secret === 'string' &&
    typeof r.paused === 'boolean' &&
    typeof r.createdAt === 'number' &&
    (r.access === 'read-write' || r.access === 'read-only' || r.access === 'encrypted')
  );
}
