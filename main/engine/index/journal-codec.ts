// The journal's on-disk format: a logical redo log of write statements.
//
// A journal file is a sequence of records, one per committed transaction:
//   u32 LE payload length | u32 LE CRC-32 of the payload | payload
// A payload is a sequence of entries, each one statement that succeeded inside the transaction:
//   u8 kind (0 = prepared statement, positional params; 1 = named params; 2 = multi-statement script)
//   varuint sqlRef: 0 = new SQL text follows (varuint byte length + UTF-8), n > 0 = the (n-1)th SQL
//                   text introduced earlier in this same payload (statements repeat a lot in a batch)
//   kinds 0/1: varuint param count, then per param (kind 1: varuint name length + UTF-8 name first)
//              u8 tag + value: 0 null | 1 int32 LE | 2 float64 LE | 3 string | 4 blob | 5 bigint (decimal text)
//              (strings, blobs and bigints: varuint byte length + bytes)
// Numbers are tagged exactly the way sql.js decides to bind them (int32 -> sqlite3_bind_int, any other
// number -> sqlite3_bind_double), booleans as the int32 sql.js binds for them, so replaying an entry
// binds bit-for-bit the same values the original statement saw.
import { crc32 } from 'node:zlib';

export type SqlParam = null | number | string | bigint | boolean | Uint8Array;
export type SqlParams = readonly SqlParam[] | Readonly<Record<string, SqlParam>>;

export type JournalEntry =
  | { kind: 'stmt'; sql: string; params: SqlParam[] }
  | { kind: 'named'; sql: string; params: Record<string, SqlParam> }
  | { kind: 'script'; sql: string };

export const RECORD_HEADER_BYTES = 8;
/** A record longer than this is treated as garbage (a torn length field), not as a real transaction. */
export const MAX_RECORD_BYTES = 1024 * 1024 * 1024;

const KIND_STMT = 0,
  KIND_NAMED = 1,
  KIND_SCRIPT = 2;
const T_NULL = 0,
  T_INT = 1,
  T_FLOAT = 2,
  T_STRING = 3,
  T_BLOB = 4,
  T_BIGINT = 5;

/**
 * Accumulates the entries of one transaction as bytes, eagerly (so a caller that mutates its params
 * array or blob after the statement ran cannot change what gets journaled), with marks so that a
 * rolled-back savepoint can drop its entries.
 */
