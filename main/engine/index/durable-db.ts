// A durable SQLite database on top of sql.js (which only keeps a database in memory).
//
// Durability = a snapshot file (a full database image, written atomically now and then) plus an
// append-only journal of the write statements committed since. Every commit appends one record (the
// transaction's statements with their bound parameters: a logical redo log) and fdatasyncs it before
// transaction() returns, so whatever a caller has seen committed survives kill -9 or power loss.
// Opening loads the snapshot and replays the journal; a torn record at the journal's tail (a crash
// mid-append) is cut off: that transaction never returned, so nobody was told it happened. Damage
// anywhere before the tail cannot come from a crash and would silently drop committed records: the
// database is treated as corrupt (moved aside, rebuilt by the caller, reported).
//
// Generations. Snapshot N holds everything in journals < N; journal N holds what came after it.
// snapshot() takes the image (synchronously, between transactions), starts journal N+1 at once so
// commits can go on, then writes snapshot N+1 in the background (temp file, fsync, rename, fsync
// folder) and finally deletes journals <= N. A crash at any point leaves one of:
//   snapshot N   + journal N (complete) + journal N+1  -> replay N, then N+1
//   snapshot N+1 + journal N (obsolete) + journal N+1  -> delete N, replay N+1
// so no step needs to be atomic with another.
//
// Rules for SQL that goes through this class (the journal replays statements, not pages):
// - Writes must be deterministic given the database and the bound parameters: no random(),
//   randomblob(), datetime('now'), CURRENT_TIMESTAMP, or custom functions with side effects. Pass
//   times and random values in as parameters.
// - Write with run() / runReturning() / exec(); get()/all()/rows() refuse statements that write.
// - Do not run BEGIN/COMMIT/SAVEPOINT yourself: use transaction(). Do not use ON CONFLICT FAIL or
//   ROLLBACK resolution (a failed statement must leave no partial effect).
// - Connection settings are fixed here (see CONNECTION_PRAGMAS) so a replay sees the same ones.
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import { RecordWriter, decodePayload, scanJournal, type JournalEntry, type SqlParams } from './journal-codec.ts';
import {
  CorruptDatabaseError,
  FILE_MODE,
  SNAPSHOT_FILE,
  SNAPSHOT_TMP_FILE,
  decodeSnapshot,
  fsyncDir,
  journalFile,
  listJournalGenerations,
  moveDatabaseAside,
  writeSnapshotFile,
} from './durable-files.ts';
import { loadSqlJs } from './sqljs.ts';

export type { SqlParam, SqlParams } from './journal-codec.ts';
export type { SqlValue } from 'sql.js';

export type SnapshotStep = 'exported' | 'journal-switched' | 'snapshot-written' | 'snapshot-renamed' | 'journals-removed';

/**
 * One schema step: SQL, or a function that rewrites rows through the database's own run()/rows()
 * (in the same transaction, journaled like any write, so a replay needs nothing but SQL).
 */
export type Migration = string | ((db: DurableDb) => void);

export interface DurableDbOptions {
  /** Schema migrations; migration i brings PRAGMA user_version from i to i+1. Append only. */
  migrations: readonly Migration[];
  /** Start a background snapshot once the journal is this big (default 16 MiB). */
  journalLimitBytes?: number;
  /** Also snapshot this often when the journal is not empty (default 30 min; 0 = never). */
  snapshotEveryMs?: number;
  /** Where failures of background snapshots go (default: console.warn). The journal keeps data safe meanwhile. */
  onBackgroundError?: (err: Error) => void;
  /** Test hook: called at each step of a snapshot, so tests can simulate a crash exactly there. */
  onSnapshotStep?: (step: SnapshotStep) => void;
}

export interface OpenResult {
  db: DurableDb;
  /** null normally; a message for the user when a corrupt database was moved aside and a new empty one started */
  recovered: string | null;
}

export interface DurableDbStats {
  generation: number;
  journalBytes: number;
  /** size of the last snapshot this process wrote or loaded */
  snapshotBytes: number;
  /** journal records replayed at open */
  replayedRecords: number;
  /** bytes cut off a torn journal tail at open (0 normally) */
  truncatedBytes: number;
}

