// The security policy of the app window, as pure decisions. The renderer is served from our own
// privileged scheme (peerfold://app/...) instead of file://, so that every response carries the
// Content-Security-Policy header, 'self' means exactly our files, and nothing else on disk is
// reachable from the page.
import { extname, posix, resolve, sep } from 'node:path';

export const APP_SCHEME = 'peerfold';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/**
 * No inline script or style elements, no eval, no remote anything. Images may be data:/blob: URLs
 * (QR codes, conflict previews). React's style props go through the CSSOM, which CSP allows.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "media-src 'self' data: blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "worker-src 'self'",
].join('; ');

/** A renderer hash route such as '#/conflicts' or '#/shares/<id>'; anything else becomes '#/'. */
export function safeRoute(route: string): string {
  const hash = route.startsWith('#') ? route : `#${route}`;
  return /^#\/[A-Za-z0-9/_%.~-]*$/.test(hash) ? hash : '#/';
}

/** The URL the window loads, optionally at a renderer hash route. */
export function appEntryUrl(route = ''): string {
  return `${APP_ORIGIN}/index.html${route === '' ? '' : safeRoute(route)}`;
}

export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

/**
 * Maps a request on our scheme to a file inside rootDir, or null (answered with 404). The path is
 * normalized as a URL path first, so "..", encoded slashes and the like can never leave rootDir.
 */
export function resolveAppRequest(url: string, rootDir: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return null;
  let path: string;
  try {
    path = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  // encoded dot segments and separators survive URL parsing: refuse them outright
  if (path.includes('\0') || path.includes('\\') || path.split('/').includes('..')) return null;
  const normalized = posix.normalize(path);
  if (!normalized.startsWith('/')) return null;
  const rel = normalized === '/' ? 'index.html' : normalized.slice(1);
  const root = resolve(rootDir);
  const file = resolve(root, ...rel.split('/'));
  if (file !== root && !file.startsWith(root + sep)) return null;
  return file;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Headers of every response on our scheme. */
export function appResponseHeaders(file: string): Record<string, string> {
  return {
    'Content-Type': contentTypeFor(file),
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
}

/** The window may only ever show our own pages. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/**
 * window.open and target=_blank never open an Electron window. Plain web links (a help page) go
 * to the user's browser; everything else (file:, javascript:, custom schemes) is dropped.
 */
export function windowOpenDecision(url: string): 'deny' | 'external' {
  try {
    return new URL(url).protocol === 'https:' ? 'external' : 'deny';
  } catch {
    return 'deny';
  }
}

/** Copy buttons need clipboard writes; nothing else (camera, geolocation, notifications...) is granted. */
export function permissionAllowed(permission: string, requestingUrl: string): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(requestingUrl);
}

export interface SecureWebPreferences {
  preload: string;
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  webviewTag: false;
  navigateOnDragDrop: false;
  spellcheck: false;
  devTools: boolean;
}

/** The window's webPreferences: each security switch spelled out, none left to a default. */
export function secureWebPreferences(preload: string, opts: { devTools: boolean }): SecureWebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    // a folder dropped outside the drop zone must not navigate the window to file://
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: opts.devTools,
  };
}
