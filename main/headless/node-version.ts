// Whether the running Node is one Peerfold supports. package.json "engines" is the one place the
// supported versions are written; the daemon checks it at start so an old Node fails with a clear
// line instead of an obscure error later.
import { readFileSync } from 'node:fs';

type Version = [number, number, number];

function parseVersion(text: string): Version | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : null;
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** One comparator of a semver range (>=, >, <=, <, =, ^, ~ or none); null when it cannot be read. */
function satisfiesComparator(v: Version, comparator: string): boolean | null {
  const m = /^(>=|<=|>|<|=|\^|~)?\s*v?(\d+(?:\.\d+){0,2})$/.exec(comparator);
  if (!m) return null;
  const op = m[1] ?? '=';
  const parts = m[2]!.split('.').length;
  const bound = parseVersion(m[2]!)!;
  const c = compare(v, bound);
  switch (op) {
    case '>=':
      return c >= 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    case '<':
      return c < 0;
    case '^':
      return c >= 0 && v[0] === bound[0];
    case '~':
      return c >= 0 && v[0] === bound[0] && (parts < 2 || v[1] === bound[1]);
    default:
      // "=20" or "20.19" name a series: every version that starts that way
      return v.slice(0, parts).every((n, i) => n === bound[i]);
  }
}

/**
 * Whether `running` satisfies `range` (">=20.19", "^20.19.0 || >=22", ...); null when the range
 * uses a form this does not read, so an unusual range never stops anyone.
 */
export function satisfiesRange(running: string, range: string): boolean | null {
  const v = parseVersion(running);
  if (!v) return null;
  let unreadable = false;
  for (const alternative of range.split('||')) {
    const comparators = alternative
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    if (!comparators.length) continue;
    const results = comparators.map((c) => satisfiesComparator(v, c));
    if (results.some((r) => r === null)) unreadable = true;
    else if (results.every(Boolean)) return true;
  }
  return unreadable ? null : false;
}

/** package.json's engines.node, found two levels above this module (as source and as bundle); null if unreadable. */
export function requiredNodeRange(packageJson: URL = new URL('../../package.json', import.meta.url)): string | null {
  try {
    const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown; engines?: { node?: unknown } };
    return pkg.name === 'peerfold' && typeof pkg.engines?.node === 'string' ? pkg.engines.node : null;
  } catch {
    return null;
  }
}

/** The line to print when this Node is too old (or too new) for Peerfold, else null. */
export function nodeVersionProblem(running: string = process.versions.node, range: string | null = requiredNodeRange()): string | null {
  if (!range || satisfiesRange(running, range) !== false) return null;
  return `Peerfold needs Node ${range} (package.json "engines"); this is Node ${running}. Install a supported Node and start it again.`;
}
