// Maps a request path to a file inside the built renderer folder, refusing anything that would
// leave it. The web UI is a single-page app, so extensionless paths fall back to index.html.
import { realpathSync, statSync } from 'node:fs';
import { extname, join, posix, resolve, sep } from 'node:path';

const mimeTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

export function mimeFor(file: string): string {
  return mimeTypes[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export type StaticLookup = { kind: 'file'; file: string; size: number; mime: string } | { kind: 'not-found' } | { kind: 'bad-path' };

/**
 * Turns the path part of a URL (still percent-encoded) into a safe request path, or null when it
 * cannot be served: bad percent-encoding, NUL, backslashes (separators on Windows), dot-segments
 * or hidden names. Pure.
 */
export function safeRequestPath(rawPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  if (!decoded.startsWith('/')) return null;
  const segments = decoded.split('/').filter((s) => s.length > 0);
  if (segments.some((s) => s.startsWith('.'))) return null;
  return posix.normalize('/' + segments.join('/'));
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

function fileAt(root: string, realRoot: string, rel: string): StaticLookup | null {
  const full = resolve(join(root, rel));
  if (!within(root, full)) return { kind: 'bad-path' };
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    return null;
  }
  // a symlink inside the folder must not lead outside it
  if (!within(realRoot, real)) return { kind: 'bad-path' };
  const st = statSync(real, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  return { kind: 'file', file: real, size: st.size, mime: mimeFor(real) };
}

/** Finds the file to serve for a URL path under root (the built renderer). */
export function lookupStatic(root: string, rawPath: string): StaticLookup {
  const safe = safeRequestPath(rawPath);
  if (safe === null) return { kind: 'bad-path' };
  const absRoot = resolve(root);
  let realRoot: string;
  try {
    realRoot = realpathSync(absRoot);
  } catch {
    return { kind: 'not-found' };
  }
  const rel = safe === '/' ? 'index.html' : safe.slice(1);
  const hit = fileAt(absRoot, realRoot, rel);
  if (hit) return hit;
  // client-side routes (/shares/abc) get the app; missing assets (/assets/x.js) get a 404
  if (extname(safe) === '') return fileAt(absRoot, realRoot, 'index.html') ?? { kind: 'not-found' };
  return { kind: 'not-found' };
}