export class RecordWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = RECORD_HEADER_BYTES;
  private sqlRefs = new Map<string, number>();

  get isEmpty(): boolean {
    return this.pos === RECORD_HEADER_BYTES;
  }

  get byteLength(): number {
    return this.pos;
  }

  reset(): void {
    if (this.buf.length > 4 * 1024 * 1024) this.buf = Buffer.allocUnsafe(64 * 1024);
    this.pos = RECORD_HEADER_BYTES;
    this.sqlRefs.clear();
  }

  mark(): { pos: number; refs: number } {
    return { pos: this.pos, refs: this.sqlRefs.size };
  }

  rollbackTo(m: { pos: number; refs: number }): void {
    this.pos = m.pos;
    if (this.sqlRefs.size > m.refs) {
      for (const [sql, ref] of this.sqlRefs) if (ref >= m.refs) this.sqlRefs.delete(sql);
    }
  }

  addStatement(sql: string, params: SqlParams | undefined): void {
    const start = this.mark();
    try {
      if (params === undefined || Array.isArray(params)) {
        const list = (params ?? []) as readonly SqlParam[];
        this.u8(KIND_STMT);
        this.sqlRef(sql);
        this.varuint(list.length);
        for (const p of list) this.param(p);
      } else {
        const obj = params as Readonly<Record<string, SqlParam>>;
        const names = Object.keys(obj);
        this.u8(KIND_NAMED);
        this.sqlRef(sql);
        this.varuint(names.length);
        for (const name of names) {
          this.str(name);
          this.param(obj[name]!);
        }
      }
    } catch (err) {
      this.rollbackTo(start);
      throw err;
    }
  }

  addScript(sql: string): void {
    this.u8(KIND_SCRIPT);
    this.sqlRef(sql);
  }

  /** The framed record (header filled in). A view into the writer's buffer: use before the next reset(). */
  finish(): Buffer {
    const len = this.pos - RECORD_HEADER_BYTES;
    const payload = this.buf.subarray(RECORD_HEADER_BYTES, this.pos);
    this.buf.writeUInt32LE(len, 0);
    this.buf.writeUInt32LE(crc32(payload) >>> 0, 4);
    return this.buf.subarray(0, this.pos);
  }

  private sqlRef(sql: string): void {
    const ref = this.sqlRefs.get(sql);
    if (ref !== undefined) {
      this.varuint(ref + 1);
      return;
    }
    this.varuint(0);
    this.str(sql);
    this.sqlRefs.set(sql, this.sqlRefs.size);
  }

  private param(v: SqlParam | undefined): void {
    switch (typeof v) {
      case 'number':
        if (v === (v | 0)) {
          this.ensure(5);
          this.buf[this.pos++] = T_INT;
          this.buf.writeInt32LE(v | 0, this.pos);
          this.pos += 4;
        } else {
          this.ensure(9);
          this.buf[this.pos++] = T_FLOAT;
          this.buf.writeDoubleLE(v, this.pos);
          this.pos += 8;
        }
        return;
      case 'string':
        this.u8(T_STRING);
        this.str(v);
        return;
      case 'boolean':
        this.ensure(5);
        this.buf[this.pos++] = T_INT;
        this.buf.writeInt32LE(v ? 1 : 0, this.pos);
        this.pos += 4;
        return;
      case 'bigint':
        this.u8(T_BIGINT);
        this.str(v.toString());
        return;
      case 'object':
        if (v === null) {
          this.u8(T_NULL);
          return;
        }
        if (v instanceof Uint8Array) {
          this.u8(T_BLOB);
          this.varuint(v.length);
          this.ensure(v.length);
          this.buf.set(v, this.pos);
          this.pos += v.length;
          return;
        }
    }
    throw new TypeError(
      `cannot store a SQL parameter of type ${v === undefined ? 'undefined' : ((v as object)?.constructor?.name ?? typeof v)}: ` +
        'use null, number, string, bigint, boolean or Uint8Array',
    );
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  private varuint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  private str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.varuint(n);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }
}

export class JournalFormatError extends Error {}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new JournalFormatError('entry runs past the end of its record');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  varuint(): number {
    let v = 0,
      shift = 0;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
      if (shift > 35) throw new JournalFormatError('varint too long');
    }
  }
  /** A count of items taking at least `minBytes` each: refused before allocating when they cannot fit. */
  count(minBytes: number): number {
    const n = this.varuint();
    if (n * minBytes > this.buf.length - this.pos)
      throw new JournalFormatError(`${n} items cannot fit in the ${this.buf.length - this.pos} bytes left`);
    return n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  str(): string {
    return this.bytes(this.varuint()).toString('utf8');
  }
}

/** Decodes one record's payload into its entries. Throws JournalFormatError on malformed input. */
export function decodePayload(payload: Buffer): JournalEntry[] {
  const r = new Reader(payload);
  const sqls: string[] = [];
  const out: JournalEntry[] = [];
  const readSql = (): string => {
    const ref = r.varuint();
    if (ref === 0) {
      const s = r.str();
      sqls.push(s);
      return s;
    }
    const s = sqls[ref - 1];
    if (s === undefined) throw new JournalFormatError(`unknown SQL reference ${ref}`);
    return s;
  };
  const readParam = (): SqlParam => {
    const tag = r.u8();
    switch (tag) {
      case T_NULL:
        return null;
      case T_INT: {
        r.need(4);
        const v = payload.readInt32LE(r.pos);
        r.pos += 4;
        return v;
      }
      case T_FLOAT: {
        r.need(8);
        const v = payload.readDoubleLE(r.pos);
        r.pos += 8;
        return v;
      }
      case T_STRING:
        return r.str();
      case T_BLOB:
        // a copy: sql.js copies it into the wasm heap anyway, and callers may keep it
        return new Uint8Array(r.bytes(r.varuint()));
      case T_BIGINT: {
        // written by bigint.toString(); BigInt() alone would throw SyntaxError at junk and read '' as 0
        const text = r.str();
        if (!/^-?[0-9]+$/.test(text))
          throw new JournalFormatError(`bigint parameter is not a decimal number: ${JSON.stringify(text.slice(0, 40))}`);
        return BigInt(text);
      }
      default:
        throw new JournalFormatError(`unknown parameter tag ${tag}`);
    }
  };
  while (!r.done) {
    const kind = r.u8();
    if (kind === KIND_STMT) {
      const sql = readSql();
      const n = r.count(1);
      const params: SqlParam[] = new Array(n);
      for (let i = 0; i < n; i++) params[i] = readParam();
      out.push({ kind: 'stmt', sql, params });
    } else if (kind === KIND_NAMED) {
      const sql = readSql();
      const n = r.count(2);
      const params: Record<string, SqlParam> = {};
      for (let i = 0; i < n; i++) {
        const name = r.str();
        params[name] = readParam();
      }
      out.push({ kind: 'named', sql, params });
    } else if (kind === KIND_SCRIPT) {
      out.push({ kind: 'script', sql: readSql() });
    } else {
      throw new JournalFormatError(`unknown entry kind ${kind}`);
    }
  }
  return out;
}

