// Seeded random file records for the index's round-trip tests (store.test.ts, schema 4 -> 5) and the
// schema-4 fixture (schema4-fixture/make.ts): every kind of entry the engine can store, and a
// peer's entry that is a copy of the local one (what a sync leaves behind) as often as not.
import { createHash } from 'node:crypto';
import type { ChunkRef, FileRecord } from './rows.ts';

export const LOCAL = 'LOCALDEVICE-AAAA';
export const PEER = 'PEERDEVICE-BBBB';
export const PEER2 = 'PEERDEVICE-CCCC';
export const DEVICES = [LOCAL, PEER, PEER2] as const;

/** mulberry32: a small seeded generator (the same records for the same seed, on every machine). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  'a.txt',
  'b',
  'b/c.bin',
  'b/d',
  'b/d/e f.md',
  'b0',
  'caf\u00e9/men\u00fc.txt',
  'emoji/\u{1f600}.png',
  'x/y/z/deep.dat',
  'x/y/z',
  'link',
  'zz top',
];

const COUNTERS = [0, 1, 2, 7, 127, 128, 300, 16_383, 16_384, 2 ** 31, 2 ** 32 + 5, 1_764_650_000_123, 2 ** 53 - 1];

export function sha(s: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(s).digest());
}

export function fileHash(cs: readonly ChunkRef[]): string {
  const h = createHash('sha256');
  for (const c of cs) h.update(c.hash);
  return h.digest('hex');
}

export class RecordMaker {
  private readonly rnd: () => number;
  private seq = new Map<string, number>();

  constructor(seed: number) {
    this.rnd = seeded(seed);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  path(): string {
    return this.pick(PATHS);
  }

  private nextSeq(shareId: string, deviceId: string): number {
    const key = `${shareId}\0${deviceId}`;
    const n = (this.seq.get(key) ?? 0) + 1 + Math.floor(this.rnd() * 3);
    this.seq.set(key, n);
    return n;
  }

  /** Any entry: a file, dir or symlink, live or deleted, with any version vector, hash and signature. */
  record(shareId: string, deviceId: string, path = this.path()): FileRecord {
    const type = this.pick(['file', 'file', 'file', 'dir', 'symlink'] as const);
    const deleted = this.chance(0.2);
    const chunks: ChunkRef[] =
      type === 'file' && !deleted
        ? Array.from({ length: this.pick([0, 1, 1, 2, 3]) }, (_, i) => ({
            hash: sha(`${this.pick(['x', 'y', 'z'])}/${i}/${this.pick([1, 2])}`),
            size: this.pick([0, 1, 65_536, 4_294_967_295]),
          }))
        : [];
    const version: Record<string, number> = {};
    for (const d of DEVICES) if (this.chance(0.6)) version[d] = this.pick(COUNTERS);
    let hash = '';
    if (type === 'file' && !deleted)
      hash = this.chance(0.8) ? fileHash(chunks) : createHash('sha256').update(String(this.rnd())).digest('hex');
    else if (deleted && this.chance(0.2)) hash = 'ab'.repeat(32);
    const sig = this.pick([null, null, 'signed', 'signed', 'odd'] as const);
    const record: FileRecord = {
      shareId,
      deviceId,
      path,
      type,
      size: chunks.reduce((a, c) => a + c.size, 0),
      mode: this.pick([0o644, 0o755, 0o600, 0o777, 0]),
      mtimeMs: this.pick([0, 1_700_000_000_000, 1_700_000_000_123.25, 1_764_650_000_999.5, 1]),
      inode: this.pick([0, 1, 2 ** 40 + 7, 2 ** 53 - 1]),
      symlinkTarget: type === 'symlink' ? this.pick(['../a.txt', 'b/c.bin', '\u00e9t\u00e9', '/abs/path']) : null,
      version,
      sequence: this.nextSeq(shareId, deviceId),
      deleted,
      chunks,
      hash,
      modifiedBy: this.pick(DEVICES),
    };
    if (sig === 'signed') record.signature = Buffer.concat([new Uint8Array(32).fill(7), sha(String(this.rnd())), sha(String(this.rnd()))]);
    else if (sig === 'odd') record.signature = new Uint8Array(10).fill(4);
    return record;
  }

  /**
   * The same version as `of` in another device's index (what a sync leaves behind): its own
   * sequence, and sometimes its own inode.
   */
  copy(of: FileRecord, deviceId: string): FileRecord {
    return { ...of, deviceId, sequence: this.nextSeq(of.shareId, deviceId), inode: this.chance(0.5) ? of.inode : this.pick([0, 99]) };
  }
}

/**
 * The same version as `of` as it comes back from a peer over the wire (the peer's own sequence, no
 * inode, whole milliseconds), sometimes with a mode or mtime of its own.
 */
export function echo(make: RecordMaker, of: FileRecord, deviceId: string): FileRecord {
  const r = { ...make.copy(of, deviceId), inode: 0, mtimeMs: Math.floor(of.mtimeMs) };
  if (make.chance(0.2)) r.mode = make.pick([0o600, 0o755]);
  if (make.chance(0.2)) r.mtimeMs = make.pick([3, 1_700_000_000_001]);
  return r;
}

/** A record as JSON (bytes as hex), for a fixture file. */
export function recordToJson(r: FileRecord): unknown {
  return {
    ...r,
    chunks: r.chunks.map((c) => ({ hash: Buffer.from(c.hash).toString('hex'), size: c.size })),
    ...(r.signature ? { signature: Buffer.from(r.signature).toString('hex') } : {}),
  };
}

export function recordFromJson(j: Record<string, unknown>): FileRecord {
  const { chunks, signature, ...rest } = j as { chunks: { hash: string; size: number }[]; signature?: string };
  const out = { ...rest, chunks: chunks.map((c) => ({ hash: new Uint8Array(Buffer.from(c.hash, 'hex')), size: c.size })) } as FileRecord;
  if (typeof signature === 'string') out.signature = new Uint8Array(Buffer.from(signature, 'hex'));
  return out;
}