// The database lives in sql.js's in-memory file system and has one connection: no rollback journal
// file, no syncs, and an exclusive lock so SQLite trusts its page cache between transactions.
// cache_size bounds that cache (8 MiB). The cache is a second copy of pages the in-memory file
// already holds, in WebAssembly memory, which never shrinks: with 64 MiB a 100,000-file index kept
// +64 MB resident for good; 4 MiB cost ~10-15% more CPU on whole-index passes (bench/README.md).
const CONNECTION_PRAGMAS =
  'PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8192;';
const DEFAULT_JOURNAL_LIMIT = 16 * 1024 * 1024;
const DEFAULT_SNAPSHOT_EVERY_MS = 30 * 60 * 1000;
const STATEMENT_CACHE_SIZE = 256;

const READ_RE = /^\s*(?:SELECT|VALUES|EXPLAIN)\b/i;
const WITH_RE = /^\s*WITH\b/i;
const WRITE_WORD_RE = /\b(?:INSERT|UPDATE|DELETE|REPLACE)\b/i;
const PRAGMA_RE = /^\s*PRAGMA\b/i;

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isThenable(x: unknown): boolean {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';
}

export class DurableDb {
  private readonly stmts = new Map<string, Statement>();
  private readonly readChecked = new Set<string>();
  private readonly writer = new RecordWriter();
  private readonly rollbackListeners = new Set<() => void>();
  private depth = 0;
  private fd = -1;
  /** generation of the current journal */
  private gen = 0;
  /** generation of the snapshot currently on disk */
  private snapshotGenOnDisk = 0;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private replayedRecords = 0;
  private truncatedBytes = 0;
  private inFlight: Promise<void> | null = null;
  private autoSnapshotPausedUntil = 0;
  private broken: Error | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly journalLimit: number;

  private constructor(
    private readonly sql: Database,
    readonly dir: string,
    private readonly options: DurableDbOptions,
  ) {
    this.journalLimit = options.journalLimitBytes ?? DEFAULT_JOURNAL_LIMIT;
  }

  /**
   * Opens (or creates) the database kept in `dir`. A corrupt database is moved aside
   * (`*.corrupt-<timestamp>`) and replaced by an empty one; `recovered` then says so, and the caller
   * should rebuild what it can (rescan the shares). I/O errors (permissions, disk) are thrown, not
   * treated as corruption, so a passing problem never wipes the index.
   */
  static async open(dir: string, options: DurableDbOptions): Promise<OpenResult> {
    const SQL = await loadSqlJs();
    await mkdir(dir, { recursive: true });
    let recovered: string | null = null;
    let db: DurableDb | null;
    try {
      db = DurableDb.loadExisting(SQL, dir, options);
    } catch (err) {
      if (!(err instanceof CorruptDatabaseError)) throw err;
      const moved = moveDatabaseAside(dir);
      const where = moved.length ? moved[0] : dir;
      const more = moved.length > 1 ? ` (with ${moved.length - 1} journal file(s) beside it)` : '';
      recovered = `index database was corrupt (${err.reason}) and was rebuilt from disk; the old copy is at ${where}${more}`;
      db = null;
    }
    if (!db) db = await DurableDb.createFresh(SQL, dir, options);
    try {
      const migrated = db.migrate(options.migrations);
      if (migrated || db.journalBytes >= db.journalLimit || db.gen > db.snapshotGenOnDisk) await db.snapshot();
    } catch (err) {
      db.closeNow();
      throw err;
    }
    db.startTimer();
    return { db, recovered };
  }

