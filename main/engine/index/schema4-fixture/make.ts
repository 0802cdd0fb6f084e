// Made the schema-4 database in this folder (index.snapshot) and what it holds (records.json), with
// the store as it was at schema 4 (commit addef81, before schema 5). Kept to show how; run at HEAD it
// would write the current schema instead:
//   git worktree add /tmp/s4 addef81 && cp -r main/engine/index/{random-records.fixture.ts,schema4-fixture} /tmp/s4/main/engine/index/
//   (cd /tmp/s4 && node --import tsx main/engine/index/schema4-fixture/make.ts OUT_DIR)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IndexStore } from '../store.ts';
import { DEVICES, LOCAL, PEER, PEER2, RecordMaker, recordToJson } from '../random-records.fixture.ts';
import type { FileRecord } from '../rows.ts';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: make.ts OUT_DIR');
  const { store, db } = await IndexStore.open(out, LOCAL, { snapshotEveryMs: 0 });
  const shares = ['rw', 'ro', 'enc'] as const;
  const access = { rw: 'read-write', ro: 'read-only', enc: 'encrypted' } as const;
  for (const id of shares) {
    store.addShare({
      id,
      name: `Share ${id}`,
      path: `/data/${id}`,
      access: access[id],
      secret: `secret-${id}`,
      paused: false,
      createdAt: 1_700_000_000_000,
    });
  }
  const make = new RecordMaker(4);
  for (let i = 0; i < 120; i++) {
    const shareId = make.pick(shares);
    const batch: FileRecord[] = [];
    const local = make.record(shareId, LOCAL);
    batch.push(local);
    if (make.chance(0.6)) batch.push(make.copy(local, make.pick([PEER, PEER2])));
    if (make.chance(0.3)) batch.push(make.record(shareId, make.pick([PEER, PEER2])));
    if (make.chance(0.5)) batch.reverse(); // a peer's entry first, as a new device gets them
    store.putFiles(batch);
  }
  store.updatePeer('rw', PEER, { name: 'laptop', remoteSeqSeen: 12, localSeqAcked: 9, lastSeen: 1_700_000_000_000 });
  const records = shares.flatMap((id) => DEVICES.flatMap((d) => store.listFiles(id, d, { includeDeleted: true })));
  writeFileSync(join(out, 'records.json'), JSON.stringify(records.map(recordToJson)) + '\n');
  console.log(`${records.length} records, user_version ${db.get<{ user_version: number }>('PRAGMA user_version')?.user_version ?? '?'}`);
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