export interface ScannedJournal {
  /** payloads of the intact records, in order */
  records: Buffer[];
  /** byte length of the intact prefix: everything after it is a torn tail or damage */
  validBytes: number;
  /**
   * Why the scan stopped at a torn tail (an append cut short by a crash: normal, that transaction
   * never returned), or null. Set only when nothing intact follows.
   */
  tail: string | null;
  /**
   * Why the scan stopped at damage that is not a torn tail: a bad record followed by intact ones,
   * or a complete bad record followed by more data. Appends are sequential and fdatasync'd, so a
   * crash cannot do this; the file was damaged and records after the damage would be lost.
   */
  damage: string | null;
}

/**
 * Splits a journal file into its intact records; stops at the first torn or invalid one and says
 * whether that is a torn tail or damage in the middle.
 */
export function scanJournal(data: Buffer): ScannedJournal {
  const records: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const bad = badRecordAt(data, pos);
    if (bad) return { records, validBytes: pos, ...classifyStop(data, pos, bad) };
    const len = data.readUInt32LE(pos);
    records.push(data.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len));
    pos += RECORD_HEADER_BYTES + len;
  }
  return { records, validBytes: pos, tail: null, damage: null };
}

/** Why the record at `pos` is not intact, or null when it is. */
function badRecordAt(data: Buffer, pos: number): string | null {
  if (data.length - pos < RECORD_HEADER_BYTES) return `torn record header at byte ${pos}`;
  const len = data.readUInt32LE(pos);
  if (len === 0 || len > MAX_RECORD_BYTES || len > data.length - pos - RECORD_HEADER_BYTES) return `torn record at byte ${pos}`;
  const payload = data.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len);
  if (crc32(payload) >>> 0 !== data.readUInt32LE(pos + 4)) return `checksum mismatch in record at byte ${pos}`;
  return null;
}

function classifyStop(data: Buffer, pos: number, why: string): { tail: string | null; damage: string | null } {
  const next = nextIntactRecord(data, pos + 1);
  if (next >= 0) return { tail: null, damage: `${why}; intact records follow at byte ${next}` };
  // a complete record with a bad checksum is torn only when it is the last thing in the file
  const len = data.length - pos >= RECORD_HEADER_BYTES ? data.readUInt32LE(pos) : 0;
  const end = pos + RECORD_HEADER_BYTES + len;
  if (len > 0 && end < data.length && data.subarray(end).some((b) => b !== 0)) {
    return { tail: null, damage: `${why}; ${data.length - end} more bytes follow it` };
  }
  return { tail: why, damage: null };
}

/**
 * The first offset at or after `from` where an intact record starts, or -1. Every payload starts
 * with an entry kind (0-2) and the SQL reference 0 (its first statement is always new), which rules
 * out nearly every offset before a checksum is computed.
 */
function nextIntactRecord(data: Buffer, from: number): number {
  for (let q = from; q + RECORD_HEADER_BYTES + 2 <= data.length; q++) {
    const kind = data[q + RECORD_HEADER_BYTES]!;
    if (kind > KIND_SCRIPT || data[q + RECORD_HEADER_BYTES + 1] !== 0) continue;
    if (badRecordAt(data, q) === null) return q;
  }
  return -1;
}