  private static loadExisting(SQL: SqlJsStatic, dir: string, options: DurableDbOptions): DurableDb | null {
    rmSync(join(dir, SNAPSHOT_TMP_FILE), { force: true });
    const gens = listJournalGenerations(dir);
    let file: Buffer;
    try {
      file = readFileSync(join(dir, SNAPSHOT_FILE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (gens.length) throw new CorruptDatabaseError('the snapshot file is missing but journal files exist');
      return null;
    }
    const { generation, image } = decodeSnapshot(file);
    let sql: Database | null = null;
    try {
      sql = new SQL.Database(image);
      sql.exec(CONNECTION_PRAGMAS);
    } catch (err) {
      try {
        sql?.close();
      } catch {
        /* it never opened */
      }
      throw new CorruptDatabaseError(`SQLite cannot read the snapshot: ${errMessage(err)}`);
    }
    const db = new DurableDb(sql, dir, options);
    db.snapshotBytes = file.length;
    db.snapshotGenOnDisk = generation;
    try {
      db.replayJournals(generation, gens);
      db.checkIntegrity();
    } catch (err) {
      db.closeNow();
      throw err;
    }
    return db;
  }

  private static async createFresh(SQL: SqlJsStatic, dir: string, options: DurableDbOptions): Promise<DurableDb> {
    for (const g of listJournalGenerations(dir)) unlinkSync(join(dir, journalFile(g)));
    const sql = new SQL.Database();
    sql.exec(CONNECTION_PRAGMAS);
    const db = new DurableDb(sql, dir, options);
    db.snapshotBytes = await writeSnapshotFile(dir, 1, sql.export(), () => {});
    db.snapshotGenOnDisk = 1;
    db.gen = 1;
    db.fd = openSync(join(dir, journalFile(1)), 'a', FILE_MODE);
    fsyncDir(dir);
    return db;
  }

  private replayJournals(snapshotGen: number, gens: number[]): void {
    for (const g of gens) if (g < snapshotGen) unlinkSync(join(this.dir, journalFile(g)));
    const live = gens.filter((g) => g >= snapshotGen);
    for (let i = 0; i < live.length; i++) {
      if (live[i] !== snapshotGen + i) {
        throw new CorruptDatabaseError(`journal ${snapshotGen + i} is missing (found ${live.join(', ')} after snapshot ${snapshotGen})`);
      }
    }
    if (!live.length) live.push(snapshotGen);
    for (let i = 0; i < live.length; i++) {
      const g = live[i]!;
      const path = join(this.dir, journalFile(g));
      const last = i === live.length - 1;
      let data: Buffer;
      try {
        data = readFileSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !last) throw err;
        data = Buffer.alloc(0); // created below
      }
      const scan = scanJournal(data);
      // only the newest journal can end in a torn append; anything else lost committed records
      if (scan.damage) throw new CorruptDatabaseError(`journal ${g} is damaged in the middle (${scan.damage})`);
      if (scan.tail && !last) throw new CorruptDatabaseError(`journal ${g} is damaged (${scan.tail}) and later journals exist`);
      scan.records.forEach((payload, n) => {
        let entries: JournalEntry[];
        try {
          entries = decodePayload(payload);
        } catch (err) {
          throw new CorruptDatabaseError(`journal ${g} record ${n + 1} is malformed: ${errMessage(err)}`);
        }
        try {
          this.sql.exec('BEGIN');
          for (const e of entries) this.apply(e);
          this.sql.exec('COMMIT');
        } catch (err) {
          throw new CorruptDatabaseError(`journal ${g} record ${n + 1} could not be replayed: ${errMessage(err)}`);
        }
        this.replayedRecords++;
      });
      if (last) {
        this.fd = openSync(path, 'a', FILE_MODE);
        if (scan.tail) {
          // the crash interrupted an append; that transaction never returned to its caller
          ftruncateSync(this.fd, scan.validBytes);
          fdatasyncSync(this.fd);
          this.truncatedBytes = data.length - scan.validBytes;
        }
        if (!data.length) fsyncDir(this.dir);
        this.gen = g;
        this.journalBytes = scan.validBytes;
      }
    }
  }

  private checkIntegrity(): void {
    let rows: SqlValue[][];
    try {
      rows = this.rows('PRAGMA integrity_check');
    } catch (err) {
      throw new CorruptDatabaseError(`integrity check could not run: ${errMessage(err)}`);
    }
    if (rows.length !== 1 || rows[0]![0] !== 'ok') {
      throw new CorruptDatabaseError(
        `integrity check failed: ${rows
          .slice(0, 3)
          .map((r) => String(r[0]))
          .join('; ')}`,
      );
    }
  }

  /** Brings the schema up to date; true if any migration ran. */
  private migrate(migrations: readonly Migration[]): boolean {
    const version = Number(this.rows('PRAGMA user_version')[0]![0]);
    if (version > migrations.length) {
      throw new Error(
        `the index database in ${this.dir} has schema version ${version}, newer than this Peerfold knows (${migrations.length}); ` +
          'run a newer Peerfold, or move that folder away to start over',
      );
    }
    for (let v = version; v < migrations.length; v++) {
      this.transaction(() => {
        const step = migrations[v]!;
        if (typeof step === 'string') this.exec(step);
        else step(this);
        this.run(`PRAGMA user_version = ${v + 1}`);
      });
    }
    return version < migrations.length;
  }

  private startTimer(): void {
    const every = this.options.snapshotEveryMs ?? DEFAULT_SNAPSHOT_EVERY_MS;
    if (every <= 0) return;
    this.timer = setInterval(() => {
      if (this.depth === 0 && this.journalBytes > 0 && !this.inFlight && !this.broken) {
        this.snapshot().catch((err) => this.backgroundError(err));
      }
    }, every);
    this.timer.unref();
  }

  // ---- writing ----------------------------------------------------------------------------------

  /** Runs one write statement. Outside a transaction it is its own transaction. Returns the rows changed. */
  run(sql: string, params?: SqlParams): number {
    if (this.depth === 0) return this.transaction(() => this.run(sql, params));
    this.assertWritable();
    const mark = this.writer.mark();
    this.writer.addStatement(sql, params); // validates the params before anything runs
    const st = this.prepare(sql);
    try {
      st.bind(params as never);
      st.step();
    } catch (err) {
      this.writer.rollbackTo(mark);
      throw toError(err);
    } finally {
      st.reset();
    }
    return this.sql.getRowsModified();
  }

  /** Runs a write statement with a RETURNING clause and returns its rows. */
  runReturning<T = Record<string, SqlValue>>(sql: string, params?: SqlParams): T[] {
    if (this.depth === 0) return this.transaction(() => this.runReturning<T>(sql, params));
    this.assertWritable();
    const mark = this.writer.mark();
    this.writer.addStatement(sql, params);
    const st = this.prepare(sql);
    const out: T[] = [];
    try {
      st.bind(params as never);
      while (st.step()) out.push(st.getAsObject() as T);
    } catch (err) {
      this.writer.rollbackTo(mark);
      throw toError(err);
    } finally {
      st.reset();
    }
    return out;
  }

  /** Runs a script of several statements without parameters (schema changes). */
  exec(script: string): void {
    if (this.depth === 0) return this.transaction(() => this.exec(script));
    this.assertWritable();
    const mark = this.writer.mark();
    this.writer.addScript(script);
    try {
      this.sql.exec(script);
    } catch (err) {
      this.writer.rollbackTo(mark);
      throw toError(err);
    }
  }

  /**
   * Runs fn inside a transaction and makes it durable before returning. fn must be synchronous.
   * A nested call joins the outer transaction (as a savepoint: if it throws, only its own changes
   * are undone, and the outer transaction goes on if the caller catches the error).
   */
  transaction<T>(fn: () => T): T {
    this.assertWritable();
    if (this.depth > 0) return this.nested(fn);
    this.control('BEGIN');
    this.writer.reset();
    this.depth = 1;
    let result: T;
    try {
      result = fn();
      if (isThenable(result)) {
        throw new TypeError(
          'transaction(fn): fn returned a promise; a transaction must be synchronous (do the async work before or after it)',
        );
      }
    } catch (err) {
      this.depth = 0;
      this.rollback();
      throw err;
    }
    this.depth = 0;
    this.commit();
    return result;
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /** Called after any rollback (whole transaction or a nested one), e.g. to drop caches of rows. */
  onRollback(listener: () => void): () => void {
    this.rollbackListeners.add(listener);
    return () => this.rollbackListeners.delete(listener);
  }

  private nested<T>(fn: () => T): T {
    const name = `pf_sp${this.depth}`;
    this.control(`SAVEPOINT ${name}`);
    const mark = this.writer.mark();
    this.depth++;
    try {
      const result = fn();
      if (isThenable(result)) throw new TypeError('transaction(fn): fn returned a promise; a transaction must be synchronous');
      this.depth--;
      this.control(`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.depth--;
      this.control(`ROLLBACK TO ${name}`);
      this.control(`RELEASE ${name}`);
      this.writer.rollbackTo(mark);
      this.notifyRollback();
      throw err;
    }
  }

  private commit(): void {
    const before = this.journalBytes;
    if (!this.writer.isEmpty) {
      try {
        this.append(this.writer.finish());
      } catch (err) {
        this.rollback();
        throw err;
      }
    }
    this.writer.reset();
    try {
      this.control('COMMIT');
    } catch (err) {
      // The journal may now hold a transaction memory does not, or the other way round: stop writing.
      // A restart replays the journal and is consistent again.
      try {
        ftruncateSync(this.fd, before);
        fdatasyncSync(this.fd);
        this.journalBytes = before;
      } catch {
        /* broken below anyway */
      }
      this.rollback();
      this.broken = new Error(`index database commit failed (${errMessage(err)}); restart Peerfold to reload it`);
      throw this.broken;
    }
    this.maybeAutoSnapshot();
  }

  private append(record: Buffer): void {
    const before = this.journalBytes;
    try {
      let off = 0;
      while (off < record.length) off += writeSync(this.fd, record, off, record.length - off);
      fdatasyncSync(this.fd);
    } catch (err) {
      try {
        ftruncateSync(this.fd, before);
        fdatasyncSync(this.fd);
      } catch (err2) {
        this.broken = new Error(`the index journal could not be repaired after a failed write (${errMessage(err2)}); restart Peerfold`);
      }
      throw new Error(`could not write the index journal in ${this.dir}: ${errMessage(err)} (is the disk full?)`, { cause: err });
    }
    this.journalBytes = before + record.length;
  }

  private rollback(): void {
    try {
      this.control('ROLLBACK');
    } catch {
      /* no transaction active: SQLite already rolled it back */
    }
    this.writer.reset();
    this.notifyRollback();
  }

  private notifyRollback(): void {
    for (const l of this.rollbackListeners) {
      try {
        l();
      } catch (err) {
        this.backgroundError(err);
      }
    }
  }

  private control(sql: string): void {
    const st = this.prepare(sql);
    try {
      st.step();
    } catch (err) {
      throw toError(err);
    } finally {
      st.reset();
    }
  }

  private apply(e: JournalEntry): void {
    if (e.kind === 'script') {
      this.sql.exec(e.sql);
      return;
    }
    const st = this.prepare(e.sql);
    try {
      st.bind(e.params as never);
      while (st.step()) {
        /* RETURNING rows: the change happened on the first step */
      }
    } finally {
      st.reset();
    }
  }

  // ---- reading ----------------------------------------------------------------------------------

  /** First row as an object (column name -> value), or undefined. Read-only statements only. */
  get<T = Record<string, SqlValue>>(sql: string, params?: SqlParams): T | undefined {
    const st = this.readStatement(sql);
    try {
      st.bind(params as never);
      return st.step() ? (st.getAsObject() as T) : undefined;
    } catch (err) {
      throw toError(err);
    } finally {
      st.reset();
    }
  }

  /** All rows as objects. Read-only statements only. */
  all<T = Record<string, SqlValue>>(sql: string, params?: SqlParams): T[] {
    const st = this.readStatement(sql);
    const out: T[] = [];
    try {
      st.bind(params as never);
      while (st.step()) out.push(st.getAsObject() as T);
    } catch (err) {
      throw toError(err);
    } finally {
      st.reset();
    }
    return out;
  }

  /** All rows as arrays of values in column order (faster than all() for big results). */
  rows(sql: string, params?: SqlParams): SqlValue[][] {
    const st = this.readStatement(sql);
    const out: SqlValue[][] = [];
    try {
      st.bind(params as never);
      while (st.step()) out.push(st.get());
    } catch (err) {
      throw toError(err);
    } finally {
      st.reset();
    }
    return out;
  }

  private readStatement(sql: string): Statement {
    this.assertOpen();
    if (!this.readChecked.has(sql)) {
      const reads = READ_RE.test(sql) || (WITH_RE.test(sql) && !WRITE_WORD_RE.test(sql)) || (PRAGMA_RE.test(sql) && !sql.includes('='));
      if (!reads) throw new Error(`get()/all()/rows() are for reads; use run() for writes so they are journaled: ${sql.slice(0, 80)}`);
      this.readChecked.add(sql);
    }
    return this.prepare(sql);
  }

  private prepare(sql: string): Statement {
    const cached = this.stmts.get(sql);
    if (cached) {
      // keep recently used ones at the end (LRU)
      this.stmts.delete(sql);
      this.stmts.set(sql, cached);
      return cached;
    }
    let st: Statement;
    try {
      st = this.sql.prepare(sql);
    } catch (err) {
      throw new Error(`${errMessage(err)} (in SQL: ${sql.replace(/\s+/g, ' ').trim().slice(0, 160)})`, { cause: err });
    }
    this.stmts.set(sql, st);
    if (this.stmts.size > STATEMENT_CACHE_SIZE) {
      const [oldest, old] = this.stmts.entries().next().value as [string, Statement];
      this.stmts.delete(oldest);
      old.free();
    }
    return st;
  }

  // ---- snapshots and lifecycle ------------------------------------------------------------------

  /**
   * Writes a new snapshot and starts a new journal generation. The image is taken synchronously, so
   * the call must be made outside a transaction; the file is written in the background, and commits
   * may go on meanwhile. Resolves when the snapshot is on disk and the old journal is gone.
   */
  snapshot(): Promise<void> {
    try {
      this.assertWritable();
      if (this.depth > 0) throw new Error('snapshot() cannot run inside a transaction');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.inFlight) return this.inFlight;
    if (this.journalBytes === 0 && this.snapshotGenOnDisk === this.gen) return Promise.resolve();
    const p = this.writeSnapshot().finally(() => {
      if (this.inFlight === p) this.inFlight = null;
    });
    this.inFlight = p;
    return p;
  }

  private async writeSnapshot(): Promise<void> {
    const step = this.options.onSnapshotStep ?? (() => {});
    // synchronous part: a consistent image and the switch to a new journal
    const image = this.sql.export();
    step('exported');
    const nextGen = this.gen + 1;
    const fd = openSync(join(this.dir, journalFile(nextGen)), 'ax', FILE_MODE);
    try {
      fsyncDir(this.dir);
    } catch (err) {
      closeSync(fd);
      unlinkSync(join(this.dir, journalFile(nextGen)));
      throw err;
    }
    closeSync(this.fd);
    this.fd = fd;
    this.gen = nextGen;
    this.journalBytes = 0;
    step('journal-switched');
    // asynchronous part
    this.snapshotBytes = await writeSnapshotFile(this.dir, nextGen, image, step);
    this.snapshotGenOnDisk = nextGen;
    for (const g of listJournalGenerations(this.dir)) {
      if (g < nextGen) unlinkSync(join(this.dir, journalFile(g)));
    }
    step('journals-removed');
  }

  private maybeAutoSnapshot(): void {
    if (this.journalBytes < this.journalLimit || this.inFlight || Date.now() < this.autoSnapshotPausedUntil) return;
    setImmediate(() => {
      if (this.closed || this.depth > 0 || this.inFlight || this.broken) return;
      this.snapshot().catch((err) => {
        this.autoSnapshotPausedUntil = Date.now() + 60_000;
        this.backgroundError(err);
      });
    });
  }

  private backgroundError(err: unknown): void {
    const e = toError(err);
    if (this.options.onBackgroundError) this.options.onBackgroundError(e);
    else console.warn(`peerfold index: ${e.message}`);
  }

  /** Snapshots (when the journal is not empty) and closes. Safe to call twice. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.depth > 0) return Promise.reject(new Error('close() called inside a transaction'));
    this.closing ??= this.closeGracefully();
    return this.closing;
  }

  private closing: Promise<void> | null = null;

  private async closeGracefully(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      if (this.inFlight) await this.inFlight.catch(() => {});
      if (!this.broken && (this.journalBytes > 0 || this.snapshotGenOnDisk !== this.gen)) await this.snapshot();
    } catch (err) {
      this.backgroundError(err); // the journal still holds everything
    } finally {
      this.closeNow();
    }
  }

  private closeNow(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const st of this.stmts.values()) {
      try {
        st.free();
      } catch {
        /* already gone */
      }
    }
    this.stmts.clear();
    try {
      this.sql.close();
    } catch {
      /* already closed */
    }
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  stats(): DurableDbStats {
    return {
      generation: this.gen,
      journalBytes: this.journalBytes,
      snapshotBytes: this.snapshotBytes,
      replayedRecords: this.replayedRecords,
      truncatedBytes: this.truncatedBytes,
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the index database is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.broken) throw this.broken;
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
