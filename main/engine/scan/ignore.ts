// What a share does not sync: the patterns in `.peerfold/ignore` (gitignore syntax, matched by
// the `ignore` package), plus what is always ours: `.peerfold/` at the share root and the
// puller's temp files anywhere. Conflict copies are ordinary files and do sync.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** The share's own folder (ignore file, archive, ...), at the share root. */
export const PEERFOLD_DIR = '.peerfold';
/** Relative path of the ignore file inside a share. */
export const IGNORE_FILE = `${PEERFOLD_DIR}/ignore`;
/** Prefix of the puller's temp files. */
export const TEMP_PREFIX = '.pftmp-';

// without case: on macOS and Windows `.PFTMP-…` names the same file as the temp file
const TEMP_RE = /^\.pftmp-[0-9a-f]{16}-/i;
const NAME_MAX_BYTES = 255;

/**
 * The temp file the puller writes `name` into before renaming it over the target, in the same
 * folder: `.pftmp-<first 16 hex of the content hash>-<name>`. Names that would exceed 255 bytes
 * are shortened and given a hash of the full name, so the temp name stays unique and legal.
 */
export function tempNameFor(name: string, contentHash: string): string {
  const h = contentHash.toLowerCase().slice(0, 16).padEnd(16, '0');
  if (!/^[0-9a-f]{16}$/.test(h)) throw new Error(`content hash must be hex (got ${JSON.stringify(contentHash)})`);
  const prefix = `${TEMP_PREFIX}${h}-`;
  if (Buffer.byteLength(prefix + name) <= NAME_MAX_BYTES) return prefix + name;
  const tag = '~' + createHash('sha256').update(name).digest('hex').slice(0, 8);
  let kept = '';
  for (const ch of name) {
    if (Buffer.byteLength(prefix + kept + ch + tag) > NAME_MAX_BYTES) break;
    kept += ch;
  }
  return prefix + kept + tag;
}

/** True for a name (not a path) made by tempNameFor. */
export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

function baseName(relPath: string): string {
  const i = relPath.lastIndexOf('/');
  return i < 0 ? relPath : relPath.slice(i + 1);
}

/** `.peerfold` at the root and everything in it, and temp files anywhere: never synced, never ignorable-away. */
export function isInternalPath(relPath: string): boolean {
  return relPath === PEERFOLD_DIR || relPath.startsWith(PEERFOLD_DIR + '/') || isTempName(baseName(relPath));
}

export interface Matcher {
  /** relPath: share-relative, '/' separators, NFC, no leading './' or '/'. */
  ignores(relPath: string, isDir: boolean): boolean;
}

/**
 * The `ignore` package remembers the answer for every path (and each of its parents) it was asked
 * about, for the life of the instance: a scan of 30,000 files left ~6 MB of cached answers in the JS
 * heap (~200 B per file, bench/README.md). So a matcher starts over with a freshly compiled instance
 * after this many lookups: the cache still serves a scan's runs of siblings, and stays bounded.
 */
const LOOKUPS_PER_INSTANCE = 4096;

/**
 * Compiles gitignore-syntax text. Matching is case-sensitive (as git on Linux), so every device
 * decides the same way whatever its file system.
 */
export function compileIgnore(text: string, lookupsPerInstance = LOOKUPS_PER_INSTANCE): Matcher {
  const rules = text.normalize('NFC');
  // no rule at all (blank lines and comments only): nothing to ask the package, nothing to cache
  const hasRules = rules.split(/\r?\n/).some((line) => line.trim() !== '' && !line.startsWith('#'));
  const compile = (): Ignore => ignore({ ignorecase: false }).add(rules);
  let ig: Ignore | null = null;
  let lookups = 0;
  return {
    ignores(relPath: string, isDir: boolean): boolean {
      if (relPath === '' || relPath === '.') return false;
      if (isInternalPath(relPath)) return true;
      if (!hasRules) return false;
      if (!ig || ++lookups > lookupsPerInstance) {
        ig = compile();
        lookups = 1;
      }
      try {
        return ig.ignores(isDir ? relPath + '/' : relPath);
      } catch {
        return false; // a name the matcher refuses (it should not happen for clean relative paths): sync it
      }
    },
  };
}

/** A matcher that ignores only what is always ignored. */
export const INTERNAL_ONLY: Matcher = compileIgnore('');

/**
 * The rules of one share, re-read when `.peerfold/ignore` changes. Call reload() before a scan
 * (cheap: one stat when nothing changed) or when the watcher reports the file.
 */
export class IgnoreRules implements Matcher {
  readonly root: string;
  private matcher: Matcher = INTERNAL_ONLY;
  private stamp = '';
  private text = '';
  private problem: string | null = null;

  constructor(root: string) {
    this.root = root;
  }

  /** The rule text in force ('' when there is no ignore file). */
  get source(): string {
    return this.text;
  }

  /** Why the ignore file could not be read (the previous rules stay in force); null when fine. */
  get error(): string | null {
    return this.problem;
  }

  ignores(relPath: string, isDir: boolean): boolean {
    return this.matcher.ignores(relPath, isDir);
  }

  /** Re-reads the ignore file if it changed. Returns true when the rules changed. */
  async reload(): Promise<boolean> {
    const file = join(this.root, PEERFOLD_DIR, 'ignore');
    let stamp: string;
    try {
      const s = await stat(file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.problem = `cannot read ${file}: ${(err as Error).message}`;
        return false;
      }
      stamp = 'none';
    }
    if (stamp === this.stamp) return false;
    let text = '';
    if (stamp !== 'none') {
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.problem = `cannot read ${file}: ${(err as Error).message} (the previous ignore rules stay in force)`;
          return false;
        }
      }
    }
    this.problem = null;
    this.stamp = stamp;
    if (text === this.text) return false;
    this.text = text;
    this.matcher = compileIgnore(text);
    return true;
  }
}

/** Loads a share's rules. */
export async function loadIgnore(root: string): Promise<IgnoreRules> {
  const rules = new IgnoreRules(root);
  await rules.reload();
  return rules;
}
