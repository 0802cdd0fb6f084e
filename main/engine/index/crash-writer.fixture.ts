// Child process for durable-db-crash.test.ts: commits transactions in a loop and reports each one on
// stdout (synchronously) right after transaction() returned, until the parent kills it with SIGKILL.
// Every transaction writes two rows of a pair plus a counter, so a half-applied one is detectable.
//   node --import tsx crash-writer.fixture.ts DIR (steady|snapshots)
import { randomBytes, randomInt } from 'node:crypto';
import { writeSync } from 'node:fs';
import { DurableDb } from './durable-db.ts';

export const CRASH_MIGRATIONS = [
  `CREATE TABLE pairs (id INTEGER PRIMARY KEY, pair INTEGER NOT NULL, payload BLOB NOT NULL);
   CREATE INDEX pairs_by_pair ON pairs (pair);
   CREATE TABLE counter (n INTEGER NOT NULL);
   INSERT INTO counter VALUES (0);`,
];

async function main(): Promise<void> {
  const [dir, mode] = process.argv.slice(2);
  if (!dir || (mode !== 'steady' && mode !== 'snapshots')) throw new Error('usage: crash-writer.fixture.ts DIR steady|snapshots');
  const say = (line: string) => writeSync(1, line + '\n');
  const { db, recovered } = await DurableDb.open(dir, {
    migrations: CRASH_MIGRATIONS,
    journalLimitBytes: mode === 'snapshots' ? 16 * 1024 : 1024 * 1024,
    snapshotEveryMs: 0,
    onBackgroundError: (err) => say(`ERROR ${err.message}`),
  });
  if (recovered) say(`RECOVERED ${recovered}`);
  let next = (db.get<{ m: number | null }>('SELECT max(pair) AS m FROM pairs')?.m ?? -1) + 1;
  say(`READY ${next}`);
  for (;;) {
    const i = next++;
    const payload = randomBytes(randomInt(0, 3000));
    db.transaction(() => {
      db.run('INSERT INTO pairs (id, pair, payload) VALUES (?, ?, ?)', [2 * i, i, payload]);
      db.run('UPDATE counter SET n = n + 1');
      db.run('INSERT INTO pairs (id, pair, payload) VALUES (?, ?, ?)', [2 * i + 1, i, payload]);
    });
    say(String(i));
    if (mode === 'snapshots' && i % 25 === 0) {
      say('S');
      db.snapshot().catch((err: Error) => say(`ERROR ${err.message}`));
    }
    if (i % 3 === 0) await new Promise((r) => setImmediate(r)); // let background snapshot I/O progress
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err) => {
    writeSync(2, `crash-writer: ${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  });
}
